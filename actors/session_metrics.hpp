#pragma once
/// `SessionMetrics` from task records, filtered by `MetricsFilter`: a pure function the pool
/// actor applies to its task table (and tests apply to hand-made records).
///
/// Semantics, following the reference's field comments:
/// - counts are by state over every task the filter admits;
/// - `total_spend_microdollars` adds every task's cost, failed and cancelled ones included
///   (money spent is spent);
/// - `max_cost_microdollars` is the highest single-task cost among them;
/// - averages, the exact median, min and max of elapsed time, average cost and average turns
///   are over *completed* tasks (a failed run's time says little about sizing);
/// - `tasks_by_model` / `model_breakdown` group tasks by the model that actually ran (from
///   the result), completed or not.
/// The filter: `since_ms` ≤ created_at < `until_ms`, any of `tags`, `model` equal to the
/// model that ran.

#include <cstdint>
#include <vector>

#include "messages/metrics.hpp"
#include "messages/records.hpp"

namespace claude_pool {

/// True when `task` is counted under `filter`.
bool admits(const metrics_filter& filter, const task_record& task);

session_metrics compute_metrics(const std::vector<const task_record*>& tasks,
                                const metrics_filter& filter, std::uint64_t session_start_ms,
                                std::uint64_t now_ms);

} // namespace claude_pool
