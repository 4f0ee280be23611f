#include "actors/slot_actor.hpp"

#include <caf/send.hpp>

#include "runtime/worktrees/git_worktrees.hpp"
#include "supervision/failure_class.hpp"
#include <caf/typed_event_based_actor.hpp>

namespace claude_pool {

execution_request slot_actor_state::begin(const task_assignment& task) {
  record.state = slot_state::busy;
  record.current_task = task.id;
  running_task = task.id;
  current = task;
  execution_request req;
  req.task = task.id;
  req.slot = record.id;
  req.prompt = task.prompt;
  auto overrides = task.overrides ? &*task.overrides : nullptr;
  req.config = resolve_config(*deps.config, *record.config, overrides);
  setup_error.reset();
  if (deps.worktrees && !task.working_dir && !record.worktree_path) {
    try {
      record.worktree_path = deps.worktrees->acquire(record.id.value).path;
    } catch (const std::exception& e) {
      setup_error = std::string("the slot's worktree could not be created: ") + e.what();
    }
  }
  req.working_dir = task.working_dir ? task.working_dir : record.worktree_path.optional();
  // A session resumes only where it was created: the slot's own directory. A task that runs
  // elsewhere (a chain's worktree) starts fresh and leaves the slot's session alone.
  foreign_dir = task.working_dir.has_value();
  if (deps.config->slot_mode == slot_mode::persistent && !foreign_dir)
    req.resume_session = record.session_id;
  req.live_progress = task.live_progress;
  req.watch_cost = task.watch_cost;
  if (task.live_progress || task.watch_cost) {
    req.on_progress = [pool = deps.pool, id = task.id, slot = record.id](const task_progress& p) {
      caf::anon_send(pool, progress_atom_v, id, slot, p);
    };
  }
  resumed = req.resume_session.has_value();
  return req;
}

bool slot_actor_state::resume_missed(const task_result& result) const {
  return resumed && !result.success && result.cost_microdollars == 0 && result.stderr_text
         && result.stderr_text->find("No conversation found with session ID")
              != std::string::npos;
}

execution_request slot_actor_state::fresh_retry() {
  record.session_id.reset();
  auto task = *current;
  return begin(task); // begin() sees no session now, so it does not resume
}

task_id slot_actor_state::finish(const task_result& result) {
  auto done = running_task.value_or(task_id{});
  record.cost_microdollars += result.cost_microdollars;
  if (result.success)
    ++record.tasks_completed;
  // Only a successful task's session is worth continuing: a failed one may end in a
  // dangling prompt that would leak into the next task.
  if (result.success && result.session_id && !foreign_dir)
    record.session_id = result.session_id;
  record.state = slot_state::idle;
  record.current_task.reset();
  running_task.reset();
  execution.reset();
  current.reset();
  resumed = false;
  foreign_dir = false;
  return done;
}

namespace {

void start_execution(slot_actor::stateful_pointer<slot_actor_state> self, execution_request req) {
  auto& st = self->state;
  auto seq = ++st.run_sequence;
  slot_actor me = self;
  st.execution = st.deps.executor->start(std::move(req), [me, seq](task_result r) {
    caf::anon_send(me, exec_done_atom_v, seq, std::move(r));
  });
}

} // namespace

slot_actor::behavior_type slot_behavior(slot_actor::stateful_pointer<slot_actor_state> self,
                                        slot_record record, slot_deps deps) {
  self->state.record = std::move(record);
  self->state.deps = std::move(deps);
  // A slot lives no longer than its pool; a task still running is stopped with it.
  self->monitor(self->state.deps.pool);
  // Whatever ends this incarnation (scale-down, restart, shutdown), what the executor keeps
  // for the slot (a warm process) goes with it.
  self->attach_functor([exec = self->state.deps.executor, id = self->state.record.id] {
    exec->release_slot(id);
  });
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.deps.pool.address())
      return;
    if (st.execution)
      st.deps.executor->cancel(*st.execution);
    self->quit(dm.reason);
  });
  // Stopped from outside (a slot host going away, a retire): a task still running must not
  // leave its process behind.
  self->set_exit_handler([self](const caf::exit_msg& em) {
    auto& st = self->state;
    if (st.execution)
      st.deps.executor->cancel(*st.execution);
    self->quit(em.reason);
  });
  return {
    [self](execute_atom, const task_assignment& task) {
      auto& st = self->state;
      auto req = st.begin(task);
      if (st.setup_error) {
        self->send(self, exec_done_atom_v, ++st.run_sequence,
                   task_result::failure(*st.setup_error, "spawn_failed"));
        return;
      }
      start_execution(self, std::move(req));
    },
    [self](cancel_atom, const task_id& task) {
      auto& st = self->state;
      if (st.running_task == task && st.execution)
        st.deps.executor->cancel(*st.execution);
    },
    [self](exec_done_atom, std::uint64_t seq, task_result& result) {
      auto& st = self->state;
      if (seq != st.run_sequence || !st.running_task)
        return; // a stale callback from an execution this slot no longer tracks
      if (st.resume_missed(result)) {
        start_execution(self, st.fresh_retry());
        return;
      }
      auto failure = classify(result);
      auto why = result.output;
      auto task = st.finish(result);
      // A slot about to stop says so in its record, so the pool routes nothing more to it.
      if (restarts_slot(failure))
        st.record.state = slot_state::stopped;
      self->send(st.deps.pool, task_done_atom_v, st.record, task, std::move(result));
      // A crash or hang makes this slot suspect: stop, and let the supervisor decide about a
      // restart. A refused login leaves the slot as it is: the pool's breaker stops every
      // slot of the credential at once (actors/pool_state_limits.cpp).
      if (restarts_slot(failure))
        self->quit(caf::make_error(pool_errc::slot_unhealthy,
                                   std::string(to_string(failure)) + ": " + why));
    },
  };
}

} // namespace claude_pool
