#include "http_api/prometheus_exposition.hpp"

#include <map>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace claude_pool::http_api {

namespace {

using prometheus::Histogram;

double dollars(std::uint64_t microdollars) { return static_cast<double>(microdollars) / 1e6; }

/// Seconds from 10 ms to an hour: tasks of the CLI take from a second to many minutes.
Histogram::BucketBoundaries seconds_buckets() {
  return {0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
}

void pool_gauges(prometheus::Registry& reg, const pool_status& st) {
  auto& tasks = prometheus::BuildGauge()
                  .Name("claude_pool_tasks")
                  .Help("Tasks the pool holds, by state")
                  .Register(reg);
  tasks.Add({{"state", "pending"}}).Set(static_cast<double>(st.pending));
  tasks.Add({{"state", "running"}}).Set(static_cast<double>(st.running));
  tasks.Add({{"state", "completed"}}).Set(static_cast<double>(st.completed));
  tasks.Add({{"state", "failed"}}).Set(static_cast<double>(st.failed));
  tasks.Add({{"state", "cancelled"}}).Set(static_cast<double>(st.cancelled));
  tasks.Add({{"state", "pending_review"}}).Set(static_cast<double>(st.pending_review));
  prometheus::BuildGauge()
    .Name("claude_pool_queue_depth")
    .Help("Tasks waiting for a slot")
    .Register(reg)
    .Add({})
    .Set(static_cast<double>(st.pending));
  auto& slots = prometheus::BuildGauge()
                  .Name("claude_pool_slots")
                  .Help("Slots by state")
                  .Register(reg);
  std::map<std::string, double> by_state{{"idle", 0}, {"busy", 0}, {"errored", 0}};
  double restarts = 0;
  for (auto& s : st.slots) {
    by_state[std::string(to_string(s.state))] += 1;
    restarts += s.restart_count;
  }
  for (auto& [state, n] : by_state)
    slots.Add({{"state", state}}).Set(n);
  prometheus::BuildCounter()
    .Name("claude_pool_slot_restarts_total")
    .Help("Slot restarts under supervision, over the slots there are")
    .Register(reg)
    .Add({})
    .Increment(restarts);
  auto& waiting = prometheus::BuildGauge()
                    .Name("claude_pool_credential_waiting")
                    .Help("1 while a credential waits for a rate limit, a usage window or a "
                          "refused login's probe")
                    .Register(reg);
  for (auto& c : st.credentials)
    waiting.Add({{"credential", c.name}})
      .Set(c.waiting_until_ms || c.login_refused ? 1.0 : 0.0);
  if (!st.budget)
    return;
  auto& budget = prometheus::BuildGauge()
                   .Name("claude_pool_budget_dollars")
                   .Help("The budget: spent, reserved by running tasks, remaining of the cap")
                   .Register(reg);
  budget.Add({{"kind", "spent"}}).Set(dollars(st.budget->spent_microdollars));
  budget.Add({{"kind", "reserved"}}).Set(dollars(st.budget->reserved_microdollars));
  if (st.budget->remaining_microdollars)
    budget.Add({{"kind", "remaining"}}).Set(dollars(*st.budget->remaining_microdollars));
}

void task_series(prometheus::Registry& reg, const std::vector<task_record>& tasks) {
  auto& ended = prometheus::BuildCounter()
                  .Name("claude_pool_tasks_ended_total")
                  .Help("Tasks that ended, by state and model")
                  .Register(reg);
  auto& spend = prometheus::BuildCounter()
                  .Name("claude_pool_spend_dollars_total")
                  .Help("What the CLI reported tasks cost, by model (failed attempts included)")
                  .Register(reg);
  auto& waits = prometheus::BuildCounter()
                  .Name("claude_pool_rate_limit_waits_total")
                  .Help("Times tasks went back to the queue for a rate limit or usage window")
                  .Register(reg);
  auto& duration = prometheus::BuildHistogram()
                     .Name("claude_pool_task_duration_seconds")
                     .Help("From a task's start to its end")
                     .Register(reg)
                     .Add({}, seconds_buckets());
  auto& queue_wait = prometheus::BuildHistogram()
                       .Name("claude_pool_task_queue_wait_seconds")
                       .Help("From a task's submission to its start")
                       .Register(reg)
                       .Add({}, seconds_buckets());
  double rate_waits = 0;
  for (auto& t : tasks) {
    rate_waits += t.rate_limit_waits;
    auto model = t.result && t.result->model ? *t.result->model : std::string("unknown");
    std::uint64_t cost = t.result ? t.result->cost_microdollars : 0;
    for (auto& a : t.attempts)
      cost += a.cost_microdollars;
    if (cost)
      spend.Add({{"model", model}}).Increment(dollars(cost));
    if (t.created_at_ms && t.started_at_ms && *t.started_at_ms >= *t.created_at_ms)
      queue_wait.Observe(static_cast<double>(*t.started_at_ms - *t.created_at_ms) / 1000);
    if (!is_terminal(t.state))
      continue;
    ended.Add({{"state", std::string(to_string(t.state))}, {"model", model}}).Increment();
    if (t.started_at_ms && t.completed_at_ms && *t.completed_at_ms >= *t.started_at_ms)
      duration.Observe(static_cast<double>(*t.completed_at_ms - *t.started_at_ms) / 1000);
  }
  waits.Add({}).Increment(rate_waits);
}

} // namespace

std::string prometheus_exposition(const pool_status& status,
                                  const std::vector<task_record>& tasks) {
  prometheus::Registry reg;
  pool_gauges(reg, status);
  task_series(reg, tasks);
  return prometheus::TextSerializer().Serialize(reg.Collect());
}

} // namespace claude_pool::http_api
