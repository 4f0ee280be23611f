#include "actors/chain_actor.hpp"

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>

#include "actors/chain_steps.hpp"
#include "runtime/store/task_store.hpp"
#include "runtime/worktrees/git_worktrees.hpp"

namespace claude_pool {

std::string chain_actor_state::next_prompt(const std::optional<std::string>& error) const {
  auto& s = def.steps[step];
  template_context ctx;
  if (step > 0)
    ctx.previous_output = record.steps[step - 1].output.value_or("");
  ctx.steps = &record.steps;
  if (in_recovery) {
    ctx.error = error.value_or("");
    return render_template(*s.failure_policy.recovery_prompt, ctx);
  }
  return render_template(s.prompt, ctx);
}

task_submission chain_actor_state::submission(std::string prompt) const {
  auto& s = def.steps[step];
  task_submission sub;
  sub.prompt = std::move(prompt);
  sub.tags = def.tags;
  sub.tags.push_back("chain:" + record.id.value);
  sub.tags.push_back("step:" + s.name);
  sub.config = s.config;
  sub.live_progress = def.live_progress;
  sub.working_dir = working_dir;
  return sub;
}

void chain_actor_state::skip_rest(std::size_t from, const std::string& why) {
  for (auto i = from; i < record.steps.size(); ++i) {
    auto& s = record.steps[i];
    if (s.state == step_state::pending) {
      s.state = step_state::skipped;
      s.error = why;
    }
  }
}

namespace {

using self_ptr = chain_actor::stateful_pointer<chain_actor_state>;

void start_run(self_ptr self, const std::optional<std::string>& error);
void task_ended(self_ptr self, task_record& task);
void follow(self_ptr self, const task_id& id);

/// Writes the chain's progress to the store (durable chains). A failed write shows in the
/// record's `error` while the chain runs and is tried again at the next step; a pool that
/// stopped leaves the stored chain running, for the next pool on the store to resume.
void save(self_ptr self) {
  auto& st = self->state;
  if (!st.deps.store || st.pool_gone)
    return;
  static const std::string prefix = "progress not saved: ";
  try {
    st.deps.store->put_chain(st.def, st.record);
    if (st.record.error && st.record.error->rfind(prefix, 0) == 0)
      st.record.error.reset();
  } catch (const std::exception& e) {
    if (!is_terminal(st.record.state))
      st.record.error = prefix + e.what();
  }
}

/// Asks the pool to cancel the step's task; the step's pending wait reports the outcome.
void cancel_task(self_ptr self, const task_id& id) {
  self->request(self->state.deps.pool, caf::infinite, cancel_atom_v, id)
    .then([](task_record&) {}, [](caf::error&) {}); // already ended: the wait has it
}

/// Gives the worktree back (removed, or kept with its branch when the chain committed).
void release_worktree(chain_actor_state& st) {
  if (st.held_worktree->empty() || !st.deps.worktrees)
    return;
  chain_worktree wt;
  try {
    auto r = st.deps.worktrees->release(*st.held_worktree);
    wt = chain_worktree{r.path,        r.branch,        r.worktree_removed,
                        r.branch_kept, r.commits_ahead, r.note};
  } catch (const std::exception& e) {
    wt.path = st.working_dir.value_or("");
    wt.note = std::string("the worktree could not be released (kept): ") + e.what();
  }
  st.record.worktree = std::move(wt);
  st.held_worktree->clear();
}

void finish(self_ptr self, chain_state state, std::optional<std::string> error) {
  auto& st = self->state;
  auto& rec = st.record;
  rec.state = state;
  rec.error = std::move(error);
  rec.current_step.reset();
  rec.live.reset();
  if (state == chain_state::completed && !rec.steps.empty())
    rec.final_output = rec.steps.back().output;
  release_worktree(st);
  rec.completed_at_ms = now_ms();
  save(self);
  for (auto& w : st.waiters)
    w.deliver(rec);
  st.waiters.clear();
}

void step_cancelled(self_ptr self) {
  auto& st = self->state;
  auto& s = st.record.steps[st.step];
  s.state = step_state::cancelled;
  s.error = "the chain was cancelled";
  st.skip_rest(st.step + 1, "the chain was cancelled");
  finish(self, chain_state::cancelled, "cancelled while step \"" + s.name + "\" ran");
}

/// The current step failed for `why`: retry, recover, or end the chain.
void step_failed(self_ptr self, const std::string& why, bool may_retry) {
  auto& st = self->state;
  auto& policy = st.def.steps[st.step].failure_policy;
  auto& s = st.record.steps[st.step];
  if (may_retry && !st.in_recovery) {
    ++st.failed_runs;
    if (st.failed_runs <= policy.retries) {
      start_run(self, std::nullopt);
      return;
    }
    if (policy.recovery_prompt) {
      st.in_recovery = true;
      start_run(self, why);
      return;
    }
  }
  s.state = step_state::failed;
  s.error = st.in_recovery ? "the recovery prompt failed too: " + why : why;
  st.skip_rest(st.step + 1, "step \"" + s.name + "\" failed");
  finish(self, chain_state::failed, "step \"" + s.name + "\" failed: " + *s.error);
}

void next_step(self_ptr self) {
  auto& st = self->state;
  if (++st.step == st.def.steps.size()) {
    finish(self, chain_state::completed, std::nullopt);
    return;
  }
  st.failed_runs = 0;
  st.in_recovery = false;
  start_run(self, std::nullopt);
}

void task_ended(self_ptr self, task_record& task) {
  auto& st = self->state;
  st.running.reset();
  auto& s = st.record.steps[st.step];
  auto cost = task.result ? task.result->cost_microdollars : 0;
  s.cost_microdollars += cost;
  st.record.cost_microdollars += cost;
  if (st.cancelling) {
    step_cancelled(self);
    return;
  }
  if (task.state == task_state::cancelled) {
    // Someone cancelled the step's task itself: that stops the chain, it is not a failure
    // a retry should paper over.
    s.state = step_state::cancelled;
    s.error = "its task " + task.id.value + " was cancelled";
    st.skip_rest(st.step + 1, "step \"" + s.name + "\" was cancelled");
    finish(self, chain_state::cancelled, "step \"" + s.name + "\": " + *s.error);
    return;
  }
  if (task.state != task_state::completed || !task.result) {
    auto why = task.result ? task.result->output : "the task ended " + std::string(to_string(task.state));
    step_failed(self, why, true);
    return;
  }
  s.output = task.result->output;
  s.vars.clear();
  if (auto bad = take_output_vars(st.def.steps[st.step], *task.result, s.vars); !bad.empty()) {
    step_failed(self, bad, true);
    return;
  }
  s.state = step_state::completed;
  s.recovered = st.in_recovery;
  s.error.reset();
  ++st.record.completed_steps;
  next_step(self);
}

/// True when `err` says the pool itself is gone (it stopped with the request pending): not
/// the step's failure. The chain stays stored as it is (running), for the next pool on the
/// store to resume; the down message that follows ends this actor's part.
bool pool_went_away(self_ptr self, const caf::error& err) {
  if (err != caf::sec::request_receiver_down)
    return false;
  self->state.pool_gone = true;
  return true;
}

void start_run(self_ptr self, const std::optional<std::string>& error) {
  auto& st = self->state;
  auto& s = st.record.steps[st.step];
  s.state = step_state::running;
  st.record.current_step = s.name;
  st.record.live.reset();
  auto prompt = st.next_prompt(error);
  s.prompt = prompt;
  ++s.runs; // before the submission is saved: more runs than task ids = one in flight
  save(self);
  st.submitting = true;
  self->request(st.deps.pool, caf::infinite, submit_atom_v, st.submission(std::move(prompt)))
    .then(
      [self](task_id& id) {
        auto& st = self->state;
        st.submitting = false;
        st.running = id;
        st.record.steps[st.step].task_ids.push_back(id);
        save(self);
        if (st.cancelling)
          cancel_task(self, id); // the wait then answers with the cancelled task
        follow(self, id);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.submitting = false;
        if (pool_went_away(self, err))
          return;
        if (st.cancelling) {
          step_cancelled(self);
          return;
        }
        // Refused (draining, budget, invalid config): running it again would not help.
        step_failed(self, "the pool refused the step's task: "
                            + error_context(err).value_or(to_string(err)),
                    false);
      });
}

/// Follows a task of the current step to its end (it may have ended already).
void follow(self_ptr self, const task_id& id) {
  auto& st = self->state;
  st.running = id;
  self->request(st.deps.pool, caf::infinite, wait_atom_v, id)
    .then([self](task_record& task) { task_ended(self, task); },
          [self](caf::error& err) {
            self->state.running.reset();
            if (pool_went_away(self, err))
              return;
            step_failed(self, "the pool did not answer for the step's task: "
                                + error_context(err).value_or(to_string(err)),
                        false);
          });
}

/// Resuming: the step's latest task as the new pool has it. Completed (the old pool finished
/// it but the chain had not noted it): its output stands, the step is not run again.
/// Interrupted (its process died with the old pool): the step runs again. Still queued:
/// followed. Unknown to the pool: run again.
void take_over(self_ptr self, const task_id& id) {
  self->request(self->state.deps.pool, caf::infinite, result_atom_v, id)
    .then(
      [self](task_record& task) {
        bool interrupted = task.state == task_state::failed && task.result
                           && task.result->subtype == std::optional<std::string>("interrupted");
        if (interrupted) {
          start_run(self, std::nullopt);
          return;
        }
        if (is_terminal(task.state) || task.state == task_state::pending_review) {
          task_ended(self, task);
          return;
        }
        follow(self, task.id);
      },
      [self](caf::error&) { start_run(self, std::nullopt); });
}

/// Resuming a step whose submission was in flight when the old pool stopped: the pool may
/// have accepted it (its tags name the chain and the step) without the chain hearing the id.
void find_in_flight(self_ptr self) {
  auto& st = self->state;
  task_filter f;
  f.tags = std::vector<std::string>{"chain:" + st.record.id.value};
  self->request(st.deps.pool, caf::infinite, list_atom_v, f)
    .then(
      [self](std::vector<task_record>& tasks) {
        auto& st = self->state;
        auto& s = st.record.steps[st.step];
        auto step_tag = "step:" + s.name;
        std::optional<task_id> found;
        for (auto& t : tasks)
          if (std::find(t.tags.begin(), t.tags.end(), step_tag) != t.tags.end()
              && std::find(s.task_ids.begin(), s.task_ids.end(), t.id) == s.task_ids.end())
            found = t.id;
        if (!found) {
          --s.runs; // it never reached the pool
          start_run(self, std::nullopt);
          return;
        }
        s.task_ids.push_back(*found);
        save(self);
        take_over(self, *found);
      },
      [self](caf::error&) {
        --self->state.record.steps[self->state.step].runs;
        start_run(self, std::nullopt);
      });
}

/// A chain from the store goes on from its first step that did not complete.
void resume(self_ptr self) {
  auto& st = self->state;
  st.step = 0;
  while (st.step < st.record.steps.size()
         && st.record.steps[st.step].state == step_state::completed)
    ++st.step;
  if (st.step == st.record.steps.size()) {
    finish(self, chain_state::completed, std::nullopt);
    return;
  }
  if (st.record.worktree) {
    st.skip_rest(st.step, "the chain's worktree belonged to the pool that stopped");
    finish(self, chain_state::failed,
           "not resumed: it ran in a worktree of the pool that stopped (" + st.record.worktree->path
             + "); start it again");
    return;
  }
  auto& s = st.record.steps[st.step];
  if (s.state != step_state::running) {
    start_run(self, std::nullopt);
    return;
  }
  if (s.runs > s.task_ids.size()) {
    find_in_flight(self);
    return;
  }
  if (s.task_ids.empty()) {
    start_run(self, std::nullopt);
    return;
  }
  take_over(self, s.task_ids.back());
}

} // namespace

chain_actor::behavior_type chain_behavior(chain_actor::stateful_pointer<chain_actor_state> self,
                                          chain_id id, chain_definition def, chain_deps deps) {
  auto& st = self->state;
  st.def = std::move(def);
  st.deps = std::move(deps);
  st.record.id = std::move(id);
  st.record.created_at_ms = now_ms();
  for (auto& s : st.def.steps)
    st.record.steps.push_back(chain_step_result{s.name, step_state::pending, {}, {}, {}, {},
                                                0, 0, false, {}});
  bool resuming = st.deps.resume.has_value();
  if (resuming) {
    st.record = std::move(*st.deps.resume);
    st.deps.resume.reset();
    st.record.live.reset();
  }
  // Whatever ends the actor (its registry or the pool stopping), a worktree still held is
  // given back: removed when clean, kept (with its branch) when it holds work.
  self->attach_functor([held = st.held_worktree, wt = st.deps.worktrees] {
    if (wt && !held->empty()) {
      try {
        wt->release(*held);
      } catch (...) {
      }
    }
  });
  self->monitor(st.deps.pool);
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.deps.pool.address() && !is_terminal(st.record.state)) {
      st.pool_gone = true; // stored as running: the next pool on the store resumes it
      if (st.step < st.record.steps.size()) {
        auto& s = st.record.steps[st.step];
        s.state = step_state::failed;
        s.error = "the pool stopped";
        st.skip_rest(st.step + 1, "the pool stopped");
      }
      finish(self, chain_state::failed, "the pool stopped while the chain ran");
    }
  });
  if (resuming) {
    resume(self);
  } else if (st.deps.worktrees) {
    auto name = "chain-" + st.record.id.value.substr(st.record.id.value.rfind('-') + 1);
    try {
      auto wt = st.deps.worktrees->acquire(name);
      *st.held_worktree = name;
      st.working_dir = wt.path;
      st.record.worktree = chain_worktree{wt.path, wt.branch, false, false, 0, "in use"};
    } catch (const std::exception& e) {
      st.skip_rest(0, "the chain's worktree could not be created");
      finish(self, chain_state::failed, std::string("worktree: ") + e.what());
    }
  }
  if (!resuming && !is_terminal(st.record.state))
    start_run(self, std::nullopt);
  return {
    [self](status_atom) -> caf::result<chain_record> {
      auto& st = self->state;
      if (!st.running || !st.def.live_progress || is_terminal(st.record.state))
        return st.record;
      auto rp = self->make_response_promise<chain_record>();
      self->request(st.deps.pool, caf::infinite, result_atom_v, *st.running)
        .then(
          [self, rp](task_record& task) mutable {
            auto rec = self->state.record;
            if (!is_terminal(rec.state))
              rec.live = task.progress;
            rp.deliver(std::move(rec));
          },
          [self, rp](caf::error&) mutable { rp.deliver(self->state.record); });
      return rp;
    },
    [self](wait_atom) -> caf::result<chain_record> {
      auto& st = self->state;
      if (is_terminal(st.record.state))
        return st.record;
      auto rp = self->make_response_promise<chain_record>();
      st.waiters.push_back(rp);
      return rp;
    },
    [self](cancel_atom) -> caf::result<chain_record> {
      auto& st = self->state;
      if (is_terminal(st.record.state))
        return st.record;
      auto rp = self->make_response_promise<chain_record>();
      st.waiters.push_back(rp);
      if (!st.cancelling) {
        st.cancelling = true;
        // The step's wait then answers with the cancelled task, which ends the chain; a
        // submission still in flight is cancelled as soon as its id arrives.
        if (st.running)
          cancel_task(self, *st.running);
      }
      return rp;
    },
  };
}

} // namespace claude_pool
