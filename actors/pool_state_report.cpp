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
  // O(slots): the counts are kept as tasks change, the progress is the busy slots' tasks'.
  settle_counts();
  st.pending = count_of(task_state::pending);
  st.running = count_of(task_state::running);
  st.completed = count_of(task_state::completed);
  st.failed = count_of(task_state::failed);
  st.cancelled = count_of(task_state::cancelled);
  st.pending_review = count_of(task_state::pending_review);
  st.records_in_memory = tasks.size();
  for (auto& [id, entry] : slots)
    if (entry.record.current_task)
      if (auto t = tasks.find(*entry.record.current_task);
          t != tasks.end() && t->second.state == task_state::running && t->second.progress)
        st.progress[t->first.value] = *t->second.progress;
  st.draining = draining;
  auto now = now_ms();
  std::map<std::string, credential_status> creds;
  for (auto& [id, entry] : slots) {
    auto& c = creds[credential_key(entry.record)];
    ++c.slots;
    c.running += entry.record.state == slot_state::busy;
  }
  for (auto& profile : config->credentials) { // configured ones, even without a slot
    creds[profile.name].max_concurrent = profile.max_concurrent;
  }
  for (auto& [key, out] : creds) {
    out.name = key;
    auto it = credentials.find(key);
    if (it == credentials.end())
      continue;
    auto& c = it->second;
    out.max_concurrent = c.max_concurrent;
    out.login_refused = c.auth.open;
    if (c.cooldown_until && *c.cooldown_until > now) {
      out.waiting_until_ms = c.cooldown_until;
      out.wait_reason = c.cooldown_reason;
    }
  }
  if (paused(now))
    for (auto& [key, c] : creds)
      if (c.slots && c.waiting_until_ms
          && (!st.cooldown_until_ms || *c.waiting_until_ms < *st.cooldown_until_ms)) {
        st.cooldown_until_ms = c.waiting_until_ms;
        st.cooldown_reason = c.wait_reason;
      }
  for (auto& [key, c] : creds)
    st.credentials.push_back(std::move(c));
  st.events.assign(events.begin(), events.end());
  return st;
}

session_metrics pool_actor_state::metrics(const metrics_filter& filter,
                                          std::uint64_t now) const {
  std::vector<const task_record*> all;
  all.reserve(order.size());
  for (auto& id : order) // the records in memory (see retain_ended_records)
    if (auto it = tasks.find(id); it != tasks.end())
      all.push_back(&it->second);
  return compute_metrics(all, filter, started_ms, now);
}

} // namespace claude_pool
