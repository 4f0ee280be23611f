#include "actors/pool_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/budget_actor.hpp"
#include "actors/scaler_actor.hpp"
#include "supervision/supervisor_actor.hpp"

namespace claude_pool {

namespace {

using self_ptr = pool_actor::stateful_pointer<pool_actor_state>;
using outcome = pool_actor_state::outcome;

caf::error unknown(const task_id& id) {
  return caf::make_error(pool_errc::unknown_task, "no task with id " + id.value);
}

/// Why a submission is refused (draining, or the submission is invalid); none if accepted.
caf::error refusal(self_ptr self, const task_submission& sub) {
  // A store that failed its last write cannot make a new task durable: refuse it rather
  // than acknowledge what a crash would lose.
  if (self->state.store_failure)
    return caf::make_error(pool_errc::store_failed,
                           "the task store cannot record new tasks: " + *self->state.store_failure);
  auto problem = self->state.check(sub);
  if (problem.empty())
    return caf::none;
  return caf::make_error(self->state.draining ? pool_errc::draining : pool_errc::invalid_request,
                         problem);
}

/// Keeps exactly one expiry timer armed while any task is pending.
void arm_expiry(self_ptr self) {
  auto& st = self->state;
  if (st.expiry_armed)
    return;
  auto when = st.next_expiry();
  if (!when)
    return;
  auto now = now_ms();
  auto delay = *when > now ? *when - now : 0;
  st.expiry_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(delay + 1), expire_atom_v);
}

std::string error_text(const caf::error& err) {
  return error_context(err).value_or(to_string(err));
}

bool is(const caf::error& err, pool_errc code) {
  return err.category() == caf::atom("claudepool")
         && err.code() == static_cast<std::uint8_t>(code);
}

/// The task's own budget in microdollars, 0 when it sets none.
std::uint64_t wanted_allowance(const std::optional<task_overrides>& cfg) {
  if (!cfg || !cfg->max_budget_usd)
    return 0;
  return static_cast<std::uint64_t>(std::llround(*cfg->max_budget_usd * 1e6));
}

/// Books an execution's cost with the budget; unknown (`nullopt`: the slot was lost with
/// the process) counts as the whole allowance, so a lost run can never hide spend.
/// Writes what changed to the store; a failing store is an event (and a line on stderr
/// through on_event), and the records are written again at the next chance.
void persist(self_ptr self) {
  auto& st = self->state;
  if (!st.store)
    return;
  auto problem = st.flush();
  if (!problem.empty() && problem != st.store_failure)
    st.record_event(pool_event{now_ms(), "store_failed", std::nullopt, problem});
  st.store_failure = problem.empty() ? std::nullopt : std::optional<std::string>(problem);
  if (st.spent_changed) {
    try {
      st.store->put_spent(st.spent_total);
      st.spent_changed = false;
    } catch (const std::exception& e) {
      st.record_event(pool_event{now_ms(), "store_failed", std::nullopt, e.what()});
    }
  }
}

/// A persistent slot's session goes to the store when it changes, so that the slot of the
/// same id continues it after a restart. Only sessions of the pool's own directory: a
/// worktree is this pool instance's alone, and a slot host's slot is its host's.
void remember_session(self_ptr self, const slot_record& slot) {
  auto& st = self->state;
  if (!st.store || st.config->slot_mode != slot_mode::persistent || slot.node
      || slot.worktree_path)
    return;
  auto it = st.slots.find(slot.id);
  if (it != st.slots.end() && it->second.record.session_id == slot.session_id)
    return;
  try {
    std::optional<stored_session> s;
    if (slot.session_id)
      s = stored_session{*slot.session_id, st.config->working_dir.value_or("")};
    st.store->put_session(slot.id, s);
  } catch (const std::exception& e) {
    st.record_event(pool_event{now_ms(), "store_failed", slot.id, e.what()});
  }
}

void book_spend(self_ptr self, std::uint64_t cost) {
  self->state.spent_total += cost;
  self->state.spent_changed = cost != 0 || self->state.spent_changed;
}

void settle_execution(self_ptr self, const task_id& id, std::optional<std::uint64_t> cost) {
  auto& st = self->state;
  auto it = st.allowances.find(id);
  if (it == st.allowances.end()) {
    book_spend(self, cost.value_or(0));
    return;
  }
  book_spend(self, cost.value_or(it->second));
  self->send(st.budget, settle_atom_v, id, cost.value_or(it->second));
  st.allowances.erase(it);
  ++st.settles_sent;
  st.budget_blocked = false; // the budget may have room again
}

void dispatch(self_ptr self);
void task_settled(self_ptr self, const task_id& id);
void arm_expiry(self_ptr self);

void stop_slot(self_ptr self, const slot_id& slot, const std::string& why) {
  auto& st = self->state;
  auto it = st.slots.find(slot);
  auto node = it == st.slots.end() ? std::nullopt : it->second.record.node;
  st.remove_slot(slot);
  if (!node) {
    self->send(st.supervisor, retire_atom_v, slot);
  } else {
    st.hosts.unplace(slot);
    // Its host stops it (and does not start it again); a host already gone took it along.
    if (auto host = st.hosts.find(*node))
      caf::anon_send(host->handle, retire_atom_v, slot);
  }
  st.record_event(pool_event{now_ms(), "slot_retired", slot, why});
}

void stop_slot(self_ptr self, const slot_id& slot) {
  stop_slot(self, slot, "taken out of service by a scale-down");
}

/// Starts `n` new slots: on slot hosts with room first, the rest through the supervisor.
void place_slots(self_ptr self, std::uint64_t n, const std::string& why) {
  auto& st = self->state;
  auto where = st.hosts.place(n);
  for (auto& [node, k] : where.on_hosts) {
    caf::anon_send(st.hosts.find(node)->handle, add_slots_atom_v, k);
    st.record_event(pool_event{now_ms(), "slots_placed", std::nullopt,
                               std::to_string(k) + " slot" + (k == 1 ? "" : "s") + " on node "
                                 + node + ": " + why});
  }
  if (where.local > 0)
    self->send(st.supervisor, add_slots_atom_v, where.local);
}

/// A retiring slot that no longer runs anything stops now.
void maybe_stop_retiring(self_ptr self, const slot_id& slot) {
  auto& st = self->state;
  auto it = st.slots.find(slot);
  if (st.retiring.count(slot) && it != st.slots.end()
      && it->second.record.state != slot_state::busy)
    stop_slot(self, slot);
}

/// The budget answered the reservation for the routed task.
void on_grant(self_ptr self, std::uint64_t allowance) {
  auto& st = self->state;
  auto a = std::move(*st.awaiting_grant);
  st.awaiting_grant.reset();
  if (!st.still_assigned(a)) {
    // Cancelled or lost while the budget decided: give the reservation back.
    self->send(st.budget, settle_atom_v, a.task.id, std::uint64_t{0});
    ++st.settles_sent;
    st.budget_blocked = false;
  } else {
    st.allowances[a.task.id] = allowance;
    if (!a.task.overrides)
      a.task.overrides.emplace();
    a.task.overrides->max_budget_usd = static_cast<double>(allowance) / 1e6;
    self->send(st.slots[a.slot].handle, execute_atom_v, std::move(a.task));
  }
  dispatch(self);
}

void on_no_grant(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  auto a = std::move(*st.awaiting_grant);
  st.awaiting_grant.reset();
  auto now = now_ms();
  if (st.still_assigned(a)) {
    if (is(err, pool_errc::budget_wait)) {
      st.unroute(a, now);
      maybe_stop_retiring(self, a.slot);
      arm_expiry(self);
      // The answer predates any settle sent since the question: ask again at once then;
      // otherwise wait for the next settle.
      if (st.settles_sent == st.settles_at_ask) {
        st.budget_blocked = true;
        return;
      }
      dispatch(self);
      return;
    }
    auto code = err.category() == caf::atom("claudepool")
                  ? to_string(static_cast<pool_errc>(err.code()))
                  : std::string("budget_unavailable");
    st.refuse(a, code, error_text(err), now);
    maybe_stop_retiring(self, a.slot);
    task_settled(self, a.task.id);
  }
  dispatch(self);
}

/// With a cap, one task at a time asks the budget before it starts (the budget answers in
/// microseconds; routing stays in submission order).
void dispatch_budgeted(self_ptr self, std::uint64_t now) {
  auto& st = self->state;
  if (st.awaiting_grant || st.budget_blocked)
    return;
  auto routed = st.route(now, 1);
  if (routed.empty())
    return;
  persist(self); // before its execution can start (see dispatch)
  st.awaiting_grant = std::move(routed.front());
  st.settles_at_ask = st.settles_sent;
  auto& task = st.awaiting_grant->task;
  self->request(st.budget, caf::infinite, reserve_atom_v, task.id,
                wanted_allowance(task.overrides))
    .then([self](std::uint64_t allowance) { on_grant(self, allowance); },
          [self](caf::error& err) { on_no_grant(self, err); });
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  auto now = now_ms();
  if (st.budget) {
    dispatch_budgeted(self, now);
  } else {
    auto routed = st.route(now);
    // "running" is stored before any process starts: a pool that dies now will not run the
    // task a second time after a restart (at most once).
    persist(self);
    for (auto& a : routed)
      self->send(st.slots[a.slot].handle, execute_atom_v, std::move(a.task));
  }
  persist(self);
  // During a rate-limit cool-down, one timer resumes routing when it ends.
  if (st.cooldown_until && !st.resume_armed && !st.queue.empty()) {
    st.resume_armed = true;
    auto delay = *st.cooldown_until > now ? *st.cooldown_until - now : 0;
    self->delayed_send(self, std::chrono::milliseconds(delay + 1), resume_atom_v);
  }
}

void deliver_waiters(self_ptr self, const task_id& id) {
  auto& st = self->state;
  auto node = st.waiters.extract(id);
  if (node.empty())
    return;
  auto& rec = st.tasks.at(id);
  for (auto& p : node.mapped())
    p.deliver(rec);
}

void maybe_finish_drain(self_ptr self) {
  auto& st = self->state;
  if (!st.drain || !st.quiescent())
    return;
  drain_summary sum;
  sum.completed = st.completed_count - st.drain->completed_before;
  sum.failed = st.failed_count - st.drain->failed_before;
  sum.cancelled_at_deadline = st.drain->cancelled_at_deadline;
  sum.deadline_reached = st.drain->deadline_reached;
  sum.elapsed_ms = now_ms() - st.drain->started_ms;
  for (auto& p : st.drain->promises)
    p.deliver(sum);
  st.drain.reset();
}

/// A task reached a state the client may be waiting for.
void task_settled(self_ptr self, const task_id& id) {
  persist(self); // before anyone hears that it ended
  deliver_waiters(self, id);
  maybe_finish_drain(self);
}

/// A slot is done with a task (reported, or lost): answer whoever waits for it.
void slot_released_task(self_ptr self, const task_id& id, outcome what) {
  auto& st = self->state;
  if (auto node = st.cancel_waiters.extract(id); !node.empty())
    for (auto& p : node.mapped())
      p.deliver(st.tasks.at(id));
  if (what != outcome::requeued && st.tasks.count(id))
    task_settled(self, id);
}

void fail_unroutable(self_ptr self) {
  for (auto& id : self->state.fail_if_unroutable())
    task_settled(self, id);
}

/// Routed, but its execution waits for the budget's answer: no process exists yet.
bool awaiting_budget(self_ptr self, const task_id& id) {
  auto& grant = self->state.awaiting_grant;
  return grant && grant->task.id == id;
}

void cancel_task(self_ptr self, task_record& task, const std::string& why) {
  auto& st = self->state;
  bool no_process = awaiting_budget(self, task.id);
  auto slot = st.cancel(task, why);
  if (slot && no_process) {
    // Never started: the budget's answer finds it cancelled and gives the reservation back.
    st.free_slot(*slot, now_ms());
    maybe_stop_retiring(self, *slot);
    task_settled(self, task.id);
    dispatch(self);
    return;
  }
  if (slot) {
    // Running: the record says cancelled now; waiters hear once the process is gone.
    self->send(st.slots[*slot].handle, cancel_atom_v, task.id);
    return;
  }
  task_settled(self, task.id);
}

/// Admits a submission through the budget (when the pool has one), then `then(accepted)`;
/// a refusal goes to `promise`.
template <class T, class F>
void admit(self_ptr self, task_submission sub, caf::typed_response_promise<T> promise, F then) {
  auto want = wanted_allowance(sub.config);
  self->request(self->state.budget, caf::infinite, admit_atom_v, want)
    .then(
      [self, promise, sub, then](std::uint64_t) mutable {
        if (auto err = refusal(self, sub)) // e.g. a drain began meanwhile
          promise.deliver(err);
        else
          then(std::move(sub), promise);
      },
      [promise](caf::error& err) mutable { promise.deliver(err); });
}

/// Queues a task; `waiter`, when given, hears when it ends (even if it fails at once).
task_id accept(self_ptr self, task_submission&& sub,
               std::optional<caf::typed_response_promise<task_record>> waiter = {}) {
  auto id = self->state.accept(std::move(sub));
  persist(self); // durable before the submitter hears its id
  if (waiter)
    self->state.waiters[id].push_back(std::move(*waiter));
  fail_unroutable(self); // every slot errored: fail fast instead of waiting for the timeout
  dispatch(self);
  arm_expiry(self);
  return id;
}

/// A slot host's actor went away (its node was lost, or it left): its slots go too, each
/// with its own down message; the slots the scaler had placed there are placed again.
void on_host_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto gone = st.hosts.host_down(dm.source);
  if (!gone)
    return;
  st.record_event(pool_event{now_ms(), "node_left", std::nullopt,
                             "node " + gone->first + " went away (" + to_string(dm.reason)
                               + ")"});
  if (gone->second > 0 && !st.draining)
    place_slots(self, gone->second, "replacing the slots lost with node " + gone->first);
}

void on_slot_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = st.slot_by_addr.find(dm.source);
  if (it == st.slot_by_addr.end()) {
    on_host_down(self, dm);
    return;
  }
  auto slot = it->second;
  st.slot_by_addr.erase(it);
  if (st.slots.count(slot) && st.slots[slot].handle.address() != dm.source)
    return; // an older incarnation; the slot was already restarted
  auto running = st.slots.count(slot) ? st.slots[slot].record.current_task : std::nullopt;
  if (running)
    settle_execution(self, *running, std::nullopt);
  if (auto lost = st.slot_lost(slot, to_string(dm.reason), now_ms()))
    slot_released_task(self, lost->first, lost->second);
  dispatch(self);
  maybe_finish_drain(self);
}

/// Forwards a scaling request to the scaler and remembers the target it answers with.
template <class... Ts>
caf::result<std::uint64_t> ask_scaler(self_ptr self, Ts... xs) {
  auto promise = self->make_response_promise<std::uint64_t>();
  self->request(self->state.scaler, caf::infinite, xs...)
    .then(
      [self, promise](std::uint64_t target) mutable {
        self->state.target_slots = target;
        promise.deliver(target);
      },
      [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

} // namespace

pool_actor::behavior_type pool_behavior(self_ptr self, pool_config config, pool_services services) {
  auto cfg = std::make_shared<const pool_config>(std::move(config));
  auto& st = self->state;
  st.config = cfg;
  st.on_event = std::move(services.on_event);
  if (services.store) {
    st.store = std::move(services.store);
    st.spent_total = services.spent_before;
    auto summary = st.recover(std::move(services.recovered), now_ms());
    st.record_event(pool_event{now_ms(), "store_recovered", std::nullopt, summary});
    if (auto problem = st.flush(); !problem.empty())
      st.record_event(pool_event{now_ms(), "store_failed", std::nullopt, problem});
  }
  st.supervisor = self->spawn(supervisor_behavior, cfg, std::move(services.executor),
                              std::move(services.worktrees), pool_actor{self},
                              std::move(services.slot_configs), std::move(services.sessions));
  st.target_slots = cfg->initial_slots.value_or(cfg->scaling.min_slots);
  st.scaler = self->spawn(scaler_behavior, cfg, pool_actor{self});
  if (cfg->budget_microdollars)
    st.budget = self->spawn(budget_behavior, *cfg, st.spent_total, pool_actor{self});
  self->set_down_handler([self](const caf::down_msg& dm) { on_slot_down(self, dm); });
  return {
    [self](submit_atom, task_submission& sub) -> caf::result<task_id> {
      if (auto err = refusal(self, sub))
        return err;
      if (!self->state.budget)
        return accept(self, std::move(sub));
      auto promise = self->make_response_promise<task_id>();
      admit(self, std::move(sub), promise, [self](task_submission&& s, auto& p) {
        p.deliver(accept(self, std::move(s)));
      });
      return promise;
    },
    [self](run_atom, task_submission& sub) -> caf::result<task_record> {
      if (auto err = refusal(self, sub))
        return err;
      auto promise = self->make_response_promise<task_record>();
      if (!self->state.budget)
        accept(self, std::move(sub), promise);
      else
        admit(self, std::move(sub), promise,
              [self](task_submission&& s, auto& p) { accept(self, std::move(s), p); });
      return promise;
    },
    [self](wait_atom, const task_id& id) -> caf::result<task_record> {
      auto task = self->state.find(id);
      if (!task)
        return unknown(id);
      if (is_terminal(task->state) || task->state == task_state::pending_review)
        return *task;
      auto promise = self->make_response_promise<task_record>();
      self->state.waiters[id].push_back(promise);
      return promise;
    },
    [self](result_atom, const task_id& id) -> caf::result<task_record> {
      if (auto task = self->state.find(id))
        return *task;
      return unknown(id);
    },
    [self](list_atom, const task_filter& filter) -> std::vector<task_record> {
      return self->state.list(filter);
    },
    [self](status_atom) -> caf::result<pool_status> {
      auto& st = self->state;
      auto snapshot = st.status();
      snapshot.target_slots = st.target_slots;
      if (!st.budget)
        return snapshot;
      auto promise = self->make_response_promise<pool_status>();
      self->request(st.budget, caf::infinite, status_atom_v)
        .then(
          [promise, snapshot](budget_status& b) mutable {
            snapshot.budget = std::move(b);
            promise.deliver(std::move(snapshot));
          },
          [promise](caf::error& err) mutable { promise.deliver(err); });
      return promise;
    },
    [self](metrics_atom, const metrics_filter& filter) -> session_metrics {
      return self->state.metrics(filter, now_ms());
    },
    [self](cancel_atom, const task_id& id) -> caf::result<task_record> {
      auto task = self->state.find(id);
      if (!task)
        return unknown(id);
      if (is_terminal(task->state))
        return caf::make_error(pool_errc::already_finished,
                               "task " + id.value + " already ended as "
                                 + std::string(to_string(task->state)));
      bool running = task->state == task_state::running && !awaiting_budget(self, id);
      cancel_task(self, *task, "the task was cancelled by a client request");
      if (!running)
        return *task;
      auto promise = self->make_response_promise<task_record>();
      self->state.cancel_waiters[id].push_back(promise);
      return promise;
    },
    [self](approve_atom, const task_id& id) -> caf::result<task_record> {
      auto task = self->state.find(id);
      if (!task)
        return unknown(id);
      if (auto why = self->state.approve(*task); !why.empty())
        return caf::make_error(pool_errc::not_pending_review, why);
      maybe_finish_drain(self);
      return *task;
    },
    [self](reject_atom, const task_id& id, const std::string& feedback)
      -> caf::result<task_record> {
      auto& st = self->state;
      auto task = st.find(id);
      if (!task)
        return unknown(id);
      if (st.draining && task->state == task_state::pending_review
          && task->rejection_count + 1 < task->max_rejections)
        return caf::make_error(pool_errc::draining,
                               "the pool is draining: a rejected task cannot run again");
      if (auto why = st.reject(*task, feedback, now_ms()); !why.empty())
        return caf::make_error(pool_errc::not_pending_review, why);
      auto rec = *task;
      if (is_terminal(rec.state))
        task_settled(self, id);
      dispatch(self);
      arm_expiry(self);
      return rec;
    },
    [self](drain_atom, std::uint64_t deadline_ms) -> caf::result<drain_summary> {
      auto& st = self->state;
      auto promise = self->make_response_promise<drain_summary>();
      st.draining = true;
      if (!st.drain) {
        st.drain.emplace();
        st.drain->started_ms = now_ms();
        st.drain->completed_before = st.completed_count;
        st.drain->failed_before = st.failed_count;
      }
      // A later drain with a shorter deadline (a second Ctrl-C) brings the deadline forward.
      self->delayed_send(self, std::chrono::milliseconds(deadline_ms), drain_atom_v);
      st.drain->promises.push_back(promise);
      maybe_finish_drain(self);
      return promise;
    },
    [self](drain_atom) {
      // A drain deadline: cancel whatever has not finished.
      auto& st = self->state;
      if (!st.drain)
        return;
      st.drain->deadline_reached = true;
      for (auto& id : st.order) {
        auto& task = st.tasks.at(id);
        if (task.state == task_state::pending || task.state == task_state::running) {
          ++st.drain->cancelled_at_deadline;
          cancel_task(self, task, "the pool's drain deadline passed before the task ended");
        }
      }
      maybe_finish_drain(self);
    },
    [self](task_done_atom, const slot_record& slot, const task_id& id, task_result& result) {
      remember_session(self, slot);
      settle_execution(self, id, result.cost_microdollars);
      auto what = self->state.complete(slot, id, std::move(result), now_ms());
      maybe_stop_retiring(self, slot.id);
      slot_released_task(self, id, what);
      dispatch(self);
      arm_expiry(self);
      maybe_finish_drain(self);
    },
    [self](progress_atom, const task_id& id, const slot_id& from, task_progress& report) {
      self->state.progress(id, from, std::move(report));
    },
    [self](expire_atom) {
      auto& st = self->state;
      st.expiry_armed = false;
      for (auto& id : st.expire(now_ms()))
        task_settled(self, id);
      arm_expiry(self);
    },
    [self](resume_atom) {
      self->state.resume_armed = false;
      dispatch(self);
    },
    [self](slot_up_atom, slot_actor& handle, slot_record& rec) {
      self->monitor(handle);
      auto id = rec.id;
      bool retiring = self->state.retiring.count(id) > 0;
      self->state.add_slot(std::move(handle), std::move(rec));
      if (retiring) // restarted after a crash while it was being scaled away
        stop_slot(self, id);
      dispatch(self);
    },
    [self](add_slots_atom, std::uint64_t n) { place_slots(self, n, "scale-up"); },
    [self](join_atom, const std::string& node, std::uint64_t own,
           std::uint64_t capacity) -> caf::result<pool_config> {
      auto& st = self->state;
      auto problem = st.hosts.check_join(node, own, capacity);
      if (problem.empty() && st.node_in_use(node))
        problem = "join: a node named " + node + " already has slots here";
      auto host = caf::actor_cast<caf::actor>(self->current_sender());
      if (problem.empty() && !host)
        problem = "join: the request has no sender to send placed slots to";
      if (!problem.empty())
        return caf::make_error(pool_errc::invalid_request, problem);
      self->monitor(host);
      st.hosts.join(node, host, own, capacity);
      st.record_event(pool_event{now_ms(), "node_joined", std::nullopt,
                                 "node " + node + " joins with " + std::to_string(own)
                                   + " slots, room for " + std::to_string(capacity - own)
                                   + " more"});
      return *st.config;
    },
    [self](remote_slot_atom, caf::strong_actor_ptr& ptr, slot_record& rec, bool placed) {
      auto handle = caf::actor_cast<slot_actor>(ptr);
      if (!handle || !rec.node)
        return; // not a slot host's slot: ignore rather than route to it
      auto& st = self->state;
      auto id = rec.id;
      if (placed)
        st.hosts.placed_slot_up(id, *rec.node);
      self->monitor(handle);
      bool retiring = st.retiring.count(id) > 0;
      st.add_slot(std::move(handle), std::move(rec));
      if (retiring) // its host restarted it after a crash while it was being scaled away
        stop_slot(self, id);
      dispatch(self);
    },
    [self](leave_atom, const std::string& node) {
      auto& st = self->state;
      auto placed = st.hosts.leave(node);
      std::vector<slot_id> mine;
      for (auto& [id, entry] : st.slots)
        if (entry.record.node == node)
          mine.push_back(id);
      for (auto& id : mine) {
        if (st.slots.at(id).record.state == slot_state::busy) {
          st.retiring.insert(id); // stops once its task ends (maybe_stop_retiring)
          st.idle.erase(std::remove(st.idle.begin(), st.idle.end(), id), st.idle.end());
        } else {
          stop_slot(self, id, "its node " + node + " is leaving");
        }
      }
      st.record_event(pool_event{now_ms(), "node_leaving", std::nullopt,
                                 "node " + node + " is leaving: " + std::to_string(mine.size())
                                   + " slots stop once idle"});
      if (placed > 0 && !st.draining)
        place_slots(self, placed, "replacing the slots of leaving node " + node);
      dispatch(self);
    },
    [self](scale_up_atom, std::uint64_t n) { return ask_scaler(self, scale_up_atom_v, n); },
    [self](scale_down_atom, std::uint64_t n, bool force) {
      return ask_scaler(self, scale_down_atom_v, n, force);
    },
    [self](set_target_atom, std::uint64_t n, bool force) {
      return ask_scaler(self, set_target_atom_v, n, force);
    },
    [self](retire_atom, std::uint64_t n, bool force) {
      auto& st = self->state;
      for (auto& slot : st.retirees(n)) {
        auto& entry = st.slots.at(slot);
        if (entry.record.state != slot_state::busy) {
          stop_slot(self, slot);
          continue;
        }
        st.retiring.insert(slot);
        st.record_event(pool_event{now_ms(), "slot_retiring", slot,
                                   force ? "scale-down: cancelling its task, then stopping"
                                         : "scale-down: stopping once its task ends"});
        if (force && entry.record.current_task)
          if (auto task = st.find(*entry.record.current_task))
            cancel_task(self, *task, "cancelled: its slot was removed by a forced scale-down");
      }
      dispatch(self);
    },
    [self](autoscale_atom) -> pool_load { return self->state.load(); },
    [self](event_atom, pool_event& ev) { self->state.record_event(std::move(ev)); },
    [self](slot_event_atom, const slot_record& rec, pool_event& ev) {
      self->state.update_slot(rec, std::move(ev));
      fail_unroutable(self);
      maybe_finish_drain(self);
    },
  };
}

} // namespace claude_pool
