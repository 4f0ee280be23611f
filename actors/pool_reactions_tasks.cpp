// The pool's reactions to tasks: submitting, waiting, cancelling, reviewing, a slot's result,
// routing them to slots, and expiry (see pool_reactions.hpp).
#include "actors/pool_reactions.hpp"

#include <utility>
#include <chrono>

#include <caf/typed_event_based_actor.hpp>

namespace claude_pool::pool_reactions {

namespace {

using outcome = pool_actor_state::outcome;

/// Why a submission is refused (draining, or the submission is invalid); none if accepted.
/// (A store that cannot write is found by the submission's own write: see accept.)
caf::error refusal(self_ptr self, const task_submission& sub) {
  auto problem = self->state.check(sub);
  if (problem.empty())
    return caf::none;
  return caf::make_error(self->state.draining ? pool_errc::draining : pool_errc::invalid_request,
                         problem);
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

/// Routed, but its execution waits for the budget's answer: no process exists yet.
bool awaiting_budget(self_ptr self, const task_id& id) {
  auto& grant = self->state.awaiting_grant;
  return grant && grant->task.id == id;
}

/// Admits a submission through the budget (when the pool has one), then `then(accepted)`;
/// a refusal goes to `promise`.
template <class T, class F>
void admit(self_ptr self, task_submission sub, caf::typed_response_promise<T> promise, F then) {
  auto want = wanted_allowance(sub.config);
  self->request(self->state.budget, caf::infinite, admit_atom_v, want, sub.tags)
    .then(
      [self, promise, sub, then](std::uint64_t) mutable {
        if (auto err = refusal(self, sub)) // e.g. a drain began meanwhile
          promise.deliver(err);
        else
          then(std::move(sub), promise);
      },
      [promise](caf::error& err) mutable { promise.deliver(err); });
}

/// Why a task just accepted is taken back: its record could not be written.
caf::error not_recorded(self_ptr self) {
  return caf::make_error(pool_errc::store_failed,
                         "cannot record the task, so it was not accepted: "
                           + self->state.store_failure.value_or("the store refused it"));
}

/// Queues a task; `waiter`, when given, hears when it ends (even if it fails at once). A
/// task whose record cannot be written is not kept and never runs: `store_failed` (each
/// submission tries its own write, so the pool takes work again once the disk has room).
caf::expected<task_id> accept(self_ptr self, task_submission&& sub,
                              std::optional<caf::typed_response_promise<task_record>> waiter = {}) {
  auto id = self->state.accept(std::move(sub));
  persist(self); // durable before the submitter hears its id
  if (self->state.store && self->state.unwritten(id)) {
    self->state.withdraw(id);
    auto why = not_recorded(self);
    if (waiter)
      waiter->deliver(why);
    return why;
  }
  if (waiter)
    self->state.waiters[id].push_back(std::move(*waiter));
  fail_unroutable(self); // every slot errored: fail fast instead of waiting for the timeout
  dispatch(self);
  arm_expiry(self);
  return id;
}

} // namespace

caf::error unknown(const task_id& id) {
  return caf::make_error(pool_errc::unknown_task, "no task with id " + id.value);
}

caf::expected<task_record> from_store(self_ptr self, const task_id& id) {
  try {
    if (auto rec = self->state.stored(id))
      return std::move(*rec);
  } catch (const std::exception& e) {
    return caf::make_error(pool_errc::store_failed, e.what());
  }
  return unknown(id);
}

caf::result<std::vector<task_record>> list(self_ptr self, const task_filter& filter) {
  try {
    if (auto page = self->state.list(filter))
      return std::move(*page);
  } catch (const std::exception& e) {
    return caf::make_error(pool_errc::store_failed, e.what());
  }
  return caf::make_error(pool_errc::unknown_task,
                         "task_filter.after: no task with id " + filter.after->value);
}

namespace {

/// The answer to a review of a task that ended and left memory.
caf::error review_of_stored(self_ptr self, const task_id& id) {
  auto rec = from_store(self, id);
  if (!rec)
    return rec.error();
  return caf::make_error(pool_errc::not_pending_review,
                         "task " + id.value + " is " + std::string(to_string(rec->state))
                           + ", not pending_review");
}

} // namespace

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
  // The breaker is open and says fail: waiting tasks end now rather than at the probe.
  for (auto& id : st.fail_parked(now))
    task_settled(self, id);
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
  // While a credential pauses or staggers its starts, a timer resumes routing when the
  // first of them may start again (a later one is re-armed then).
  auto at = st.queue.empty() ? std::nullopt : st.next_resume(now);
  if (at && (!st.resume_at || *at < *st.resume_at)) {
    st.resume_at = *at;
    self->delayed_send(self, std::chrono::milliseconds(*at - now + 1), resume_atom_v);
  }
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

/// The breaker just opened: the other running tasks' processes stop now (their slots report
/// them as usual, and complete() re-queues or fails them).
void stop_preempted(self_ptr self) {
  auto& st = self->state;
  for (auto& [slot, task] : std::exchange(st.to_preempt, {}))
    if (auto it = st.slots.find(slot); it != st.slots.end())
      self->send(it->second.handle, cancel_atom_v, task);
}

void fail_unroutable(self_ptr self) {
  for (auto& id : self->state.fail_if_unroutable())
    task_settled(self, id);
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

caf::result<task_id> submit(self_ptr self, task_submission& sub) {
  if (auto err = refusal(self, sub))
    return err;
  if (!self->state.budget) {
    auto id = accept(self, std::move(sub));
    if (!id)
      return id.error();
    return *id;
  }
  auto promise = self->make_response_promise<task_id>();
  admit(self, std::move(sub), promise, [self](task_submission&& s, auto& p) {
    auto id = accept(self, std::move(s));
    if (id)
      p.deliver(*id);
    else
      p.deliver(id.error());
  });
  return promise;
}

namespace {

void refuse(submit_answer& answer, const caf::error& err) {
  answer.error_code = err.code();
  answer.error = error_context(err).value_or("the submission was refused");
}

/// A batch whose submissions wait for the budget's word, one by one as `submit` would.
struct budgeted_batch {
  std::vector<submit_answer> answers;
  std::size_t outstanding = 0;
  caf::typed_response_promise<std::vector<submit_answer>> promise;

  void answered() {
    if (--outstanding == 0)
      promise.deliver(std::move(answers));
  }
};

caf::result<std::vector<submit_answer>>
submit_many_budgeted(self_ptr self, std::vector<task_submission>& subs) {
  auto batch = std::make_shared<budgeted_batch>();
  batch->answers.resize(subs.size());
  batch->outstanding = subs.size() + 1; // + 1: this function's own part, answered last
  batch->promise = self->make_response_promise<std::vector<submit_answer>>();
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (auto err = refusal(self, subs[i])) {
      refuse(batch->answers[i], err);
      batch->answered();
      continue;
    }
    auto want = wanted_allowance(subs[i].config);
    self->request(self->state.budget, caf::infinite, admit_atom_v, want, subs[i].tags)
      .then(
        [self, batch, i, sub = std::move(subs[i])](std::uint64_t) mutable {
          auto& answer = batch->answers[i];
          if (auto err = refusal(self, sub)) { // e.g. a drain began meanwhile
            refuse(answer, err);
          } else if (auto id = accept(self, std::move(sub))) {
            answer.id = std::move(*id);
          } else {
            refuse(answer, id.error());
          }
          batch->answered();
        },
        [batch, i](caf::error& err) {
          refuse(batch->answers[i], err);
          batch->answered();
        });
  }
  auto promise = batch->promise;
  batch->answered();
  return promise;
}

} // namespace

caf::result<std::vector<submit_answer>> submit_many(self_ptr self,
                                                     std::vector<task_submission>& subs) {
  if (self->state.budget)
    return submit_many_budgeted(self, subs);
  auto& st = self->state;
  std::vector<submit_answer> answers(subs.size());
  for (std::size_t i = 0; i < subs.size(); ++i) {
    if (auto err = refusal(self, subs[i]))
      refuse(answers[i], err);
    else
      answers[i].id = st.accept(std::move(subs[i]));
  }
  persist(self); // one write for the batch, durable before the submitter hears the ids
  // This batch's tasks whose record could not be written are taken back (not other tasks'
  // changes that wait for the next write: those stay).
  if (auto unwritten = st.store ? st.unwritten() : std::set<task_id>{}; !unwritten.empty()) {
    std::set<task_id> lost;
    for (auto& answer : answers)
      if (answer.id && unwritten.count(*answer.id)) {
        lost.insert(*answer.id);
        answer.id.reset();
        refuse(answer, not_recorded(self));
      }
    st.withdraw(lost);
  }
  fail_unroutable(self);
  dispatch(self);
  arm_expiry(self);
  return answers;
}

caf::result<task_record> run(self_ptr self, task_submission& sub) {
  if (auto err = refusal(self, sub))
    return err;
  auto promise = self->make_response_promise<task_record>();
  if (!self->state.budget)
    accept(self, std::move(sub), promise);
  else
    admit(self, std::move(sub), promise,
          [self](task_submission&& s, auto& p) { accept(self, std::move(s), p); });
  return promise;
}

caf::result<task_record> wait_for(self_ptr self, const task_id& id) {
  auto task = self->state.find(id);
  if (!task) {
    auto rec = from_store(self, id); // only ended ones leave memory
    if (!rec)
      return rec.error();
    return std::move(*rec);
  }
  if (is_terminal(task->state) || task->state == task_state::pending_review)
    return *task;
  auto promise = self->make_response_promise<task_record>();
  self->state.waiters[id].push_back(promise);
  return promise;
}

caf::result<task_record> approve(self_ptr self, const task_id& id) {
  auto task = self->state.find(id);
  if (!task)
    return review_of_stored(self, id);
  if (auto why = self->state.approve(*task); !why.empty())
    return caf::make_error(pool_errc::not_pending_review, why);
  maybe_finish_drain(self);
  return *task;
}

caf::result<task_record> reject(self_ptr self, const task_id& id,
                                const std::string& feedback) {
  auto& st = self->state;
  auto task = st.find(id);
  if (!task)
    return review_of_stored(self, id);
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
}

caf::result<task_record> cancel(self_ptr self, const task_id& id) {
  auto task = self->state.find(id);
  if (!task) {
    auto rec = from_store(self, id);
    if (!rec)
      return rec.error();
    return caf::make_error(pool_errc::already_finished,
                           "task " + id.value + " already ended as "
                             + std::string(to_string(rec->state)));
  }
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
}

void on_task_done(self_ptr self, const slot_record& slot, const task_id& id,
                  task_result& result) {
  remember_session(self, slot);
  settle_execution(self, id, result.cost_microdollars);
  auto what = self->state.complete(slot, id, std::move(result), now_ms());
  stop_preempted(self);
  maybe_stop_retiring(self, slot.id);
  slot_released_task(self, id, what);
  dispatch(self);
  arm_expiry(self);
  maybe_finish_drain(self);
}

void on_expiry(self_ptr self) {
  auto& st = self->state;
  st.expiry_armed = false;
  for (auto& id : st.expire(now_ms()))
    task_settled(self, id);
  arm_expiry(self);
}

} // namespace claude_pool::pool_reactions
