#include "actors/pool_actor.hpp"

#include <chrono>

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

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

void dispatch(self_ptr self) {
  auto& st = self->state;
  auto now = now_ms();
  for (auto& a : st.route(now))
    self->send(st.slots[a.slot].handle, execute_atom_v, std::move(a.task));
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

void cancel_task(self_ptr self, task_record& task, const std::string& why) {
  auto& st = self->state;
  auto slot = st.cancel(task, why);
  if (slot) {
    // Running: the record says cancelled now; waiters hear once the process is gone.
    self->send(st.slots[*slot].handle, cancel_atom_v, task.id);
    return;
  }
  task_settled(self, task.id);
}

/// Queues a task; `waiter`, when given, hears when it ends (even if it fails at once).
task_id accept(self_ptr self, task_submission&& sub,
               std::optional<caf::typed_response_promise<task_record>> waiter = {}) {
  auto id = self->state.accept(std::move(sub));
  if (waiter)
    self->state.waiters[id].push_back(std::move(*waiter));
  fail_unroutable(self); // every slot errored: fail fast instead of waiting for the timeout
  dispatch(self);
  arm_expiry(self);
  return id;
}

void on_slot_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = st.slot_by_addr.find(dm.source);
  if (it == st.slot_by_addr.end())
    return;
  auto slot = it->second;
  st.slot_by_addr.erase(it);
  if (st.slots.count(slot) && st.slots[slot].handle.address() != dm.source)
    return; // an older incarnation; the slot was already restarted
  if (auto lost = st.slot_lost(slot, to_string(dm.reason), now_ms()))
    slot_released_task(self, lost->first, lost->second);
  dispatch(self);
  maybe_finish_drain(self);
}

} // namespace

pool_actor::behavior_type pool_behavior(self_ptr self, pool_config config,
                                        std::shared_ptr<task_executor> executor,
                                        std::vector<slot_config> slot_configs) {
  auto cfg = std::make_shared<const pool_config>(std::move(config));
  self->state.config = cfg;
  self->state.supervisor = self->spawn(supervisor_behavior, cfg, std::move(executor),
                                       pool_actor{self}, std::move(slot_configs));
  self->set_down_handler([self](const caf::down_msg& dm) { on_slot_down(self, dm); });
  return {
    [self](submit_atom, task_submission& sub) -> caf::result<task_id> {
      if (auto err = refusal(self, sub))
        return err;
      return accept(self, std::move(sub));
    },
    [self](run_atom, task_submission& sub) -> caf::result<task_record> {
      if (auto err = refusal(self, sub))
        return err;
      auto promise = self->make_response_promise<task_record>();
      accept(self, std::move(sub), promise);
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
    [self](status_atom) -> pool_status { return self->state.status(); },
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
      bool running = task->state == task_state::running;
      cancel_task(self, *task, "the task was cancelled by a client request");
      if (!running)
        return *task;
      auto promise = self->make_response_promise<task_record>();
      self->state.cancel_waiters[id].push_back(promise);
      return promise;
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
      auto what = self->state.complete(slot, id, std::move(result), now_ms());
      slot_released_task(self, id, what);
      dispatch(self);
      arm_expiry(self);
      maybe_finish_drain(self);
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
      self->state.add_slot(std::move(handle), std::move(rec));
      dispatch(self);
    },
    [self](slot_event_atom, const slot_record& rec, pool_event& ev) {
      self->state.update_slot(rec, std::move(ev));
      fail_unroutable(self);
      maybe_finish_drain(self);
    },
  };
}

} // namespace claude_pool
