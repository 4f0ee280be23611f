#pragma once
/// The pool: task table, FIFO queue of pending tasks, routing to the most recently idle
/// slot, slot_assignment_timeout, cancel and drain. It never blocks and never touches a
/// process; everything is driven by messages (no polling).

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "actors/credential_state.hpp"
#include "actors/slot_actor.hpp"
#include "actors/slot_hosts.hpp"
#include "runtime/store/task_store.hpp"
#include "supervision/failure_class.hpp"

namespace claude_pool {

class git_worktrees;

/// What a pool actor is built with besides its configuration.
struct pool_services {
  std::shared_ptr<task_executor> executor;
  /// With worktree isolation: the slots' worktrees.
  std::shared_ptr<git_worktrees> worktrees;
  /// `slot_configs[i]`, when given, configures slot i.
  std::vector<slot_config> slot_configs;
  /// Hears every event status lists, as it happens (see `pool_options::on_event`).
  std::function<void(const pool_event&)> on_event;
  /// Hears every task record that changed (see `pool_options::on_task_change`).
  std::function<void(const task_record&)> on_task_change;
  /// See `pool_options::on_task_progress` and `on_store_write`.
  std::function<void(const task_id&, const task_progress&)> on_task_progress;
  std::function<void(std::chrono::microseconds, std::size_t, bool)> on_store_write;
  /// Durable store (unset: in memory only) and what it held at start.
  std::shared_ptr<task_store> store;
  std::vector<task_record> recovered;
  /// Every stored task by state, those not in `recovered` included (status counts them).
  std::map<task_state, std::uint64_t> stored_counts;
  std::uint64_t spent_before = 0;
  /// Persistent slots' sessions from the store, resumed by the slots of the same id.
  std::map<slot_id, std::string> sessions;
};

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
    /// What the slot's earlier incarnations did (a restarted slot actor counts from zero):
    /// added to what the current one reports, so the slot's counters never go back.
    std::uint64_t earlier_tasks = 0;
    std::uint64_t earlier_cost_microdollars = 0;
    /// `credential_key(record)`, kept: routing asks for it for every task it places.
    std::string credential;
  };

  std::shared_ptr<const pool_config> config;
  std::unordered_map<task_id, task_record> tasks;
  /// Submission order, for list(). Entries of tasks that left memory (retention) are
  /// dropped from the front and, now and then, from the middle (see trim).
  std::deque<task_id> order;
  /// A queued task and since when it waits (for slot_assignment_timeout): kept in the queue
  /// entry itself, not in a map beside it (a lookup per task accepted, routed and expired).
  struct queued_task {
    task_id id;
    std::uint64_t since = 0;
  };
  std::deque<queued_task> queue;         ///< FIFO; entries no longer pending are skipped
  std::map<slot_id, slot_entry> slots;
  std::vector<slot_id> idle;             ///< back() = most recently idle
  bool draining = false;
  /// Limits and logins, per credential (see credential_state.hpp). Made on first use: the
  /// config's profiles, "default", and slot hosts' logins ("<node>:<name>").
  std::map<std::string, credential_state> credentials;
  /// How many slots each credential has (keys as `credential_key`), kept as slots come and
  /// go: `paused` and `all_refused` ask on every routing pass, which must not walk the slots.
  std::map<std::string, std::uint64_t> slots_per_credential;
  std::set<task_id> preempted;                           ///< stopped by a breaker
  std::vector<std::pair<slot_id, task_id>> to_preempt;   ///< the actor sends these cancels

  /// The state of `slot`'s credential (a slot no longer here: the default one).
  credential_state& credential_of(const std::optional<slot_id>& slot);
  credential_state& credential_named(const std::string& key);
  /// True while no task may start anywhere: every credential that has a slot is held (a
  /// limit's pause, or its breaker waiting for the probe). A pool without slots is not.
  bool paused(std::uint64_t now) const;
  /// True while every credential that has a slot has its login refused.
  bool all_refused() const;
  /// When some credential held now (or staggering its starts) may start a task again.
  std::optional<std::uint64_t> next_resume(std::uint64_t now) const;
  std::deque<pool_event> events;                        ///< the latest, for status
  std::function<void(const pool_event&)> on_event;      ///< the embedder's log, if any
  std::function<void(const task_record&)> on_task_change; ///< the embedder's task feed
  std::function<void(const task_id&, const task_progress&)> on_task_progress;
  std::function<void(std::chrono::microseconds, std::size_t, bool)> on_store_write;
  std::set<slot_id> retiring;          ///< busy slots that stop once their task ends
  std::map<slot_id, std::uint64_t> idle_since;          ///< for autoscaling
  std::map<slot_id, std::uint64_t> last_used;           ///< when it last finished a task
  slot_hosts hosts;                    ///< slot hosts that joined, and their room
  /// Each joined host's gate (by node), through which its slots report.
  std::map<std::string, pool_member_actor> member_gates;
  /// Slot hosts' busy slots that stopped; their last report may still be in their host's
  /// gate, so they take no new task until their loss is handled (see on_slot_down).
  std::set<slot_id> going;

  void record_event(pool_event ev);

  // -- logic ------------------------------------------------------------------------------

  /// Empty when the submission is acceptable, else the reason (names the field).
  std::string check(const task_submission& sub) const;

  /// Records a pending task and queues it.
  task_id accept(task_submission sub);

  /// Registers a (re)started slot as idle; a restarted slot replaces its old incarnation.
  void add_slot(slot_actor handle, slot_record record);

  /// Takes a slot record update from the supervisor (errored, restarting) and its event.
  void update_slot(const slot_record& record, pool_event ev);

  /// Pairs queued tasks with idle slots (most recently idle first) and marks them running,
  /// at most `limit` of them. Nothing starts on a held credential, past its
  /// `max_concurrent`, or within its `start_stagger_ms` of its last start.
  std::vector<assignment> route(std::uint64_t now, std::size_t limit = SIZE_MAX);

  /// Undoes `route()` for an assignment whose execution never started (the budget said
  /// wait): the task goes back to the front of the queue, the slot back to idle.
  void unroute(const assignment& a, std::uint64_t now);

  /// True while `a` is still what route() made it: its task running on its slot.
  bool still_assigned(const assignment& a) const;

  /// Fails a routed task that the budget refused before it ran; the slot is idle again.
  void refuse(const assignment& a, const std::string& code, const std::string& why,
              std::uint64_t now);

  /// Which slots to take out of service for a scale-down of `n`: errored or stopped ones
  /// first, then idle ones least recently used first, then busy ones (latest start first).
  /// Of a slot host's slots only those the scaler placed there are candidates.
  std::vector<slot_id> retirees(std::uint64_t n) const;

  /// Takes a slot out of the pool's tables (it runs no task).
  void remove_slot(const slot_id& slot);
  /// One slot fewer on credential `key` (see slots_per_credential).
  void uncount_credential(const std::string& key);

  /// A slot whose task never started (cancelled while the budget decided) is free again;
  /// a retiring slot is not put back into routing.
  void free_slot(const slot_id& slot, std::uint64_t now);

  /// What the autoscale policy needs.
  pool_load load() const;

  /// What a slot's report did to its task.
  enum class outcome {
    ignored,  ///< unknown task, or its state was already decided (cancelled)
    requeued, ///< back in the queue: rate limit, or a retryable failure with attempts left
    settled,  ///< the task reached a terminal state now
  };

  /// Applies a slot's report: the slot returns to routing if it says idle; the task
  /// completes, fails, or goes back to the queue as its failure class says.
  outcome complete(const slot_record& slot, const task_id& task, task_result result,
                   std::uint64_t now);

  /// A running task's progress report (live_progress tasks); stale reports (the task ended
  /// or runs again elsewhere) are dropped.
  void progress(const task_id& task, const slot_id& from, task_progress report);

  /// Review gate: approve a `pending_review` task (completed), or reject it (re-queued with
  /// the feedback, or failed at `max_rejections`). Empty when done, else why not.
  std::string approve(task_record& task);
  std::string reject(task_record& task, const std::string& feedback, std::uint64_t now);

  /// Fails every pending task when no slot can ever run one (all errored); returns them.
  std::vector<task_id> fail_if_unroutable();

  /// With every credential's breaker open and `auth_failure: fail`, fails the queued tasks
  /// until the next probe may run; returns them.
  std::vector<task_id> fail_parked(std::uint64_t now);

  /// Opens the breaker of `slot`'s credential for `result` (a refused login): stops routing
  /// to that credential, schedules its probe, lists its other running tasks to stop, and
  /// records the event.
  void trip_auth(const task_result& result, const std::optional<slot_id>& slot, std::uint64_t now);

  /// True while at least one slot is not errored (running, idle or being restarted).
  bool has_usable_slot() const;

  /// True while a slot host of that name has slots here.
  bool node_in_use(const std::string& node) const;

  // -- the store (runtime/store/task_store.hpp) -----------------------------------------------
  /// Where accepted tasks are kept; unset: only here.
  std::shared_ptr<task_store> store;
  /// Tasks changed since the last flush.
  std::vector<task_id> changed;
  std::uint64_t spent_total = 0; ///< every execution's booked cost, ever (stored)
  std::optional<std::string> store_failure; ///< the last write failed: why
  bool spent_changed = false;
  /// Call before changing a task's record (its state included): it is written, announced
  /// and counted.
  void touched(const task_id& id) {
    note_count(id);
    if (store || on_task_change)
      changed.push_back(id);
  }
  /// `touched` for a task just made (pending, nothing before it): counted at once, without
  /// the lookup `note_count` makes (this runs for every submission).
  void touched_new(const task_id& id) {
    ++state_counts[static_cast<std::size_t>(task_state::pending)];
    if (store || on_task_change)
      changed.push_back(id);
  }

  // -- counts and retention -----------------------------------------------------------------
  /// Tasks in each state, those that left memory included: status reads these instead of
  /// walking every record. Kept by `touched` (the state before a change) and settle_counts
  /// (the state after).
  mutable std::array<std::uint64_t, 6> state_counts{};
  mutable std::unordered_map<task_id, std::optional<task_state>> count_before;
  void note_count(const task_id& id) const;
  /// Applies the changes noted since the last call to state_counts; tasks that ended go to
  /// `ended`, in the order they ended.
  void settle_counts() const;
  std::uint64_t count_of(task_state s) const { return state_counts[static_cast<std::size_t>(s)]; }

  /// Ended tasks in memory, oldest ending first (some may have left already).
  mutable std::deque<task_id> ended;
  std::uint64_t retain_ended = UINT64_MAX;          ///< retain_ended_records
  std::optional<std::uint64_t> retain_ended_ms;     ///< retain_ended_secs
  std::uint64_t evicted = 0;                         ///< ended records that left memory
  bool trim_pending = false;                         ///< a trim message is on its way
  /// True when enough ended records are over the limits to be worth a trim (they go in
  /// batches), or the oldest is past its age.
  bool trim_due(std::uint64_t now) const;
  /// Ended records over the limits leave memory (not while something still needs them: a
  /// waiter, a slot that still runs its process, an unsettled budget grant, an unwritten
  /// change). Returns how many left.
  std::size_t trim(std::uint64_t now);
  /// A task that left memory, from the store (none without one).
  std::optional<task_record> stored(const task_id& id) const;
  /// Tells `on_task_change` about every changed record (once each); without a store the
  /// changed list is then done with.
  void announce_changes();
  /// Writes every changed record to the store. Empty when all went well, else why not (the
  /// records stay changed and are written again at the next flush).
  std::string flush();
  /// Takes back a task just accepted whose record could not be written (a full disk): it
  /// never ran, so nothing of it is kept — its submitter hears `store_failed` instead.
  void withdraw(const task_id& id);
  /// The same for many at once (one pass over the queue, not one per task).
  void withdraw(const std::set<task_id>& ids);
  /// The tasks whose record the last flush could not write (none without a store).
  std::set<task_id> unwritten() const { return {changed.begin(), changed.end()}; }
  /// Whether `id`'s latest change is still waiting to be written.
  bool unwritten(const task_id& id) const;
  /// At start, takes every task the store has: ended ones keep their records; pending ones
  /// queue again; running ones — whose process died with the old pool — fail `interrupted`
  /// (at most once), or queue again when they have attempts left. Returns a summary.
  /// `stored_counts` counts every task of the store by state, those not loaded included.
  std::string recover(std::vector<task_record> stored, std::uint64_t now,
                      const std::map<task_state, std::uint64_t>& stored_counts = {});

  /// Marks a task cancelled. A pending task is done at once; for a running task, returns the
  /// slot whose process must be stopped.
  std::optional<slot_id> cancel(task_record& task, const std::string& why);

  /// Fails pending tasks whose slot_assignment_timeout passed. Returns them.
  std::vector<task_id> expire(std::uint64_t now);

  /// When the oldest pending task will time out, if any task is pending.
  std::optional<std::uint64_t> next_expiry() const;

  /// A slot's actor is gone: the slot leaves routing until the supervisor restarts it; a
  /// task it was running fails with `slot_lost` (or is re-queued if it has attempts left).
  /// Returns that task and what happened to it.
  std::optional<std::pair<task_id, outcome>> slot_lost(const slot_id& slot,
                                                       const std::string& reason,
                                                       std::uint64_t now);

  /// No pending task and no busy slot.
  bool quiescent() const;

  pool_status status() const;
  session_metrics metrics(const metrics_filter& filter, std::uint64_t now) const;
  std::uint64_t started_ms = now_ms();
  /// A page of records (see task_filter); nullopt when `filter.after` is not a task the pool
  /// knows. With a store and records that left memory, the page comes from the store (the
  /// records still in memory as they are now). Throws store_error when the store fails.
  std::optional<std::vector<task_record>> list(const task_filter& filter) const;
  task_record* find(const task_id& id);

  // -- bookkeeping owned by the behaviour -------------------------------------------------
  std::unordered_map<task_id, std::vector<caf::typed_response_promise<task_record>>> waiters;
  std::unordered_map<task_id, std::vector<caf::typed_response_promise<task_record>>>
    cancel_waiters;
  std::unordered_map<caf::actor_addr, slot_id> slot_by_addr;
  bool expiry_armed = false;
  std::optional<std::uint64_t> resume_at; ///< the armed resume timer's time
  supervisor_actor supervisor;
  scaler_actor scaler;
  chain_registry_actor chains;             ///< the facade's, for the chain messages
  std::uint64_t target_slots = 0;          ///< the scaler's latest target
  budget_actor budget;                     ///< only with budget_microdollars
  std::optional<assignment> awaiting_grant; ///< routed, waiting for the budget's answer
  bool budget_blocked = false;             ///< the budget said wait: retry after a settle
  std::uint64_t settles_sent = 0;          ///< settles sent to the budget so far…
  std::uint64_t settles_at_ask = 0;        ///< …and when the pending reservation was asked
  /// An execution's grant from the budget, until it settles.
  struct grant_held {
    std::uint64_t allowance = 0;   ///< the CLI's --max-budget-usd
    std::uint64_t reservation = 0; ///< what the budget holds back for it
    std::uint64_t seen = 0;        ///< its cost after its latest turn
  };
  std::unordered_map<task_id, grant_held> allowances; ///< granted, not yet settled
  /// Executions the budget could not hold any longer: stopped, with why (they fail
  /// `budget_exhausted` unless they finish well first).
  std::unordered_map<task_id, std::string> budget_stops;
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
/// the services' executor; with a store, it starts from what the store holds (see
/// `pool_actor_state::recover`).
pool_actor::behavior_type pool_behavior(pool_actor::stateful_pointer<pool_actor_state> self,
                                        pool_config config, pool_services services);

} // namespace claude_pool
