#pragma once
/// Metrics of the reference data model: `SessionMetrics`, `ModelMetrics`, `MetricsFilter`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace claude_pool {

/// Per-model aggregate (reference `ModelMetrics`).
struct model_metrics {
  std::string model;
  std::uint64_t task_count = 0;
  std::uint64_t total_cost_microdollars = 0;
  std::uint64_t avg_cost_microdollars = 0;
  std::uint64_t avg_elapsed_ms = 0;
  std::uint64_t total_turns = 0;
};

/// Aggregate over the pool's session (reference `SessionMetrics`).
struct session_metrics {
  std::uint64_t total_tasks = 0;
  std::uint64_t completed_tasks = 0;
  std::uint64_t failed_tasks = 0;
  std::uint64_t cancelled_tasks = 0;
  std::uint64_t running_tasks = 0;
  std::uint64_t pending_tasks = 0;
  std::uint64_t total_spend_microdollars = 0;
  std::uint64_t avg_cost_microdollars = 0;
  std::uint64_t max_cost_microdollars = 0;
  std::uint64_t avg_elapsed_ms = 0;
  std::uint64_t median_elapsed_ms = 0;
  std::uint64_t max_elapsed_ms = 0;
  std::uint64_t min_elapsed_ms = 0;
  double avg_turns = 0;
  std::map<std::string, std::uint64_t> tasks_by_model;
  std::vector<model_metrics> model_breakdown;
  std::uint64_t session_start_ms = 0;
  std::uint64_t session_duration_ms = 0;
};

/// Criteria for metrics queries (reference `MetricsFilter`).
struct metrics_filter {
  std::optional<std::uint64_t> since_ms;
  std::optional<std::uint64_t> until_ms;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::string> model;
};

} // namespace claude_pool
