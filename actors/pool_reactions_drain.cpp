// The pool's drain: no new tasks, then an answer once every task has ended, or a deadline that
// cancels what has not (see pool_reactions.hpp).
#include "actors/pool_reactions.hpp"

#include <chrono>

#include <caf/typed_event_based_actor.hpp>

namespace claude_pool::pool_reactions {

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

caf::result<drain_summary> drain(self_ptr self, std::uint64_t deadline_ms) {
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
}

void drain_deadline(self_ptr self) {
  // A drain deadline: cancel whatever has not finished.
  auto& st = self->state;
  if (!st.drain)
    return;
  st.drain->deadline_reached = true;
  for (auto& id : st.order) {
    auto it = st.tasks.find(id);
    if (it == st.tasks.end())
      continue; // ended, and left memory
    auto& task = it->second;
    if (task.state == task_state::pending || task.state == task_state::running) {
      ++st.drain->cancelled_at_deadline;
      cancel_task(self, task, "the pool's drain deadline passed before the task ended");
    }
  }
  maybe_finish_drain(self);
}

} // namespace claude_pool::pool_reactions
