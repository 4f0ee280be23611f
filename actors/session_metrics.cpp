#include "actors/session_metrics.hpp"

#include <algorithm>
#include <map>

namespace claude_pool {

bool admits(const metrics_filter& filter, const task_record& task) {
  auto created = task.created_at_ms.value_or(0);
  if (filter.since_ms && created < *filter.since_ms)
    return false;
  if (filter.until_ms && created >= *filter.until_ms)
    return false;
  if (filter.tags) {
    bool any = std::any_of(filter.tags->begin(), filter.tags->end(), [&](const std::string& t) {
      return std::find(task.tags.begin(), task.tags.end(), t) != task.tags.end();
    });
    if (!any)
      return false;
  }
  if (filter.model) {
    if (!task.result || task.result->model != filter.model)
      return false;
  }
  return true;
}

namespace {

std::uint64_t exact_median(std::vector<std::uint64_t> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  if (n % 2)
    return xs[n / 2];
  // Rounded half up, as integers: (a + b + 1) / 2 without overflow.
  auto a = xs[n / 2 - 1], b = xs[n / 2];
  return a / 2 + b / 2 + ((a % 2) + (b % 2) + 1) / 2;
}

struct model_totals {
  std::uint64_t count = 0, cost = 0, elapsed = 0, turns = 0;
};

} // namespace

session_metrics compute_metrics(const std::vector<const task_record*>& tasks,
                                const metrics_filter& filter, std::uint64_t session_start_ms,
                                std::uint64_t now_ms) {
  session_metrics m;
  m.session_start_ms = session_start_ms;
  m.session_duration_ms = now_ms > session_start_ms ? now_ms - session_start_ms : 0;
  std::vector<std::uint64_t> elapsed;
  std::uint64_t completed_cost = 0, completed_turns = 0;
  std::map<std::string, model_totals> by_model;
  for (auto* task : tasks) {
    if (!admits(filter, *task))
      continue;
    ++m.total_tasks;
    switch (task->state) {
      case task_state::pending: ++m.pending_tasks; break;
      case task_state::running: ++m.running_tasks; break;
      case task_state::completed: ++m.completed_tasks; break;
      case task_state::failed: ++m.failed_tasks; break;
      case task_state::cancelled: ++m.cancelled_tasks; break;
      case task_state::pending_review: break;
    }
    if (!task->result)
      continue;
    auto& r = *task->result;
    std::uint64_t cost = r.cost_microdollars;
    for (auto& a : task->attempts)
      cost += a.cost_microdollars; // earlier attempts were paid for too
    m.total_spend_microdollars += cost;
    m.max_cost_microdollars = std::max(m.max_cost_microdollars, cost);
    if (task->state == task_state::completed) {
      elapsed.push_back(r.elapsed_ms);
      completed_cost += cost;
      completed_turns += r.turns_used;
    }
    if (r.model) {
      auto& t = by_model[*r.model];
      ++t.count;
      t.cost += cost;
      t.elapsed += r.elapsed_ms;
      t.turns += r.turns_used;
    }
  }
  if (!elapsed.empty()) {
    std::uint64_t sum = 0;
    for (auto e : elapsed)
      sum += e;
    m.avg_elapsed_ms = sum / elapsed.size();
    m.median_elapsed_ms = exact_median(elapsed);
    m.max_elapsed_ms = *std::max_element(elapsed.begin(), elapsed.end());
    m.min_elapsed_ms = *std::min_element(elapsed.begin(), elapsed.end());
    m.avg_cost_microdollars = completed_cost / elapsed.size();
    m.avg_turns = static_cast<double>(completed_turns) / static_cast<double>(elapsed.size());
  }
  for (auto& [model, t] : by_model) {
    m.tasks_by_model[model] = t.count;
    model_metrics mm;
    mm.model = model;
    mm.task_count = t.count;
    mm.total_cost_microdollars = t.cost;
    mm.avg_cost_microdollars = t.cost / t.count;
    mm.avg_elapsed_ms = t.elapsed / t.count;
    mm.total_turns = t.turns;
    m.model_breakdown.push_back(std::move(mm));
  }
  return m;
}

} // namespace claude_pool
