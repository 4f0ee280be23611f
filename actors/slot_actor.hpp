#pragma once
/// A slot runs one task at a time through its executor and keeps its `slot_record`.
/// Persistent slots resume their CLI session on the next task; ephemeral slots start fresh.

#include <cstdint>
#include <memory>
#include <optional>

#include "messages/interfaces.hpp"
#include "runtime/cli/task_executor.hpp"

namespace claude_pool {

class git_worktrees;

/// What a slot needs from its surroundings.
struct slot_deps {
  std::shared_ptr<task_executor> executor;
  std::shared_ptr<const pool_config> config;
  /// Where the slot reports progress and finished tasks: the pool, or the member gate of
  /// the slot host it runs on.
  pool_member_actor pool;
  /// With `worktree_isolation`: the slot works in its own worktree, made at its first task.
  std::shared_ptr<git_worktrees> worktrees;
};

/// The slot's state and logic; the behaviour only delegates here, so tests can drive it
/// without an actor system.
struct slot_actor_state {
  static inline const char* name = "claude_pool.slot";

  slot_record record;
  slot_deps deps;
  std::optional<task_id> running_task;     ///< the task being executed, if any
  std::uint64_t run_sequence = 0;          ///< identifies the current execution's callback
  std::optional<std::uint64_t> execution;  ///< the executor's handle, for cancel
  boxed<task_assignment> current;          ///< the task being executed, for a fresh re-run
                                           ///< (boxed: an idle slot holds a pointer, not 0.5 KiB)
  bool resumed = false;                    ///< the current execution resumes a session
  bool foreign_dir = false;                ///< the current task runs outside the slot's dir
  /// Why the current task cannot start (its slot's worktree could not be made).
  std::optional<std::string> setup_error;

  /// Marks the slot busy with `task` and builds the executor's request (resolved config,
  /// session to resume in persistent mode).
  execution_request begin(const task_assignment& task);

  /// True when `result` says the session to resume does not exist: the CLI stopped before
  /// any API call, so the task can run again in a fresh session (the pinned CLI sometimes
  /// loses a session's first entries in --bare mode; see the README).
  bool resume_missed(const task_result& result) const;

  /// The request that re-runs the current task in a fresh session.
  execution_request fresh_retry();

  /// Folds a finished execution into the record (cost, counters, session) and marks the
  /// slot idle again. Returns the id of the task that ended.
  task_id finish(const task_result& result);
};

/// Spawned by the pool with its initial record and dependencies.
slot_actor::behavior_type slot_behavior(slot_actor::stateful_pointer<slot_actor_state> self,
                                        slot_record record, slot_deps deps);

} // namespace claude_pool
