#pragma once
/// The pool: task table, FIFO queue of pending tasks, routing to the most recently idle
/// slot, slot_assignment_timeout, cancel and drain. It never blocks and never touches a
/// process; everything is driven by messages (no polling).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "actors/slot_actor.hpp"

namespace claude_pool {

/// A task handed to a slot by `pool_actor_state::route()`.
struct assignment {
  slot_id slot;
  task_assignment task;
};

/// The pool's state and logic. Methods are plain functions of the state, so tests can drive
/// routing, timeouts and cancellation without an actor system.
struct pool_actor_state {
  static inline const char* name = "claude_pool.pool";

  struct slot_entry {
    slot_actor handle;
    slot_record record;
  };

  std::shared_ptr<const pool_config> config;
  std::unordered_map<task_id, task_record> tasks;
  std::vector<task_id> order;            ///< submission order, for list()
  std::deque<task_id> queue;             ///< FIFO; entries no longer pending are skipped
  std::map<slot_id, slot_entry> slots;
  std::vector<slot_id> idle;             ///< back() = most recently idle
  bool draining = false;

  // -- logic ------------------------------------------------------------------------------

  /// Empty when the submission is acceptable, else the reason (names the field).
  std::string check(const task_submission& sub) const;

  /// Records a pending task and queues it.
  task_id accept(task_submission sub);

  /// Registers an idle slot.
  void add_slot(slot_actor handle, slot_record record);

  /// Pairs queued tasks with idle slots (most recently idle first) and marks them running.
  std::vector<assignment> route();

  /// Applies a slot's report. Returns true when the task's record changed to a terminal
  /// state now (a task cancelled earlier keeps its state; only its result is filled in).
  bool complete(const slot_record& slot, const task_id& task, task_result result);

  /// Marks a task cancelled. A pending task is done at once; for a running task, returns the
  /// slot whose process must be stopped.
  std::optional<slot_id> cancel(task_record& task, const std::string& why);

  /// Fails pending tasks whose slot_assignment_timeout passed. Returns them.
  std::vector<task_id> expire(std::uint64_t now);

  /// When the oldest pending task will time out, if any task is pending.
  std::optional<std::uint64_t> next_expiry() const;

  /// A slot's actor is gone: the slot leaves routing, its task fails. Returns that task.
  std::optional<task_id> slot_lost(const slot_id& slot, const std::string& reason);

  /// No pending task and no busy slot.
  bool quiescent() const;

  pool_status status() const;
  std::vector<task_record> list(const task_filter& filter) const;
  task_record* find(const task_id& id);

  // -- bookkeeping owned by the behaviour -------------------------------------------------
  std::unordered_map<task_id, std::vector<caf::typed_response_promise<task_record>>> waiters;
  std::unordered_map<task_id, std::vector<caf::typed_response_promise<task_record>>>
    cancel_waiters;
  std::unordered_map<caf::actor_addr, slot_id> slot_by_addr;
  bool expiry_armed = false;
  struct drain_progress {
    std::uint64_t started_ms = 0;
    std::uint64_t completed_before = 0;
    std::uint64_t failed_before = 0;
    std::uint64_t cancelled_at_deadline = 0;
    bool deadline_reached = false;
    std::vector<caf::typed_response_promise<drain_summary>> promises;
  };
  std::optional<drain_progress> drain;
  std::uint64_t completed_count = 0;
  std::uint64_t failed_count = 0;
};

/// The pool with `initial_slots` (else `scaling.min_slots`) slots, all running tasks through
/// `executor`. `slot_configs[i]`, when given, configures slot i.
pool_actor::behavior_type pool_behavior(pool_actor::stateful_pointer<pool_actor_state> self,
                                        pool_config config,
                                        std::shared_ptr<task_executor> executor,
                                        std::vector<slot_config> slot_configs);

} // namespace claude_pool
