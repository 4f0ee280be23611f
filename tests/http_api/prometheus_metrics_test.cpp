// The Prometheus text of /metrics: counters and histograms that accumulate from the pool's
// hooks (each task end counted once), gauges from the status, no task id in any label.
#include <catch2/catch.hpp>

#include <map>
#include <sstream>

#include "http_api/prometheus_metrics.hpp"

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

task_record task(const char* id, task_state state, std::uint64_t cost = 0) {
  task_record t;
  t.id = task_id{id};
  t.state = state;
  t.created_at_ms = 1000;
  if (state != task_state::pending)
    t.started_at_ms = 1500;
  if (is_terminal(state)) {
    t.completed_at_ms = 4500;
    t.result = task_result{};
    t.result->model = "claude-opus-4-8";
    t.result->cost_microdollars = cost;
  }
  return t;
}

} // namespace

TEST_CASE("metrics count each task end once, with its model, cost, tokens and times",
          "[http_api]") {
  http_api::prometheus_metrics m;
  m.task_changed(task("t-1", task_state::pending));
  m.task_changed(task("t-1", task_state::running));
  auto done = task("t-1", task_state::completed, 300000);
  done.result->usage = token_usage{100, 20, 5, 700};
  m.task_changed(done);
  m.task_changed(done); // announced again (a later change batch): not a second end
  auto failed = task("t-2", task_state::failed, 100000);
  failed.attempts.push_back(attempt_record{});
  failed.attempts.back().cost_microdollars = 50000;
  failed.rate_limit_waits = 2;
  m.task_changed(task("t-2", task_state::running));
  m.task_changed(failed);
  auto text = m.exposition(pool_status{});
  INFO(text);
  CHECK(sample(text, R"(claude_pool_tasks_ended_total{model="claude-opus-4-8",state="completed"})")
        == 1);
  CHECK(sample(text, R"(claude_pool_tasks_ended_total{model="claude-opus-4-8",state="failed"})")
        == 1);
  CHECK(sample(text, R"(claude_pool_spend_dollars_total{model="claude-opus-4-8"})")
        == Approx(0.45));
  CHECK(sample(text, R"(claude_pool_tokens_total{model="claude-opus-4-8",type="input"})") == 100);
  CHECK(sample(text, R"(claude_pool_tokens_total{model="claude-opus-4-8",type="output"})") == 20);
  CHECK(sample(text, R"(claude_pool_tokens_total{model="claude-opus-4-8",type="cache_creation"})")
        == 5);
  CHECK(sample(text, R"(claude_pool_tokens_total{model="claude-opus-4-8",type="cache_read"})")
        == 700);
  CHECK(sample(text, "claude_pool_rate_limit_waits_total") == 2);
  CHECK(sample(text, "claude_pool_task_duration_seconds_count") == 2);
  CHECK(sample(text, "claude_pool_task_duration_seconds_sum") == Approx(6.0));
  CHECK(sample(text, "claude_pool_task_queue_wait_seconds_count") == 2);
  CHECK(sample(text, "claude_pool_task_queue_wait_seconds_sum") == Approx(1.0));
  // The bucket of le=5 s holds both (3 s each); le=2.5 neither (however `le` is spelled).
  std::istringstream lines(text);
  std::string line;
  const std::string bucket = "claude_pool_task_duration_seconds_bucket{le=\"";
  std::map<double, double> buckets;
  while (std::getline(lines, line))
    if (line.rfind(bucket, 0) == 0) {
      auto le = line.substr(bucket.size(), line.find('"', bucket.size()) - bucket.size());
      if (le != "+Inf")
        buckets[std::stod(le)] = std::stod(line.substr(line.rfind(' ') + 1));
    }
  CHECK(buckets[2.5] == 0);
  CHECK(buckets[5] == 2);
  CHECK(text.find("# TYPE claude_pool_task_duration_seconds histogram") != std::string::npos);
  CHECK(text.find("t-1") == std::string::npos); // no task id in any label
}

TEST_CASE("a task first seen ended is counted, and cancelled pending tasks too", "[http_api]") {
  http_api::prometheus_metrics m;
  m.task_changed(task("t-1", task_state::completed, 1000)); // its first change was its end
  m.task_changed(task("t-2", task_state::pending));
  auto cancelled = task("t-2", task_state::cancelled);
  cancelled.started_at_ms.reset();
  m.task_changed(cancelled);
  auto text = m.exposition(pool_status{});
  INFO(text);
  CHECK(sample(text, R"(claude_pool_tasks_ended_total{model="claude-opus-4-8",state="completed"})")
        == 1);
  CHECK(sample(text, R"(claude_pool_tasks_ended_total{model="claude-opus-4-8",state="cancelled"})")
        == 1);
  CHECK(sample(text, "claude_pool_task_duration_seconds_count") == 1); // t-2 never ran
}

TEST_CASE("metrics count restarts by failure class, pauses and store writes", "[http_api]") {
  http_api::prometheus_metrics m;
  pool_event restart{1, "slot_restarting", slot_id{"slot-0"}, "crashed", "process_crashed"};
  m.event(restart);
  m.event(restart);
  m.event(pool_event{2, "slot_restarting", slot_id{"slot-1"}, "threw", "unhandled_exception"});
  m.event(pool_event{3, "slot_errored", slot_id{"slot-1"}, "gave up", "unhandled_exception"});
  m.event(pool_event{4, "rate_limited", slot_id{"slot-0"}, "429"});
  m.event(pool_event{5, "budget_warning", std::nullopt, "80 %"}); // not counted anywhere
  m.store_write(std::chrono::microseconds(300), 4, true);
  m.store_write(std::chrono::microseconds(2000), 1, false);
  auto text = m.exposition(pool_status{});
  INFO(text);
  CHECK(sample(text, R"(claude_pool_slot_restarts_total{class="process_crashed"})") == 2);
  CHECK(sample(text, R"(claude_pool_slot_restarts_total{class="unhandled_exception"})") == 1);
  CHECK(sample(text, R"(claude_pool_slots_given_up_total{class="unhandled_exception"})") == 1);
  CHECK(sample(text, "claude_pool_rate_limit_pauses_total") == 1);
  CHECK(sample(text, "claude_pool_store_write_seconds_count") == 2);
  CHECK(sample(text, "claude_pool_store_write_seconds_sum") == Approx(0.0023));
  CHECK(sample(text, "claude_pool_store_write_failures_total") == 1);
}

TEST_CASE("the status gives the gauges of each scrape", "[http_api]") {
  http_api::prometheus_metrics m;
  pool_status st;
  st.pending = 3;
  st.running = 1;
  st.completed = 2;
  slot_record busy, idle;
  busy.state = slot_state::busy;
  idle.state = slot_state::idle;
  st.slots = {busy, idle};
  credential_status waiting;
  waiting.name = "team-a";
  waiting.waiting_until_ms = 123;
  st.credentials = {waiting};
  st.budget = budget_status{};
  st.budget->spent_microdollars = 1500000;
  st.budget->remaining_microdollars = 500000;
  auto text = m.exposition(st);
  INFO(text);
  CHECK(sample(text, R"(claude_pool_tasks{state="pending"})") == 3);
  CHECK(sample(text, R"(claude_pool_tasks{state="completed"})") == 2);
  CHECK(sample(text, "claude_pool_queue_depth") == 3);
  CHECK(sample(text, R"(claude_pool_slots{state="busy"})") == 1);
  CHECK(sample(text, R"(claude_pool_slots{state="errored"})") == 0);
  CHECK(sample(text, R"(claude_pool_credential_waiting{credential="team-a"})") == 1);
  CHECK(sample(text, R"(claude_pool_budget_dollars{kind="spent"})") == Approx(1.5));
  CHECK(sample(text, R"(claude_pool_budget_dollars{kind="remaining"})") == Approx(0.5));
  st.pending = 0; // the next scrape says what is true then
  CHECK(sample(m.exposition(st), "claude_pool_queue_depth") == 0);
}
