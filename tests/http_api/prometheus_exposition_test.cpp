// The Prometheus text of /metrics: the series a scrape gets, with values from the status and
// the task records, and no task id in any label.
#include <catch2/catch.hpp>

#include <sstream>

#include "http_api/prometheus_exposition.hpp"

using namespace claude_pool;

namespace {

/// The value of the sample line that starts with `series` (name and labels), or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

task_record ended(const char* id, task_state state, std::uint64_t cost, std::uint64_t created,
                  std::uint64_t started, std::uint64_t completed) {
  task_record t;
  t.id = task_id{id};
  t.state = state;
  t.created_at_ms = created;
  t.started_at_ms = started;
  t.completed_at_ms = completed;
  t.result = task_result{};
  t.result->model = "claude-opus-4-8";
  t.result->cost_microdollars = cost;
  return t;
}

} // namespace

TEST_CASE("the exposition has the pool's gauges, task counters and histograms", "[http_api]") {
  pool_status st;
  st.pending = 3;
  st.running = 1;
  st.completed = 2;
  slot_record busy, idle;
  busy.state = slot_state::busy;
  busy.restart_count = 2;
  idle.state = slot_state::idle;
  st.slots = {busy, idle};
  credential_status waiting;
  waiting.name = "team-a";
  waiting.waiting_until_ms = 123;
  st.credentials = {waiting};
  st.budget = budget_status{};
  st.budget->spent_microdollars = 1500000;
  st.budget->remaining_microdollars = 500000;
  std::vector<task_record> tasks = {
    ended("t-1", task_state::completed, 300000, 1000, 1500, 4500),
    ended("t-2", task_state::completed, 200000, 1000, 2000, 3000),
    ended("t-3", task_state::failed, 100000, 1000, 1200, 1300)};
  tasks[2].rate_limit_waits = 2;
  auto text = http_api::prometheus_exposition(st, tasks);
  INFO(text);
  CHECK(sample(text, R"(claude_pool_tasks{state="pending"})") == 3);
  CHECK(sample(text, R"(claude_pool_tasks{state="completed"})") == 2);
  CHECK(sample(text, "claude_pool_queue_depth") == 3);
  CHECK(sample(text, R"(claude_pool_slots{state="busy"})") == 1);
  CHECK(sample(text, "claude_pool_slot_restarts_total") == 2);
  CHECK(sample(text, R"(claude_pool_credential_waiting{credential="team-a"})") == 1);
  CHECK(sample(text, R"(claude_pool_budget_dollars{kind="spent"})") == Approx(1.5));
  CHECK(sample(text, R"(claude_pool_budget_dollars{kind="remaining"})") == Approx(0.5));
  CHECK(sample(text, R"(claude_pool_tasks_ended_total{model="claude-opus-4-8",state="completed"})")
        == 2);
  CHECK(sample(text, R"(claude_pool_spend_dollars_total{model="claude-opus-4-8"})")
        == Approx(0.6));
  CHECK(sample(text, "claude_pool_rate_limit_waits_total") == 2);
  CHECK(sample(text, "claude_pool_task_duration_seconds_count") == 3);
  CHECK(sample(text, "claude_pool_task_duration_seconds_sum") == Approx(3.0 + 1.0 + 0.1));
  // The bucket of le=1 s: two tasks took at most a second (however `le` is spelled).
  std::istringstream lines(text);
  std::string line;
  const std::string bucket = "claude_pool_task_duration_seconds_bucket{le=\"";
  double within_a_second = -1;
  while (std::getline(lines, line))
    if (line.rfind(bucket, 0) == 0) {
      auto le = line.substr(bucket.size(), line.find('"', bucket.size()) - bucket.size());
      if (le != "+Inf" && std::stod(le) == 1.0)
        within_a_second = std::stod(line.substr(line.rfind(' ') + 1));
    }
  CHECK(within_a_second == 2);
  CHECK(sample(text, "claude_pool_task_queue_wait_seconds_count") == 3);
  CHECK(text.find("# TYPE claude_pool_task_duration_seconds histogram") != std::string::npos);
  CHECK(text.find("t-1") == std::string::npos); // no task id in any label
}
