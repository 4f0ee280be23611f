// The pool's logic, free of messaging: see pool_actor.hpp.
#include "actors/pool_actor.hpp"

#include <algorithm>

namespace claude_pool {

namespace {

constexpr std::size_t max_prompt_bytes = 64u << 20;

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
  if (sub.config)
    if (auto problem = validate(*sub.config); !problem.empty())
      return "task_submission.config." + problem;
  return {};
}

task_id pool_actor_state::accept(task_submission sub) {
  auto rec = task_record::new_pending(make_task_id(), std::move(sub.prompt));
  rec.tags = std::move(sub.tags);
  rec.config = std::move(sub.config);
  auto id = rec.id;
  tasks.emplace(id, std::move(rec));
  order.push_back(id);
  queue.push_back(id);
  return id;
}

void pool_actor_state::add_slot(slot_actor handle, slot_record record) {
  auto id = record.id;
  record.state = slot_state::idle;
  slot_by_addr.emplace(handle.address(), id);
  slots[id] = slot_entry{std::move(handle), std::move(record)};
  idle.push_back(id);
}

std::vector<assignment> pool_actor_state::route() {
  std::vector<assignment> out;
  while (!idle.empty() && !queue.empty()) {
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
    auto& entry = slots[slot];
    entry.record.state = slot_state::busy;
    entry.record.current_task = id;
    out.push_back(assignment{slot, task_assignment{id, task.prompt, task.config}});
  }
  return out;
}

bool pool_actor_state::complete(const slot_record& slot, const task_id& id,
                                task_result result) {
  if (auto s = slots.find(slot.id); s != slots.end()) {
    s->second.record = slot;
    if (slot.state == slot_state::idle)
      idle.push_back(slot.id);
  }
  auto it = tasks.find(id);
  if (it == tasks.end())
    return false;
  auto& task = it->second;
  if (task.state == task_state::cancelled) {
    // The cancel already decided this task's state; keep what the run cost.
    auto cancelled = task_result::failure("the task was cancelled; its process group was stopped",
                                          "cancelled");
    cancelled.cost_microdollars = result.cost_microdollars;
    cancelled.elapsed_ms = result.elapsed_ms;
    cancelled.session_id = result.session_id;
    cancelled.model = result.model;
    task.result = std::move(cancelled);
    return false;
  }
  if (is_terminal(task.state))
    return false;
  bool ok = result.success;
  task.result = std::move(result);
  task.transition_to(ok ? task_state::completed : task_state::failed);
  ++(ok ? completed_count : failed_count);
  return true;
}

std::optional<slot_id> pool_actor_state::cancel(task_record& task, const std::string& why) {
  auto was = task.state;
  task.result = task_result::failure(why, "cancelled");
  task.transition_to(task_state::cancelled);
  if (was == task_state::running && task.slot_id)
    return task.slot_id;
  return std::nullopt;
}

std::vector<task_id> pool_actor_state::expire(std::uint64_t now) {
  std::vector<task_id> out;
  auto limit = assignment_timeout_ms(*config);
  while (!queue.empty()) {
    auto it = tasks.find(queue.front());
    if (it == tasks.end() || it->second.state != task_state::pending) {
      queue.pop_front();
      continue;
    }
    auto& task = it->second;
    if (task.created_at_ms.value_or(now) + limit > now)
      break; // FIFO: every later task was submitted later
    queue.pop_front();
    task.result = task_result::failure(
      "no slot became free within slot_assignment_timeout_secs ("
        + std::to_string(config->slot_assignment_timeout_secs) + " s); the task never ran",
      "slot_assignment_timeout");
    task.transition_to(task_state::failed);
    ++failed_count;
    out.push_back(task.id);
  }
  return out;
}

std::optional<std::uint64_t> pool_actor_state::next_expiry() const {
  for (auto& id : queue) {
    auto it = tasks.find(id);
    if (it != tasks.end() && it->second.state == task_state::pending)
      return it->second.created_at_ms.value_or(0) + assignment_timeout_ms(*config);
  }
  return std::nullopt;
}

std::optional<task_id> pool_actor_state::slot_lost(const slot_id& slot,
                                                   const std::string& reason) {
  idle.erase(std::remove(idle.begin(), idle.end(), slot), idle.end());
  auto s = slots.find(slot);
  if (s == slots.end())
    return std::nullopt;
  auto& rec = s->second.record;
  rec.state = slot_state::errored;
  auto current = rec.current_task;
  rec.current_task.reset();
  if (!current)
    return std::nullopt;
  auto t = tasks.find(*current);
  if (t == tasks.end() || is_terminal(t->second.state))
    return current;
  t->second.result = task_result::failure("the slot running this task stopped (" + reason
                                            + ") before it reported a result",
                                          "slot_lost");
  t->second.transition_to(task_state::failed);
  ++failed_count;
  return current;
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
      case task_state::running: ++st.running; break;
      case task_state::completed: ++st.completed; break;
      case task_state::failed: ++st.failed; break;
      case task_state::cancelled: ++st.cancelled; break;
      case task_state::pending_review: ++st.pending_review; break;
    }
  }
  st.draining = draining;
  return st;
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
