#pragma once
/// Internal to the pool actor's files (actors/pool_actor.cpp and actors/pool_reactions_*.cpp),
/// not part of the API and not installed (see CMakeLists.txt): what the
/// pool does when a message arrives. `pool_behavior` maps each message to one of these; they
/// apply the state's logic (pool_actor_state) and send what follows from it.

#include <cstdint>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/pool_actor.hpp"

namespace claude_pool::pool_reactions {

using self_ptr = pool_actor::stateful_pointer<pool_actor_state>;

// -- tasks (pool_reactions_tasks.cpp) ------------------------------------------------------

/// The error for a request that names a task the pool does not have.
caf::error unknown(const task_id& id);

/// A task that is not in memory: its ended record from the store (it left memory under
/// retain_ended_records), else `unknown_task`; `store_failed` when the store cannot answer.
caf::expected<task_record> from_store(self_ptr self, const task_id& id);

/// A page of the task list (see task_filter): `unknown_task` for a cursor the pool does not
/// know, `store_failed` when the history cannot be read.
caf::result<std::vector<task_record>> list(self_ptr self, const task_filter& filter);

/// Accepts a submission (through the budget, when the pool has one) and answers its id.
caf::result<task_id> submit(self_ptr self, task_submission& sub);

/// Accepts many submissions like `submit`, one answer each in order; the accepted ones are
/// recorded in one store write and routed once (what makes the facade's `submit_all` fast).
caf::result<std::vector<submit_answer>> submit_many(self_ptr self,
                                                     std::vector<task_submission>& subs);

/// Accepts a submission like `submit` and answers the task's record once it ends.
caf::result<task_record> run(self_ptr self, task_submission& sub);

/// Answers the task's record once it ended or waits for review.
caf::result<task_record> wait_for(self_ptr self, const task_id& id);

/// Approves a task that waits for review.
caf::result<task_record> approve(self_ptr self, const task_id& id);

/// Rejects a task that waits for review: it runs again with the feedback, or fails.
caf::result<task_record> reject(self_ptr self, const task_id& id, const std::string& feedback);

/// Cancels a task on a client's request; a running one answers once its process is gone.
caf::result<task_record> cancel(self_ptr self, const task_id& id);

/// A slot reported its task's result.
void on_task_done(self_ptr self, const slot_record& slot, const task_id& id,
                  task_result& result);

/// The expiry timer fired: fails the pending tasks whose slot_assignment_timeout passed.
void on_expiry(self_ptr self);

/// Routes queued tasks to idle slots and starts them, and stores what changed.
void dispatch(self_ptr self);

/// Keeps exactly one expiry timer armed while any task is pending.
void arm_expiry(self_ptr self);

/// A task reached a state the client may be waiting for.
void task_settled(self_ptr self, const task_id& id);

/// A slot is done with a task (reported, or lost): answer whoever waits for it.
void slot_released_task(self_ptr self, const task_id& id, pool_actor_state::outcome what);

/// Fails every pending task when no slot can ever run one.
void fail_unroutable(self_ptr self);

/// Cancels a task, stopping its process if it runs.
void cancel_task(self_ptr self, task_record& task, const std::string& why);

// -- the budget (pool_reactions_budget.cpp) ------------------------------------------------

/// The pool's status, with the budget's figures when the pool has a budget.
caf::result<pool_status> report_status(self_ptr self);

/// Routes one task and asks the budget for its allowance before it starts.
void dispatch_budgeted(self_ptr self, std::uint64_t now);

/// Books an execution's cost, and settles its allowance with the budget.
void settle_execution(self_ptr self, const task_id& id, std::optional<std::uint64_t> cost);

/// A running execution's cost after a turn, for the budget to track (it may stop it).
void track_cost(self_ptr self, const task_id& id, const slot_id& from, std::uint64_t cost);

/// The task's own budget in microdollars, 0 when it sets none.
std::uint64_t wanted_allowance(const std::optional<task_overrides>& cfg);

// -- slots and slot hosts (pool_reactions_slots.cpp) ----------------------------------------

/// A slot the supervisor (re)started is ready: it joins routing.
void on_slot_up(self_ptr self, slot_actor& handle, slot_record& rec);

/// A slot host's slot is ready: it joins routing.
void on_remote_slot(self_ptr self, caf::strong_actor_ptr& ptr, slot_record& rec, bool placed);

/// A slot's or a slot host's actor is gone.
void on_slot_down(self_ptr self, const caf::down_msg& dm);

/// A slot host asks to join; answers the pool's configuration and the host's member gate.
caf::result<pool_config, caf::strong_actor_ptr>
join(self_ptr self, const std::string& node, std::uint64_t own, std::uint64_t capacity);

/// A slot host leaves: its slots stop once idle, the placed ones are placed elsewhere.
void on_leave(self_ptr self, const std::string& node);

/// Takes `n` slots out of service (scale-down); `force` cancels their tasks.
void retire(self_ptr self, std::uint64_t n, bool force);

/// Starts `n` new slots: on slot hosts with room first, the rest through the supervisor.
void place_slots(self_ptr self, std::uint64_t n, const std::string& why);

/// A retiring slot that no longer runs anything stops now.
void maybe_stop_retiring(self_ptr self, const slot_id& slot);

// -- the store (pool_reactions_store.cpp) ---------------------------------------------------

/// Writes what changed to the store.
void persist(self_ptr self);
/// Sends the pool a trim when ended records are over the retention limits (see trim()).
void schedule_trim(self_ptr self);
void on_trim(self_ptr self);

/// Stores a persistent slot's session when it changes.
void remember_session(self_ptr self, const slot_record& slot);

// -- drain (pool_reactions_drain.cpp) -------------------------------------------------------

/// Starts (or joins) a drain; answers its summary once the pool is quiescent.
caf::result<drain_summary> drain(self_ptr self, std::uint64_t deadline_ms);

/// The drain deadline passed: cancels whatever has not finished.
void drain_deadline(self_ptr self);

/// Answers the drain once no task is pending or running.
void maybe_finish_drain(self_ptr self);

} // namespace claude_pool::pool_reactions
