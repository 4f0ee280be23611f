#pragma once
/// The supervisor: spawns the pool's slots, monitors every one of them, and owns all restart
/// decisions. A slot that dies or reports itself unhealthy (its exit reason) is restarted
/// with the same `SlotId` and `restart_count + 1` after a backoff, as `restart_policy` says;
/// past the limit it is `errored` and stays out of routing. A slot stopped for an auth
/// failure is never restarted automatically. With `supervisor_enabled`, a periodic pass
/// retries errored slots whose restart window allows it.

#include <map>
#include <memory>
#include <random>
#include <unordered_map>

#include "actors/slot_actor.hpp"
#include "supervision/restart_policy.hpp"

namespace claude_pool {

/// The supervisor's state and logic.
struct supervisor_state {
  static inline const char* name = "claude_pool.supervisor";

  struct child {
    slot_record record;
    slot_actor handle;
    restart_history history;
    bool disabled = false; ///< auth failure: only a new pool (fixed credentials) helps
  };

  /// What to do about a slot whose actor stopped.
  struct verdict {
    enum kind { ignore, restart, give_up, disable } what = ignore;
    std::chrono::milliseconds delay{0};
    std::string why;
  };

  std::shared_ptr<const pool_config> config;
  restart_policy policy;
  std::shared_ptr<task_executor> executor;
  std::shared_ptr<git_worktrees> worktrees; ///< set with worktree_isolation
  /// Sessions a restarted pool's persistent slots continue (from its store), by slot id.
  std::map<slot_id, std::string> stored_sessions;
  pool_actor pool;
  std::map<slot_id, child> children;
  std::unordered_map<caf::actor_addr, slot_id> by_addr;
  std::uint64_t next_index = 0; ///< new slots are named slot-<next_index>
  std::mt19937_64 rng{std::random_device{}()};

  /// Decides from the exit reason: normal exits and shutdowns are ignored, an auth failure
  /// disables the slot, anything else is a restart if the policy allows it.
  verdict on_stopped(const slot_id& slot, const caf::error& reason, std::uint64_t now);

  /// The record a restarted slot starts with: same id and counters, restart_count + 1, no
  /// session (it may be what broke), `last_error` saying why.
  slot_record restarted_record(const slot_id& slot) const;
};

supervisor_actor::behavior_type
supervisor_behavior(supervisor_actor::stateful_pointer<supervisor_state> self,
                    std::shared_ptr<const pool_config> config,
                    std::shared_ptr<task_executor> executor,
                    std::shared_ptr<git_worktrees> worktrees, pool_actor pool,
                    std::vector<slot_config> slot_configs,
                    std::map<slot_id, std::string> sessions = {});

} // namespace claude_pool
