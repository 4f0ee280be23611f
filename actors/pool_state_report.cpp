// What the pool reports, free of messaging: its events, status, metrics and task list (see
// pool_actor.hpp).
#include "actors/pool_actor.hpp"

#include "actors/session_metrics.hpp"

namespace claude_pool {

namespace {

constexpr std::size_t max_events = 100;

} // namespace

void pool_actor_state::record_event(pool_event ev) {
  if (on_event)
    on_event(ev);
  events.push_back(std::move(ev));
  while (events.size() > max_events)
    events.pop_front();
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
  st.cooldown_reason = cooldown_reason;
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

} // namespace claude_pool
