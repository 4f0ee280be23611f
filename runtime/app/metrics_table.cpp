#include "runtime/app/metrics_table.hpp"

#include <cstdio>
#include <string>

namespace claude_pool::app {

namespace {

std::string usd(std::uint64_t micro) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "$%.6f", static_cast<double>(micro) / 1e6);
  return buf;
}

} // namespace

void print_metrics_table(std::ostream& out, const session_metrics& m) {
  out << "tasks      " << m.total_tasks << " (" << m.completed_tasks << " completed, "
      << m.failed_tasks << " failed, " << m.cancelled_tasks << " cancelled)\n"
      << "spend      " << usd(m.total_spend_microdollars) << " total, "
      << usd(m.avg_cost_microdollars) << " per completed task, " << usd(m.max_cost_microdollars)
      << " max\n"
      << "time (ms)  median " << m.median_elapsed_ms << ", average " << m.avg_elapsed_ms
      << ", min " << m.min_elapsed_ms << ", max " << m.max_elapsed_ms << "\n"
      << "turns      " << m.avg_turns << " on average\n"
      << "session    " << m.session_duration_ms << " ms\n";
  for (auto& mm : m.model_breakdown)
    out << "model      " << mm.model << ": " << mm.task_count << " tasks, "
        << usd(mm.total_cost_microdollars) << ", " << mm.avg_elapsed_ms << " ms average, "
        << mm.total_turns << " turns\n";
}

} // namespace claude_pool::app
