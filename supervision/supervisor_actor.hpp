#pragma once
/// The supervisor, generic over its children as OTP's is: it starts each child from a child
/// spec it is given, monitors every one of them, and owns all restart decisions. A child that
/// dies or reports itself unhealthy (its exit reason) is restarted with the same `slot_id` and
/// `restart_count + 1` after a backoff, as `restart_policy` says; past the limit it is
/// `errored` and stays stopped. A child stopped with `slot_disabled` (an auth failure) is
/// never restarted automatically. With a periodic pass, errored children whose restart window
/// allows it are retried. It never names what its children are: the pool's spec spawns a
/// slot actor, a slot host's spawns one for a remote pool.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/interfaces.hpp"
#include "supervision/restart_policy.hpp"

namespace claude_pool {

/// How the supervisor starts its children and tells the world about them (OTP's child spec).
/// Both functions run in the supervisor's own thread, with the supervisor as `self`.
struct child_spec {
  /// Starts the child for `record` (state idle, no task) and announces it to whoever routes
  /// work to it; returns its handle, which the supervisor monitors. `added`: the child was
  /// started by `add_slots_atom` (or is a restart of one), not at the supervisor's start.
  std::function<caf::actor(supervisor_actor::pointer self, const slot_record& record,
                           bool added)>
    start;
  /// Something happened to a child (`slot_restarting`, `slot_restarted`, `slot_errored`,
  /// `auth_failed`, `slot_recovered`); `record` is the child's as it is now: `errored` when
  /// the supervisor gave up on it.
  std::function<void(supervisor_actor::pointer self, const slot_record& record, pool_event ev)>
    report;
  /// Set on a slot host: new children are named `<node>/slot-N` and their records name it.
  std::optional<std::string> node;
  /// Completes a new child's configuration before it first starts (the pool binds it to a
  /// credential); `siblings` are the configurations of the children there are now. Restarts
  /// keep what it chose.
  std::function<void(slot_config& cfg, const std::vector<const slot_config*>& siblings)> place;
};

/// Everything a supervisor starts with.
struct supervisor_setup {
  child_spec spec;
  restart_policy policy;
  /// How often the periodic pass retries errored children (unset: no periodic pass).
  std::optional<std::chrono::seconds> periodic_pass;
  /// One child each is started at once, with this configuration.
  std::vector<shared_value<slot_config>> initial;
  /// Sessions a restarted pool's persistent slots continue (from its store), by slot id.
  std::map<slot_id, std::string> sessions;
  /// The supervisor lives as long as its owner; when it goes, the children go too.
  caf::actor owner;
};

/// The supervisor's state and logic.
struct supervisor_state {
  static inline const char* name = "claude_pool.supervisor";

  struct child {
    slot_record record;
    caf::actor handle;
    restart_history history;
    bool added = false;    ///< started by add_slots_atom, not at the supervisor's start
    bool restarting = false; ///< stopped, and its restart is due after the backoff
    bool disabled = false; ///< auth failure: only a new pool (fixed credentials) helps
  };

  /// What to do about a child whose actor stopped.
  struct verdict {
    enum kind { ignore, restart, give_up, disable } what = ignore;
    std::chrono::milliseconds delay{0};
    std::string why;
    std::string failure_class; ///< see failure_class_of
  };

  child_spec spec;
  restart_policy policy;
  std::optional<std::chrono::seconds> periodic_pass;
  std::map<slot_id, std::string> stored_sessions;
  caf::actor owner;
  std::map<slot_id, child> children;
  std::unordered_map<caf::actor_addr, slot_id> by_addr;
  std::uint64_t next_index = 0; ///< new children are named slot-<next_index>
  bool leaving = false;         ///< the owner is going away: no more restarts
  std::mt19937_64 rng{std::random_device{}()};

  /// Decides from the exit reason: normal exits and shutdowns are ignored, an auth failure
  /// disables the child, anything else is a restart if the policy allows it (and the owner
  /// is not leaving).
  verdict on_stopped(const slot_id& slot, const caf::error& reason, std::uint64_t now);

  /// The record a restarted child starts with: same id and counters, restart_count + 1, no
  /// session (it may be what broke), `last_error` saying why.
  slot_record restarted_record(const slot_id& slot) const;

  /// The record of the next new child: its id (and node), and a stored session to continue.
  slot_record next_record(shared_value<slot_config> cfg);
};

supervisor_actor::behavior_type
supervisor_behavior(supervisor_actor::stateful_pointer<supervisor_state> self,
                    supervisor_setup setup);

/// A short, stable name for why a slot stopped, what /metrics counts restarts by: the failure
/// class a slot stopped itself for (`crash`, `hang`; see failure_class.hpp), else the pool's
/// error code (`slot_disabled`, …), else CAF's exit reason (`unhandled_exception`, `kill`).
std::string failure_class_of(const caf::error& reason);

} // namespace claude_pool
