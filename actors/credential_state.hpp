#pragma once
/// What the pool knows of each credential (issue 17): its limit pause, its login breaker
/// and its caps. Limits and refused logins belong to a login, not to the pool, so an
/// exhausted or refused credential stops only its own slots; the others keep working.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/config.hpp"
#include "messages/records.hpp"

namespace claude_pool {

struct credential_state {
  std::string name;
  /// The profile's, when configured (unset for the default and slot hosts' logins).
  std::optional<credential_profile> profile;
  std::optional<std::uint64_t> max_concurrent;
  std::uint64_t start_stagger_ms = 0;
  std::optional<std::uint64_t> last_start_ms;
  std::optional<std::uint64_t> cooldown_until; ///< limit pause (see limit_policy)
  std::optional<std::string> cooldown_reason;  ///< what the pause waits for
  std::uint32_t consecutive_rate_limits = 0;
  /// The breaker: a refused login (401/403, "Not logged in") stops this credential's slots at
  /// once; every `auth_probe_secs` one task (the probe) is let through to see whether the
  /// login works again.
  struct auth_breaker {
    bool open = false;
    std::string reason;
    std::optional<task_id> probe;
  };
  auth_breaker auth;
  std::optional<std::uint64_t> warned_window; ///< reset of the last usage_warning

  /// A pause, or the breaker waiting for its probe: nothing starts on it now.
  bool held(std::uint64_t now) const;
  /// Whether one more task may start on it now, `running` being its tasks under way.
  bool may_start(std::uint64_t running, std::uint64_t now) const;
  /// When a start refused now by the pause or the stagger becomes possible (unset: it is
  /// not waiting for a time).
  std::optional<std::uint64_t> free_at(std::uint64_t now) const;
};

/// The credential a new slot is bound to: of those with room under their `max_concurrent`
/// (uncapped ones always have room), the one with the fewest slots, config order breaking
/// ties; when every one is full, the one with the fewest slots per unit of cap. Unset
/// when the pool has no `credentials` (its slots use its environment).
std::optional<std::string> choose_credential(const pool_config& cfg,
                                             const std::vector<const slot_config*>& siblings);

/// The pool's key for a slot's credential: the slot's `credential` (else "default"); a slot
/// host's slots log in with that host's own logins, so theirs is "<node>:<name>".
std::string credential_key(const slot_record& slot);

} // namespace claude_pool
