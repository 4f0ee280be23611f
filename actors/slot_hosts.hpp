#pragma once
/// The slot hosts that joined a pool (`claude-pool serve --join`), and the room each offers
/// for slots the scaler places there: a host started with `--slots N --max-slots M` runs its
/// own N slots and takes up to M − N more when the pool scales up. A value type: the pool
/// actor asks it where new slots go and which of a host's slots were placed by scaling.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "messages/ids.hpp"

namespace claude_pool {

class slot_hosts {
public:
  struct host {
    caf::actor handle;          ///< the host's actor (a proxy when it runs on another node)
    std::uint64_t own = 0;      ///< slots it runs of its own accord
    std::uint64_t capacity = 0; ///< slots it runs at most
    std::uint64_t placed = 0;   ///< slots the pool asked it for that are live or on their way
    bool leaving = false;       ///< it is going away: no new slots there
    std::uint64_t room() const {
      auto used = own + placed;
      return leaving || capacity <= used ? 0 : capacity - used;
    }
  };

  /// Where `n` new slots go: on the hosts with the most room first, one at a time (so they
  /// spread), and how many are left for the pool's own supervisor.
  struct placement {
    std::map<std::string, std::uint64_t> on_hosts;
    std::uint64_t local = 0;
  };

  /// Empty when the host may join, else why not.
  std::string check_join(const std::string& node, std::uint64_t own,
                         std::uint64_t capacity) const;
  void join(const std::string& node, caf::actor handle, std::uint64_t own,
            std::uint64_t capacity);

  /// Decides where `n` new slots go and counts them as placed.
  placement place(std::uint64_t n);

  /// A slot a host started because the pool asked: scale-down may take it away again.
  void placed_slot_up(const slot_id& slot, const std::string& node);
  bool is_placed(const slot_id& slot) const { return placed_slots_.count(slot) > 0; }

  /// A placed slot was stopped by a scale-down: its host has room again.
  void unplace(const slot_id& slot);

  /// The host is leaving (SIGTERM): no more slots go there. Returns how many placed slots
  /// it had, which the pool places elsewhere to keep its target.
  std::uint64_t leave(const std::string& node);

  /// The host's actor went away: forgets it. Returns its name and how many placed slots were
  /// lost with it (0 when it had announced its leaving: those were placed again then).
  std::optional<std::pair<std::string, std::uint64_t>> host_down(const caf::actor_addr& who);

  const host* find(const std::string& node) const;
  const std::map<std::string, host>& all() const { return hosts_; }

private:
  std::uint64_t forget_placed(const std::string& node);

  std::map<std::string, host> hosts_;
  std::map<slot_id, std::string> placed_slots_; ///< placed slot → its host
};

} // namespace claude_pool
