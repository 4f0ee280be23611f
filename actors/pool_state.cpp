// The pool's logic, free of messaging: see pool_actor.hpp.
#include "actors/pool_actor.hpp"

#include <algorithm>

#include "actors/session_metrics.hpp"
#include "messages/utf8.hpp"

namespace claude_pool {

namespace {

constexpr std::size_t max_prompt_bytes = 64u << 20;
constexpr std::uint32_t max_attempts_limit = 10;
constexpr std::size_t max_events = 100;

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
  touched(id);
  queued_at[id] = rec.created_at_ms.value_or(now_ms());
  tasks.emplace(id, std::move(rec));
  order.push_back(id);
  queue.push_back(id);
  return id;
}

void pool_actor_state::add_slot(slot_actor handle, slot_record record) {
  auto id = record.id;
  record.state = slot_state::idle;
  idle.erase(std::remove(idle.begin(), idle.end(), id), idle.end());
  slot_by_addr.emplace(handle.address(), id);
  slots[id] = slot_entry{std::move(handle), std::move(record)};
  idle.push_back(id);
  idle_since[id] = now_ms();
}

void pool_actor_state::update_slot(const slot_record& record, pool_event ev) {
  auto it = slots.find(record.id);
  if (it != slots.end()) {
    // Counters and errors from the supervisor; routing follows add_slot only.
    auto current = it->second.record.current_task;
    it->second.record = record;
    it->second.record.current_task = current;
    if (record.state != slot_state::idle)
      idle.erase(std::remove(idle.begin(), idle.end(), record.id), idle.end());
  }
  record_event(std::move(ev));
}

void pool_actor_state::record_event(pool_event ev) {
  if (on_event)
    on_event(ev);
  events.push_back(std::move(ev));
  while (events.size() > max_events)
    events.pop_front();
}

std::vector<assignment> pool_actor_state::route(std::uint64_t now, std::size_t limit) {
  std::vector<assignment> out;
  if (cooldown_until && now < *cooldown_until)
    return out;
  cooldown_until.reset();
  while (!idle.empty() && !queue.empty() && out.size() < limit) {
    auto id = queue.front();
    queue.pop_front();
    auto it = tasks.find(id);
    if (it == tasks.end() || it->second.state != task_state::pending)
      continue; // cancelled or expired while queued
    auto slot = idle.back();
    idle.pop_back();
    auto& task = it->second;
    task.slot_id = slot;
    task.transition_to(task_state::running);
    touched(id);
    queued_at.erase(id);
    auto& entry = slots[slot];
    entry.record.state = slot_state::busy;
    entry.record.current_task = id;
    if (task.live_progress)
      task.progress = task_progress{}; // a fresh execution starts from nothing
    out.push_back(assignment{slot, task_assignment{id, task.prompt, task.config,
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
  queue.push_front(task.id);
  queued_at[task.id] = task.created_at_ms.value_or(now);
  free_slot(a.slot, now);
}

void pool_actor_state::free_slot(const slot_id& slot, std::uint64_t now) {
  auto it = slots.find(slot);
  if (it == slots.end())
    return;
  it->second.record.state = slot_state::idle;
  it->second.record.current_task.reset();
  if (retiring.count(slot))
    return;
  idle.push_back(slot);
  idle_since[slot] = now;
}

bool pool_actor_state::still_assigned(const assignment& a) const {
  auto t = tasks.find(a.task.id);
  auto s = slots.find(a.slot);
  return t != tasks.end() && s != slots.end() && t->second.state == task_state::running
         && t->second.slot_id == a.slot && s->second.record.current_task == a.task.id;
}

void pool_actor_state::remove_slot(const slot_id& slot) {
  idle.erase(std::remove(idle.begin(), idle.end(), slot), idle.end());
  idle_since.erase(slot);
  last_used.erase(slot);
  retiring.erase(slot);
  slots.erase(slot);
}

std::vector<slot_id> pool_actor_state::retirees(std::uint64_t n) const {
  std::vector<slot_id> out;
  auto take = [&](const slot_id& id) {
    if (out.size() < n && !retiring.count(id)
        && std::find(out.begin(), out.end(), id) == out.end())
      out.push_back(id);
  };
  // Scaling is about the slots it started: the pool's own and those it placed on slot
  // hosts. A host's own slots are the host's to stop.
  auto scaled = [&](const slot_id& id, const slot_record& rec) {
    return !rec.node || hosts.is_placed(id);
  };
  for (auto& [id, entry] : slots)
    if (scaled(id, entry.record)
        && (entry.record.state == slot_state::errored || entry.record.state == slot_state::stopped))
      take(id);
  // Idle slots, least recently used first; a slot that never ran a task comes first of all.
  std::vector<std::pair<std::uint64_t, slot_id>> unused;
  for (auto& id : idle) {
    if (!scaled(id, slots.at(id).record))
      continue;
    auto it = last_used.find(id);
    unused.emplace_back(it == last_used.end() ? 0 : it->second, id);
  }
  std::stable_sort(unused.begin(), unused.end(),
                   [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& u : unused)
    take(u.second);
  std::vector<std::pair<std::uint64_t, slot_id>> busy;
  for (auto& [id, entry] : slots)
    if (scaled(id, entry.record) && entry.record.state == slot_state::busy
        && entry.record.current_task) {
      auto t = tasks.find(*entry.record.current_task);
      auto started = t == tasks.end() ? 0 : t->second.started_at_ms.value_or(0);
      busy.emplace_back(started, id);
    }
  std::sort(busy.begin(), busy.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (auto& b : busy)
    take(b.second);
  return out;
}

pool_load pool_actor_state::load() const {
  pool_load l;
  for (auto& [id, entry] : slots) {
    if (retiring.count(id))
      continue;
    ++l.slots;
    if (entry.record.state == slot_state::busy)
      ++l.busy;
  }
  for (auto& id : idle)
    if (auto it = idle_since.find(id); it != idle_since.end())
      l.idle_since_ms.push_back(it->second);
  for (auto& id : queue) {
    auto it = tasks.find(id);
    if (it != tasks.end() && it->second.state == task_state::pending)
      ++l.pending;
  }
  return l;
}

namespace {

/// Back to the front of the queue: it was accepted before everything queued behind it.
void requeue(pool_actor_state& st, task_record& task, std::uint64_t now) {
  st.touched(task.id);
  task.state = task_state::pending;
  task.slot_id.reset();
  st.queue.push_front(task.id);
  st.queued_at[task.id] = now;
}

void fail_task(pool_actor_state& st, task_record& task, task_result result) {
  st.touched(task.id);
  task.result = std::move(result);
  task.transition_to(task_state::failed);
  ++st.failed_count;
}

} // namespace

void pool_actor_state::refuse(const assignment& a, const std::string& code,
                              const std::string& why, std::uint64_t now) {
  unroute(a, now);
  queue.pop_front(); // unroute put it first
  queued_at.erase(a.task.id);
  fail_task(*this, tasks.at(a.task.id), task_result::failure(why, code));
}

void pool_actor_state::progress(const task_id& id, const slot_id& from, task_progress report) {
  auto it = tasks.find(id);
  if (it == tasks.end() || it->second.state != task_state::running || it->second.slot_id != from
      || !it->second.progress)
    return;
  it->second.progress = std::move(report);
}

namespace {

/// Settles a failed execution: another attempt, a rate-limit wait, or the end.
pool_actor_state::outcome settle_failure(pool_actor_state& st, task_record& task,
                                         task_result result, std::uint64_t now) {
  using outcome = pool_actor_state::outcome;
  auto cls = classify(result);
  auto& cfg = *st.config;
  if (cls == failure_class::rate_limited) {
    ++st.consecutive_rate_limits;
    auto factor = std::uint64_t{1} << std::min<std::uint32_t>(st.consecutive_rate_limits - 1, 4);
    auto pause = cfg.rate_limit_cooldown_secs * 1000 * factor;
    st.cooldown_until = std::max(st.cooldown_until.value_or(0), now + pause);
    st.record_event(pool_event{now, "rate_limited", task.slot_id,
                               "API " + std::to_string(result.api_error_status.value_or(0))
                                 + ": no task starts for " + std::to_string(pause / 1000)
                                 + " s"});
    if (task.rate_limit_waits < cfg.rate_limit_max_waits) {
      ++task.rate_limit_waits;
      requeue(st, task, now);
      return outcome::requeued;
    }
    result.output = "the API stayed rate-limited or overloaded through "
                    + std::to_string(task.rate_limit_waits)
                    + " waits (rate_limit_max_waits); last answer: " + result.output;
    fail_task(st, task, std::move(result));
    return outcome::settled;
  }
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

} // namespace

pool_actor_state::outcome pool_actor_state::complete(const slot_record& slot, const task_id& id,
                                                     task_result result, std::uint64_t now) {
  if (auto s = slots.find(slot.id); s != slots.end()) {
    s->second.record = slot;
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
  if (result.success) {
    consecutive_rate_limits = 0;
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
  queue.pop_front(); // behind everything already waiting: it is new work
  queue.push_back(task.id);
  return {};
}

std::optional<slot_id> pool_actor_state::cancel(task_record& task, const std::string& why) {
  auto was = task.state;
  touched(task.id);
  task.result = task_result::failure(why, "cancelled");
  task.transition_to(task_state::cancelled);
  queued_at.erase(task.id);
  if (was == task_state::running && task.slot_id)
    return task.slot_id;
  return std::nullopt;
}

std::vector<task_id> pool_actor_state::expire(std::uint64_t now) {
  std::vector<task_id> out;
  auto limit = assignment_timeout_ms(*config);
  // Re-queued tasks sit at the front with a later queue time, so look at every entry.
  std::deque<task_id> kept;
  for (auto& id : queue) {
    auto it = tasks.find(id);
    if (it == tasks.end() || it->second.state != task_state::pending)
      continue;
    auto since = queued_at.count(id) ? queued_at[id] : now;
    if (since + limit > now) {
      kept.push_back(id);
      continue;
    }
    queued_at.erase(id);
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
  for (auto& id : queue) {
    auto it = tasks.find(id);
    auto q = queued_at.find(id);
    if (it == tasks.end() || it->second.state != task_state::pending || q == queued_at.end())
      continue;
    auto when = q->second + assignment_timeout_ms(*config);
    if (!first || when < *first)
      first = when;
  }
  return first;
}

std::optional<std::pair<task_id, pool_actor_state::outcome>>
pool_actor_state::slot_lost(const slot_id& slot, const std::string& reason, std::uint64_t now) {
  idle.erase(std::remove(idle.begin(), idle.end(), slot), idle.end());
  auto s = slots.find(slot);
  if (s == slots.end())
    return std::nullopt;
  auto& rec = s->second.record;
  // A slot host's slot never comes back by itself (no supervisor here restarts it): it
  // leaves routing for good, and its task fails as `node_lost`.
  auto node = rec.node;
  if (rec.state != slot_state::errored)
    rec.state = slot_state::stopped; // until the supervisor restarts it or gives up
  auto current = rec.current_task;
  rec.current_task.reset();
  if (node) {
    remove_slot(slot);
    record_event(pool_event{now, "node_slot_lost", slot,
                            "slot of node " + *node + " gone (" + reason + ")"});
  }
  if (!current)
    return std::nullopt;
  auto t = tasks.find(*current);
  if (t == tasks.end() || is_terminal(t->second.state))
    return std::make_pair(*current, outcome::ignored);
  auto lost = node ? task_result::failure("the node " + *node + " running this task was lost ("
                                            + reason + ") before it reported a result",
                                          "node_lost")
                   : task_result::failure("the slot running this task stopped (" + reason
                                            + ") before it reported a result",
                                          "slot_lost");
  return std::make_pair(*current, settle_failure(*this, t->second, std::move(lost), now));
}

bool pool_actor_state::node_in_use(const std::string& node) const {
  for (auto& [id, entry] : slots)
    if (entry.record.node == node)
      return true;
  return false;
}

bool pool_actor_state::has_usable_slot() const {
  return std::any_of(slots.begin(), slots.end(), [](auto& kv) {
    return kv.second.record.state != slot_state::errored;
  });
}

std::vector<task_id> pool_actor_state::fail_if_unroutable() {
  std::vector<task_id> out;
  if (slots.empty() || has_usable_slot())
    return out;
  std::string why = "no slot can run tasks: every slot is errored";
  for (auto& [id, entry] : slots)
    if (entry.record.last_error) {
      why += " (" + id.value + ": " + *entry.record.last_error + ")";
      break;
    }
  for (auto& id : queue) {
    auto it = tasks.find(id);
    if (it == tasks.end() || it->second.state != task_state::pending)
      continue;
    queued_at.erase(id);
    fail_task(*this, it->second, task_result::failure(why, "no_usable_slot"));
    out.push_back(id);
  }
  queue.clear();
  return out;
}

bool pool_actor_state::quiescent() const {
  for (auto& [id, entry] : slots)
    if (entry.record.state == slot_state::busy)
      return false;
  for (auto& id : queue) {
    auto it = tasks.find(id);
    if (it != tasks.end() && it->second.state == task_state::pending)
      return false;
  }
  return true;
}

pool_status pool_actor_state::status() const {
  pool_status st;
  for (auto& [id, entry] : slots)
    st.slots.push_back(entry.record);
  for (auto& [id, task] : tasks) {
    switch (task.state) {
      case task_state::pending: ++st.pending; break;
      case task_state::running:
        ++st.running;
        if (task.progress)
          st.progress[id.value] = *task.progress;
        break;
      case task_state::completed: ++st.completed; break;
      case task_state::failed: ++st.failed; break;
      case task_state::cancelled: ++st.cancelled; break;
      case task_state::pending_review: ++st.pending_review; break;
    }
  }
  st.draining = draining;
  st.cooldown_until_ms = cooldown_until;
  st.events.assign(events.begin(), events.end());
  return st;
}

session_metrics pool_actor_state::metrics(const metrics_filter& filter,
                                          std::uint64_t now) const {
  std::vector<const task_record*> all;
  all.reserve(order.size());
  for (auto& id : order)
    all.push_back(&tasks.at(id));
  return compute_metrics(all, filter, started_ms, now);
}

std::vector<task_record> pool_actor_state::list(const task_filter& filter) const {
  std::vector<task_record> out;
  for (auto& id : order) {
    auto& task = tasks.at(id);
    if (filter.matches(task))
      out.push_back(task);
  }
  return out;
}

task_record* pool_actor_state::find(const task_id& id) {
  auto it = tasks.find(id);
  return it == tasks.end() ? nullptr : &it->second;
}

} // namespace claude_pool

namespace claude_pool {

std::string pool_actor_state::flush() {
  if (!store || changed.empty())
    return {};
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  try {
    for (auto it = changed.begin(); it != changed.end(); it = changed.erase(it))
      if (auto t = tasks.find(*it); t != tasks.end())
        store->put_task(t->second);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

std::string pool_actor_state::recover(std::vector<task_record> stored, std::uint64_t now) {
  std::size_t kept = 0, queued = 0, interrupted = 0, retried = 0;
  for (auto& rec : stored) {
    auto id = rec.id;
    rec.progress.reset();
    switch (rec.state) {
      case task_state::completed:
        ++completed_count;
        ++kept;
        break;
      case task_state::failed:
        ++failed_count;
        ++kept;
        break;
      case task_state::cancelled:
      case task_state::pending_review:
        ++kept;
        break;
      case task_state::pending:
        queue.push_back(id);
        queued_at[id] = now;
        ++queued;
        break;
      case task_state::running: {
        // Its cost died with the old pool: with a budget, book its whole allowance (as for
        // a lost slot), so that a crash never lets spend pass the cap unnoticed.
        if (config && config->budget_microdollars) {
          auto allowance = config->budget_default_reservation_microdollars;
          if (rec.config && rec.config->max_budget_usd)
            allowance = static_cast<std::uint64_t>(*rec.config->max_budget_usd * 1e6);
          spent_total += allowance;
          spent_changed = true;
        }
        auto used = static_cast<std::uint32_t>(rec.attempts.size()) + 1;
        auto why = std::string("the pool stopped while this task ran (its process went with "
                               "it; the task may have run partly)");
        if (used < rec.max_attempts) {
          rec.attempts.push_back(attempt_record{used, rec.slot_id, "interrupted", why, 0, now});
          rec.state = task_state::pending;
          rec.slot_id.reset();
          rec.started_at_ms.reset();
          queue.push_back(id);
          queued_at[id] = now;
          ++retried;
        } else {
          rec.result = task_result::failure(why + "; not run again (at most once)",
                                            "interrupted");
          rec.transition_to(task_state::failed);
          ++failed_count;
          ++interrupted;
        }
        touched(id);
        break;
      }
    }
    order.push_back(id);
    tasks.emplace(id, std::move(rec));
  }
  return std::to_string(stored.size()) + " tasks from " + store->describe() + ": "
         + std::to_string(kept) + " ended, " + std::to_string(queued) + " pending queued again, "
         + std::to_string(interrupted) + " running marked interrupted, " + std::to_string(retried)
         + " running queued again (attempts left)";
}

} // namespace claude_pool
