// The pool's counts and memory bound, free of messaging: tasks per state without walking the
// records, ended records leaving memory (pool_config's retain_ended_records / _secs), and
// pages of the task list from memory or, for history that left it, from the store (see
// pool_actor.hpp).
#include "actors/pool_actor.hpp"

#include <algorithm>

namespace claude_pool {

namespace {

std::size_t index_of(task_state s) {
  return static_cast<std::size_t>(s);
}

} // namespace

void pool_actor_state::note_count(const task_id& id) const {
  if (count_before.count(id))
    return; // the state before the first change since the last settle is the one counted
  auto it = tasks.find(id);
  count_before.emplace(id, it == tasks.end() ? std::nullopt
                                             : std::optional<task_state>(it->second.state));
}

void pool_actor_state::settle_counts() const {
  for (auto& [id, before] : count_before) {
    auto it = tasks.find(id);
    auto after = it == tasks.end() ? std::nullopt : std::optional<task_state>(it->second.state);
    if (before == after)
      continue;
    if (before)
      --state_counts[index_of(*before)];
    if (after) {
      ++state_counts[index_of(*after)];
      if (is_terminal(*after) && !(before && is_terminal(*before)))
        ended.push_back(id);
    }
  }
  count_before.clear();
}

bool pool_actor_state::trim_due(std::uint64_t now) const {
  settle_counts();
  // In batches: a trim message per ended task would cost as much as the task's routing.
  auto slack = std::max<std::uint64_t>(16, retain_ended / 64);
  if (ended.size() > retain_ended && ended.size() - retain_ended > slack)
    return true;
  if (!retain_ended_ms || ended.empty())
    return false;
  auto it = tasks.find(ended.front());
  return it == tasks.end() || it->second.completed_at_ms.value_or(0) + *retain_ended_ms <= now;
}

std::size_t pool_actor_state::trim(std::uint64_t now) {
  settle_counts();
  auto pinned = [&](const task_id& id, const task_record& t) {
    if (waiters.count(id) || cancel_waiters.count(id) || allowances.count(id)
        || budget_stops.count(id) || (awaiting_grant && awaiting_grant->task.id == id)
        || unwritten(id))
      return true;
    if (t.slot_id)
      if (auto s = slots.find(*t.slot_id);
          s != slots.end() && s->second.record.current_task == id)
        return true; // cancelled, its process still stopping
    return false;
  };
  std::size_t left = 0;
  std::deque<task_id> kept; // pinned ones, in order, back at the front afterwards
  while (!ended.empty()) {
    auto id = ended.front();
    auto it = tasks.find(id);
    if (it == tasks.end() || !is_terminal(it->second.state)) {
      ended.pop_front(); // withdrawn, or already gone
      continue;
    }
    bool over_count = ended.size() + kept.size() > retain_ended;
    bool over_age = retain_ended_ms
                    && it->second.completed_at_ms.value_or(0) + *retain_ended_ms <= now;
    if (!over_count && !over_age)
      break;
    ended.pop_front();
    if (pinned(id, it->second)) {
      kept.push_back(id);
      continue;
    }
    tasks.erase(it);
    ++evicted;
    ++left;
  }
  ended.insert(ended.begin(), kept.begin(), kept.end());
  while (!order.empty() && !tasks.count(order.front()))
    order.pop_front();
  // Tasks that outlive many others (long runs, reviews) leave holes behind them: compact
  // once the holes outnumber the records.
  if (order.size() > 2 * tasks.size() + 1024)
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&](const task_id& id) { return !tasks.count(id); }),
                order.end());
  return left;
}

std::optional<task_record> pool_actor_state::stored(const task_id& id) const {
  if (!store || evicted == 0)
    return std::nullopt;
  return store->get_task(id);
}

std::optional<std::vector<task_record>> pool_actor_state::list(const task_filter& filter) const {
  auto want = filter.limit.value_or(UINT64_MAX);
  if (store && evicted > 0) {
    // History that left memory is in the store; what is still here is newer there too
    // (written at every change), but take the live copy (a failed write may lag).
    auto page = store->page_tasks(filter);
    if (!page)
      return std::nullopt;
    for (auto& t : *page)
      if (auto it = tasks.find(t.id); it != tasks.end())
        t = it->second;
    return page;
  }
  auto from = order.begin();
  if (filter.after) {
    from = std::find(order.begin(), order.end(), *filter.after);
    if (from == order.end())
      return std::nullopt;
    ++from;
  }
  std::vector<task_record> out;
  for (; from != order.end() && out.size() < want; ++from) {
    auto it = tasks.find(*from);
    if (it != tasks.end() && filter.matches(it->second))
      out.push_back(it->second);
  }
  return out;
}

} // namespace claude_pool
