// The pool's task lifecycle, free of messaging: accepting, routing, completing, reviewing,
// cancelling and expiring tasks (see pool_actor.hpp). Slots, the store and reports have
// files of their own (pool_state_slots.cpp, pool_state_store.cpp, pool_state_report.cpp).
#include "actors/pool_actor.hpp"

#include <algorithm>

#include "actors/limit_policy.hpp"
#include "actors/pool_task_transitions.hpp"
#include "messages/utf8.hpp"

namespace claude_pool {

using namespace pool_task_transitions;

namespace {

constexpr std::size_t max_prompt_bytes = 64u << 20;
constexpr std::uint32_t max_attempts_limit = 10;

std::uint64_t assignment_timeout_ms(const pool_config& cfg) {
  return cfg.slot_assignment_timeout_secs * 1000;
}

} // namespace

std::string pool_actor_state::check(const task_submission& sub) const {
  if (draining)
    return "the pool is draining and accepts no new tasks";
  if (sub.prompt.empty())
    return "task_submission.prompt: must not be empty";
  if (sub.prompt.size() > max_prompt_bytes)
    return "task_submission.prompt: " + std::to_string(sub.prompt.size())
           + " bytes is more than the limit of " + std::to_string(max_prompt_bytes);
  if (auto bad = first_invalid_utf8(sub.prompt))
    return "task_submission.prompt: not valid UTF-8 (first bad byte at offset "
           + std::to_string(*bad) + ")";
  if (sub.max_attempts == 0 || sub.max_attempts > max_attempts_limit)
    return "task_submission.max_attempts: must be between 1 and "
           + std::to_string(max_attempts_limit);
  if (sub.config)
    if (auto problem = validate(*sub.config); !problem.empty())
      return "task_submission.config." + problem;
  return {};
}

task_id pool_actor_state::accept(task_submission sub) {
  auto rec = task_record::new_pending(make_task_id(), std::move(sub.prompt));
  rec.tags = std::move(sub.tags);
  rec.config = std::move(sub.config);
  rec.max_attempts = sub.max_attempts;
  rec.review_required = sub.review_required;
  rec.max_rejections = sub.max_rejections;
  rec.live_progress = sub.live_progress;
  rec.working_dir = std::move(sub.working_dir);
  auto id = rec.id;
  touched_new(id);
  queue.push_back(queued_task{id, rec.created_at_ms.value_or(now_ms())});
  tasks.emplace(id, std::move(rec));
  order.push_back(id);
  return id;
}

std::vector<assignment> pool_actor_state::route(std::uint64_t now, std::size_t limit) {
  std::vector<assignment> out;
  bool was_paused = paused(now);
  for (auto& [key, c] : credentials) {
    if (c.cooldown_until && *c.cooldown_until <= now) {
      c.cooldown_until.reset();
      c.cooldown_reason.reset();
    }
    // A probe that ended without an answer about the login (its slot was lost, it was
    // cancelled): the next task probes.
    if (c.auth.probe) {
      auto it = tasks.find(*c.auth.probe);
      if (it == tasks.end() || it->second.state != task_state::running)
        c.auth.probe.reset();
    }
  }
  if (was_paused && !paused(now))
    // The pause is over: the queued tasks' slot_assignment_timeout starts again from now,
    // since no slot could take them while the pool waited.
    for (auto& q : queue)
      q.since = std::max(q.since, now);
  if (idle.empty() || queue.empty())
    return out;
  // Busy slots by credential, for max_concurrent: counted only when a credential has a cap
  // (this pass runs for every task placed and must not walk the slots otherwise).
  bool capped = std::any_of(config->credentials.begin(), config->credentials.end(),
                            [](const credential_profile& c) { return c.max_concurrent.has_value(); });
  std::map<std::string, std::uint64_t> running;
  if (capped)
    for (auto& [id, entry] : slots)
      if (entry.record.state == slot_state::busy)
        ++running[entry.credential];
  // Most recently idle first; a slot whose credential may not start now is passed over.
  for (auto i = idle.size(); i-- > 0 && !queue.empty() && out.size() < limit;) {
    auto slot = idle[i];
    auto& entry = slots[slot];
    auto& cred = credential_named(entry.credential);
    if (!cred.may_start(capped ? running[entry.credential] : 0, now))
      continue;
    std::optional<task_id> next;
    while (!queue.empty() && !next) {
      auto id = queue.front().id;
      queue.pop_front();
      auto it = tasks.find(id);
      if (it != tasks.end() && it->second.state == task_state::pending)
        next = id; // else cancelled or expired while queued
    }
    if (!next)
      break;
    idle.erase(idle.begin() + static_cast<std::ptrdiff_t>(i));
    auto& task = tasks.at(*next);
    touched(task.id); // before the change: the counts see pending → running
    task.slot_id = slot;
    task.transition_to(task_state::running);
    task.waiting_until_ms.reset();
    task.wait_reason.reset();
    if (cred.auth.open)
      cred.auth.probe = task.id; // the probe, alone: held until it answers
    cred.last_start_ms = now;
    if (capped)
      ++running[entry.credential];
    entry.record.state = slot_state::busy;
    entry.record.current_task = task.id;
    if (task.live_progress)
      task.progress = task_progress{}; // a fresh execution starts from nothing
    out.push_back(assignment{slot, task_assignment{task.id, task.prompt, task.config.optional(),
                                                   task.live_progress, task.working_dir}});
  }
  return out;
}

void pool_actor_state::unroute(const assignment& a, std::uint64_t now) {
  auto& task = tasks.at(a.task.id);
  touched(task.id);
  task.state = task_state::pending;
  task.slot_id.reset();
  task.started_at_ms.reset();
  queue.push_front(queued_task{task.id, task.created_at_ms.value_or(now)});
  free_slot(a.slot, now);
}

bool pool_actor_state::still_assigned(const assignment& a) const {
  auto t = tasks.find(a.task.id);
  auto s = slots.find(a.slot);
  return t != tasks.end() && s != slots.end() && t->second.state == task_state::running
         && t->second.slot_id == a.slot && s->second.record.current_task == a.task.id;
}

namespace pool_task_transitions {

void requeue(pool_actor_state& st, task_record& task, std::uint64_t now) {
  st.touched(task.id);
  task.state = task_state::pending;
  task.slot_id.reset();
  st.queue.push_front(pool_actor_state::queued_task{task.id, now});
}

void fail_task(pool_actor_state& st, task_record& task, task_result result) {
  st.touched(task.id);
  task.result = std::move(result);
  task.transition_to(task_state::failed);
  ++st.failed_count;
}

std::vector<task_id> fail_queued(pool_actor_state& st, const std::string& why,
                                 const std::string& subtype) {
  std::vector<task_id> out;
  for (auto& q : st.queue) {
    auto& id = q.id;
    auto it = st.tasks.find(id);
    if (it == st.tasks.end() || it->second.state != task_state::pending)
      continue;
    fail_task(st, it->second, task_result::failure(why, subtype));
    out.push_back(id);
  }
  st.queue.clear();
  return out;
}

pool_actor_state::outcome settle_failure(pool_actor_state& st, task_record& task,
                                         task_result result, std::uint64_t now) {
  using outcome = pool_actor_state::outcome;
  auto cls = classify(result);
  if (auth_refused(result))
    return settle_auth_failure(st, task, std::move(result), now);
  if (cls == failure_class::rate_limited)
    return settle_limit(st, task, std::move(result), now);
  task.waiting_since_ms.reset();
  auto used = static_cast<std::uint32_t>(task.attempts.size()) + 1;
  if (retryable(cls) && used < task.max_attempts) {
    task.attempts.push_back(attempt_record{used, task.slot_id, result.subtype.value_or(""),
                                           result.output, result.cost_microdollars, now});
    requeue(st, task, now);
    return outcome::requeued;
  }
  if (!task.attempts.empty())
    result.output = "attempt " + std::to_string(used) + " of " + std::to_string(task.max_attempts)
                    + " failed (earlier attempts in `attempts`): " + result.output;
  fail_task(st, task, std::move(result));
  return outcome::settled;
}

} // namespace pool_task_transitions

void pool_actor_state::refuse(const assignment& a, const std::string& code,
                              const std::string& why, std::uint64_t now) {
  unroute(a, now);
  queue.pop_front(); // unroute put it first
  fail_task(*this, tasks.at(a.task.id), task_result::failure(why, code));
}

void pool_actor_state::progress(const task_id& id, const slot_id& from, task_progress report) {
  auto it = tasks.find(id);
  if (it == tasks.end() || it->second.state != task_state::running || it->second.slot_id != from
      || !it->second.progress)
    return;
  it->second.progress = std::move(report);
  if (on_task_progress)
    on_task_progress(id, *it->second.progress);
}

pool_actor_state::outcome pool_actor_state::complete(const slot_record& slot, const task_id& id,
                                                     task_result result, std::uint64_t now) {
  if (auto s = slots.find(slot.id); s != slots.end()) {
    s->second.record = slot;
    s->second.record.tasks_completed += s->second.earlier_tasks;
    s->second.record.cost_microdollars += s->second.earlier_cost_microdollars;
    last_used[slot.id] = now;
    if (slot.state == slot_state::idle && !retiring.count(slot.id)) {
      idle.push_back(slot.id);
      idle_since[slot.id] = now;
    }
  }
  auto it = tasks.find(id);
  if (it == tasks.end())
    return outcome::ignored;
  auto& task = it->second;
  touched(id);
  if (task.progress) {
    // The last progress report may arrive after this (it takes another path): the result's
    // figures are the final ones.
    task.progress->cost_microdollars = result.cost_microdollars;
    task.progress->cost_is_final = true;
    task.progress->turns = std::max(task.progress->turns, result.turns_used);
    task.progress->updated_at_ms = now;
  }
  if (task.state == task_state::cancelled) {
    // The cancel already decided this task's state and why; add what the run cost.
    if (!task.result)
      task.result = task_result::failure("the task was cancelled", "cancelled");
    task.result->cost_microdollars = result.cost_microdollars;
    task.result->elapsed_ms = result.elapsed_ms;
    task.result->session_id = result.session_id;
    task.result->model = result.model;
    task.result->exit_code = result.exit_code;
    return outcome::ignored;
  }
  if (is_terminal(task.state))
    return outcome::ignored;
  if (auto& cred = credential_named(credential_key(slot));
      cred.auth.probe == id && !auth_refused(result))
    close_auth(*this, slot.id, result, now);
  note_usage_warning(*this, result, slot.id, now);
  if (preempted.erase(id) && !result.success)
    return settle_preempted(*this, task, std::move(result), now);
  if (auto stop = budget_stops.find(id); stop != budget_stops.end() && !result.success) {
    // Stopped by the pool because the budget could not hold another turn of it.
    result.output = stop->second;
    result.subtype = "budget_exhausted";
    budget_stops.erase(stop);
    task.waiting_since_ms.reset();
    fail_task(*this, task, std::move(result));
    return outcome::settled;
  }
  if (result.success) {
    credential_named(credential_key(slot)).consecutive_rate_limits = 0;
    task.waiting_since_ms.reset();
    task.result = std::move(result);
    if (task.review_required) {
      task.transition_to(task_state::pending_review); // a person decides
      return outcome::settled;
    }
    task.transition_to(task_state::completed);
    ++completed_count;
    return outcome::settled;
  }
  return settle_failure(*this, task, std::move(result), now);
}

namespace {

std::string not_in_review(const task_record& task) {
  return "task " + task.id.value + " is " + std::string(to_string(task.state))
         + ", not pending_review";
}

} // namespace

std::string pool_actor_state::approve(task_record& task) {
  if (task.state != task_state::pending_review)
    return not_in_review(task);
  touched(task.id);
  task.transition_to(task_state::completed);
  ++completed_count;
  return {};
}

std::string pool_actor_state::reject(task_record& task, const std::string& feedback,
                                     std::uint64_t now) {
  if (task.state != task_state::pending_review)
    return not_in_review(task);
  touched(task.id);
  ++task.rejection_count;
  if (!task.original_prompt)
    task.original_prompt = task.prompt;
  if (task.rejection_count >= task.max_rejections) {
    fail_task(*this, task,
              task_result::failure("rejected " + std::to_string(task.rejection_count)
                                     + " times (max_rejections); last feedback: " + feedback,
                                   "rejected"));
    return {};
  }
  task.prompt = *task.original_prompt + "\n\nA reviewer rejected the previous answer:\n"
                + feedback;
  task.result.reset();
  task.started_at_ms.reset();
  task.completed_at_ms.reset();
  requeue(*this, task, now);
  auto entry = queue.front();
  queue.pop_front(); // behind everything already waiting: it is new work
  queue.push_back(entry);
  return {};
}

std::optional<slot_id> pool_actor_state::cancel(task_record& task, const std::string& why) {
  auto was = task.state;
  touched(task.id);
  task.result = task_result::failure(why, "cancelled");
  task.transition_to(task_state::cancelled);
  if (was == task_state::running && task.slot_id)
    return task.slot_id;
  return std::nullopt;
}

std::vector<task_id> pool_actor_state::expire(std::uint64_t now) {
  std::vector<task_id> out;
  if (paused(now) || all_refused())
    return out; // the slots are free, the pool waits: no slot_assignment_timeout
  auto limit = assignment_timeout_ms(*config);
  // Re-queued tasks sit at the front with a later queue time, so look at every entry.
  std::deque<queued_task> kept;
  for (auto& q : queue) {
    auto& id = q.id;
    auto it = tasks.find(id);
    if (it == tasks.end() || it->second.state != task_state::pending)
      continue;
    if (q.since + limit > now) {
      kept.push_back(q);
      continue;
    }
    fail_task(*this, it->second,
              task_result::failure("no slot became free within slot_assignment_timeout_secs ("
                                     + std::to_string(config->slot_assignment_timeout_secs)
                                     + " s); the task never ran",
                                   "slot_assignment_timeout"));
    out.push_back(id);
  }
  queue.swap(kept);
  return out;
}

std::optional<std::uint64_t> pool_actor_state::next_expiry() const {
  std::optional<std::uint64_t> first;
  if (all_refused())
    return first; // the probe's answer decides, and re-arms
  auto now = now_ms();
  if (paused(now)) // checked again when the pause ends
    return next_resume(now).value_or(now) + assignment_timeout_ms(*config);
  for (auto& q : queue) {
    auto it = tasks.find(q.id);
    if (it == tasks.end() || it->second.state != task_state::pending)
      continue;
    auto when = q.since + assignment_timeout_ms(*config);
    if (!first || when < *first)
      first = when;
  }
  return first;
}

bool pool_actor_state::quiescent() const {
  for (auto& [id, entry] : slots)
    if (entry.record.state == slot_state::busy)
      return false;
  for (auto& q : queue) {
    auto it = tasks.find(q.id);
    if (it != tasks.end() && it->second.state == task_state::pending)
      return false;
  }
  return true;
}

task_record* pool_actor_state::find(const task_id& id) {
  auto it = tasks.find(id);
  return it == tasks.end() ? nullptr : &it->second;
}

} // namespace claude_pool
