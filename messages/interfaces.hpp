#pragma once
/// The whole actor protocol on one page: the typed interfaces of the pool and its actors.
/// `pool_client_actor` is the library's API for CAF callers, local or on other nodes; the
/// rest is the pool's own traffic.

#include <cstdint>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/caf_types.hpp"

namespace claude_pool {

/// A slot: runs one task at a time through its executor.
using slot_actor = caf::typed_actor<
  /// Pool → slot: run this task (the slot is idle when the pool sends it).
  caf::reacts_to<execute_atom, task_assignment>,
  /// Pool → slot: stop the task's process group; the slot still reports `task_done`.
  caf::reacts_to<cancel_atom, task_id>,
  /// Executor → slot (from the executor's thread): an execution ended.
  caf::reacts_to<exec_done_atom, std::uint64_t, task_result>>;

/// One chain: runs its steps one after another as tasks of the pool.
using chain_actor = caf::typed_actor<
  /// The chain as it is now, with the running step's live progress.
  caf::replies_to<status_atom>::with<chain_record>,
  /// The chain once it has ended (at once if it has).
  caf::replies_to<wait_atom>::with<chain_record>,
  /// Stops the running step's process, skips the rest; replies once the chain has ended.
  caf::replies_to<cancel_atom>::with<chain_record>>;

/// The chains of a pool: starts them and answers for them by id (`unknown_chain` for an id
/// it never gave out). Several chains run at once, their steps sharing the pool's slots.
using chain_registry_actor = caf::typed_actor<
  /// Checks the definition (`invalid_request` naming the field) and starts the chain.
  caf::replies_to<start_chain_atom, chain_definition>::with<chain_id>,
  caf::replies_to<status_atom, chain_id>::with<chain_record>,
  caf::replies_to<wait_atom, chain_id>::with<chain_record>,
  caf::replies_to<cancel_atom, chain_id>::with<chain_record>,
  /// Every chain, oldest first.
  caf::replies_to<list_atom>::with<std::vector<chain_record>>>;

/// The pool's client protocol: what the facade, CAF callers and remote nodes may send. A
/// node publishes only this (through a gate actor, see actors/pool_gate_actor.hpp), so a
/// remote caller that sends anything else gets `unexpected_message`, not an effect. Every
/// reply that names a task fails with `pool_errc::unknown_task` for an id it never accepted.
using pool_client_actor = caf::typed_actor<
  /// Accept a task; replies with its id once it is queued (or `draining`, `invalid_request`).
  caf::replies_to<submit_atom, task_submission>::with<task_id>,
  /// Accept a task and reply with its record once it has ended.
  caf::replies_to<run_atom, task_submission>::with<task_record>,
  /// Reply with the task's record once it has ended (at once if it already has).
  caf::replies_to<wait_atom, task_id>::with<task_record>,
  /// The task's record as it is now.
  caf::replies_to<result_atom, task_id>::with<task_record>,
  /// Records matching the filter, in submission order.
  caf::replies_to<list_atom, task_filter>::with<std::vector<task_record>>,
  /// Slots and task counts.
  caf::replies_to<status_atom>::with<pool_status>,
  /// Session metrics over the tasks the filter admits.
  caf::replies_to<metrics_atom, metrics_filter>::with<session_metrics>,
  /// Cancel: a pending task never runs; a running task's process group is killed. Replies
  /// with the cancelled record once no process of the task is left.
  caf::replies_to<cancel_atom, task_id>::with<task_record>,
  /// Review gate: a `pending_review` task becomes `completed`…
  caf::replies_to<approve_atom, task_id>::with<task_record>,
  /// …or runs again with its original prompt plus the feedback, until `max_rejections`
  /// rejections, when it fails with the last feedback. Other states: `not_pending_review`.
  caf::replies_to<reject_atom, task_id, std::string>::with<task_record>,
  /// Refuse new work, let accepted tasks finish until the deadline (milliseconds), cancel
  /// what is left, reply with a summary.
  caf::replies_to<drain_atom, std::uint64_t>::with<drain_summary>,
  /// Scaling within scaling.min_slots..max_slots (handled by the scaler; `out_of_bounds`
  /// names the bound). Each replies with the new target slot count. `force` (scale_down,
  /// set_target): a busy slot chosen for removal has its task cancelled instead of finishing.
  caf::replies_to<scale_up_atom, std::uint64_t>::with<std::uint64_t>,
  caf::replies_to<scale_down_atom, std::uint64_t, bool>::with<std::uint64_t>,
  caf::replies_to<set_target_atom, std::uint64_t, bool>::with<std::uint64_t>,
  /// Chains (as chain_registry_actor): the pool's own chains; a node's gate runs a remote
  /// principal's chains through itself, so the node's policy applies to every step.
  caf::replies_to<start_chain_atom, chain_definition>::with<chain_id>,
  caf::replies_to<status_atom, chain_id>::with<chain_record>,
  caf::replies_to<wait_atom, chain_id>::with<chain_record>,
  caf::replies_to<cancel_atom, chain_id>::with<chain_record>,
  caf::replies_to<list_atom>::with<std::vector<chain_record>>,
  /// Slot host → pool: a node named so wants to contribute slots: it starts `own` of them
  /// and runs at most `capacity` (the rest is room for slots the scaler places there).
  /// Replies with the pool's configuration (its slots resolve task settings from it) and
  /// the `pool_member_actor` the host and its slots talk to from then on (a gate that lets
  /// through only the member messages), or `invalid_request` when a live node already has
  /// that name. The sender is the host actor, which the pool then asks for placed slots
  /// (`add_slots_atom, n`) and tells to stop one (`retire_atom, slot_id`).
  caf::replies_to<join_atom, std::string, std::uint64_t, std::uint64_t>::with<
    pool_config, caf::strong_actor_ptr>>;

/// What the pool's members send it: its slots (local, or on a slot host that joined) and
/// the slot hosts themselves. A slot host reaches this only through the handle `join`
/// answers with.
using pool_member_actor = caf::typed_actor<
  /// Executor (for a slot) → pool: a live_progress task's progress so far.
  caf::reacts_to<progress_atom, task_id, slot_id, task_progress>,
  /// Slot → pool: the slot finished a task (its record as it is now, the task, the result).
  caf::reacts_to<task_done_atom, slot_record, task_id, task_result>,
  /// Slot host → pool: one of its slots (a `slot_actor`; sent untyped because only built-in
  /// handle types cross the network in CAF 0.17), with its record (`node` set) and whether
  /// the pool asked for it (`placed`: scale-down may take it away). The pool routes to it
  /// like to its own; when it goes away, its task fails with `node_lost`.
  caf::reacts_to<remote_slot_atom, caf::strong_actor_ptr, slot_record, bool>,
  /// Supervisor (the pool's, or a slot host's) → pool: something happened to a slot
  /// (restarting, errored, gave up, …).
  caf::reacts_to<slot_event_atom, slot_record, pool_event>,
  /// A barrier: the answer comes once everything sent through this handle before it has
  /// reached the pool. The pool asks a host's gate before it handles the loss of that host's
  /// busy slot, so the slot's last report is not overtaken by the slot's down message.
  caf::replies_to<sync_atom>::with<bool>,
  /// Slot host → pool: the host is going away (SIGTERM): route nothing more to its slots,
  /// stop its idle ones now and the busy ones once their task ends; slots the scaler had
  /// placed there are placed elsewhere.
  caf::reacts_to<leave_atom, std::string>>;

/// The pool actor itself: the client protocol, the members' messages, and the internal
/// traffic of its supervisor, scaler, budget and timers. This handle never leaves the
/// process: the facade hands out `pool_client_actor`, a node publishes a gate.
using pool_actor = pool_client_actor::extend_with<pool_member_actor>::extend<
  /// Timer: fail pending tasks older than slot_assignment_timeout / end a drain / end a
  /// rate-limit cool-down.
  caf::reacts_to<expire_atom>,
  caf::reacts_to<drain_atom>,
  /// Its own: ended records over the retention limits leave memory (see pool_state's trim).
  caf::reacts_to<trim_atom>,
  /// Facade → pool: many submissions in one message, one answer each in order (an id, or
  /// the refusal `submit` would have answered with); the accepted ones are recorded in one
  /// store write and routed once.
  caf::replies_to<submit_atom, std::vector<task_submission>>::with<std::vector<submit_answer>>,
  /// Facade → pool, once at start: the registry that answers the chain messages.
  caf::reacts_to<chains_atom, chain_registry_actor>,
  caf::reacts_to<resume_atom>,
  /// Supervisor → pool: a slot (re)started; route tasks to it.
  caf::reacts_to<slot_up_atom, slot_actor, slot_record>,
  /// Scaler → pool: take this many slots out of service (errored first, then idle least
  /// recently used, then busy ones once their task ends, or at once when forced).
  caf::reacts_to<retire_atom, std::uint64_t, bool>,
  /// Scaler → pool: the load autoscaling decides on.
  caf::replies_to<autoscale_atom>::with<pool_load>,
  /// Budget or scaler → pool: an event (budget warning, autoscaling) for status and logs.
  caf::reacts_to<event_atom, pool_event>,
  /// Scaler → pool: start this many new slots, on slot hosts with room first (see
  /// actors/slot_hosts.hpp), the rest through the pool's own supervisor.
  caf::reacts_to<add_slots_atom, std::uint64_t>>;

/// The budget: the only place that says yes or no to spending (see actors/budget_ledger.hpp).
/// Allowances are in microdollars; 0 as the wanted allowance means "the task sets none".
using budget_actor = caf::typed_actor<
  /// May this task be accepted at all? Replies with the allowance it would reserve now, or
  /// `budget_exhausted` / `task_budget_exceeds_remaining` with the figures.
  caf::replies_to<admit_atom, std::uint64_t, std::vector<std::string>>::with<std::uint64_t>,
  /// Reserve for one execution: its allowance (the CLI's --max-budget-usd) and what the
  /// budget holds back for it, `budget_wait` (retry after the next settle), or a refusal.
  caf::replies_to<reserve_atom, task_id, std::uint64_t,
                  std::vector<std::string>>::with<std::uint64_t, std::uint64_t>,
  /// A running execution's cost so far: empty while it may go on, else why it must stop.
  caf::replies_to<track_atom, task_id, std::uint64_t>::with<std::string>,
  /// Book one execution's real cost and free its reservation.
  caf::reacts_to<settle_atom, task_id, std::uint64_t>,
  /// Its own timer: a daily cap reset, which it passes on to the pool.
  caf::reacts_to<resume_atom>,
  caf::replies_to<status_atom>::with<budget_status>>;

/// The scaler: owns the target slot count and, with `scaling.autoscale`, changes it itself.
using scaler_actor = caf::typed_actor<
  caf::replies_to<scale_up_atom, std::uint64_t>::with<std::uint64_t>,
  caf::replies_to<scale_down_atom, std::uint64_t, bool>::with<std::uint64_t>,
  caf::replies_to<set_target_atom, std::uint64_t, bool>::with<std::uint64_t>,
  /// Timer: look at the pool's load and apply the autoscale policy.
  caf::reacts_to<autoscale_atom>>;

/// The supervisor: starts its children (slots) from a child spec, monitors them, and owns
/// every restart decision (see supervision/supervisor_actor.hpp).
using supervisor_actor = caf::typed_actor<
  /// Timer: a slot's backoff is over; start it again.
  caf::reacts_to<restart_atom, slot_id>,
  /// Timer: the periodic pass (supervisor_enabled) that retries errored slots.
  caf::reacts_to<supervise_atom>,
  /// Scaler → supervisor: start this many new slots.
  caf::reacts_to<add_slots_atom, std::uint64_t>,
  /// Pool → supervisor: stop this slot for good (it runs no task); no restart.
  caf::reacts_to<retire_atom, slot_id>,
  /// Owner → supervisor: the owner is going away (a leaving slot host): restart nothing
  /// more: a child that fails from now on is errored at once.
  caf::reacts_to<leave_atom>>;

} // namespace claude_pool
