#include "http_api/prometheus_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace claude_pool::http_api {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Histogram;

double dollars(std::uint64_t microdollars) { return static_cast<double>(microdollars) / 1e6; }

/// Seconds from 10 ms to an hour: tasks of the CLI take from a second to many minutes.
Histogram::BucketBoundaries seconds_buckets() {
  return {0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};
}

/// A store write takes from tens of microseconds (one record, page cache) to seconds (a
/// slow disk, a large batch).
Histogram::BucketBoundaries store_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};
}

double seconds_between(std::uint64_t from_ms, std::uint64_t to_ms) {
  return static_cast<double>(to_ms - from_ms) / 1000;
}

} // namespace

struct prometheus_metrics::families {
  Family<Counter>& ended;
  Family<Counter>& spend;
  Family<Counter>& tokens;
  Family<Counter>& rate_limit_waits;
  Family<Counter>& rate_limit_pauses;
  Family<Counter>& restarts;
  Family<Counter>& given_up;
  Family<Counter>& store_failures;
  Histogram& duration;
  Histogram& queue_wait;
  Histogram& store_write;
};

prometheus_metrics::prometheus_metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& reg = *registry_;
  f_.reset(new families{
    prometheus::BuildCounter()
      .Name("claude_pool_tasks_ended_total")
      .Help("Tasks that ended, by state and model")
      .Register(reg),
    prometheus::BuildCounter()
      .Name("claude_pool_spend_dollars_total")
      .Help("What the CLI reported ended tasks cost, by model (failed attempts included)")
      .Register(reg),
    prometheus::BuildCounter()
      .Name("claude_pool_tokens_total")
      .Help("Tokens of ended tasks' final runs, by model and type (input, output, "
            "cache_creation, cache_read)")
      .Register(reg),
    prometheus::BuildCounter()
      .Name("claude_pool_rate_limit_waits_total")
      .Help("Times ended tasks went back to the queue for a rate limit or usage window")
      .Register(reg),
    prometheus::BuildCounter()
      .Name("claude_pool_rate_limit_pauses_total")
      .Help("Rate-limit and overload pauses of a credential (429/529 cool-downs)")
      .Register(reg),
    prometheus::BuildCounter()
      .Name("claude_pool_slot_restarts_total")
      .Help("Slot restarts under supervision, by failure class")
      .Register(reg),
    prometheus::BuildCounter()
      .Name("claude_pool_slots_given_up_total")
      .Help("Slots the supervisor stopped restarting (out of restarts, or a refused login), "
            "by failure class")
      .Register(reg),
    prometheus::BuildCounter()
      .Name("claude_pool_store_write_failures_total")
      .Help("Writes to the durable store that failed (the records are written again)")
      .Register(reg),
    prometheus::BuildHistogram()
      .Name("claude_pool_task_duration_seconds")
      .Help("From a task's start to its end")
      .Register(reg)
      .Add({}, seconds_buckets()),
    prometheus::BuildHistogram()
      .Name("claude_pool_task_queue_wait_seconds")
      .Help("From a task's submission to its (last) start")
      .Register(reg)
      .Add({}, seconds_buckets()),
    prometheus::BuildHistogram()
      .Name("claude_pool_store_write_seconds")
      .Help("One write of the changed task records to the durable store")
      .Register(reg)
      .Add({}, store_buckets())});
  // Present from the first scrape, so rate() has a start.
  f_->rate_limit_pauses.Add({});
  f_->store_failures.Add({});
}

prometheus_metrics::~prometheus_metrics() = default;

void prometheus_metrics::task_changed(const task_record& t) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!is_terminal(t.state)) {
    live_.insert(t.id.value);
    return;
  }
  if (!live_.erase(t.id.value) && ended_.contains(t.id.value))
    return; // its end was counted already
  ended_.add(t.id.value);
  auto model = t.result && t.result->model ? *t.result->model : std::string("unknown");
  f_->ended.Add({{"state", std::string(to_string(t.state))}, {"model", model}}).Increment();
  std::uint64_t cost = t.result ? t.result->cost_microdollars : 0;
  for (auto& a : t.attempts)
    cost += a.cost_microdollars;
  if (cost)
    f_->spend.Add({{"model", model}}).Increment(dollars(cost));
  if (t.result && t.result->usage) {
    auto& u = *t.result->usage;
    auto add = [&](const char* type, std::uint64_t n) {
      if (n)
        f_->tokens.Add({{"model", model}, {"type", type}}).Increment(static_cast<double>(n));
    };
    add("input", u.input_tokens);
    add("output", u.output_tokens);
    add("cache_creation", u.cache_creation_input_tokens);
    add("cache_read", u.cache_read_input_tokens);
  }
  if (t.rate_limit_waits)
    f_->rate_limit_waits.Add({}).Increment(t.rate_limit_waits);
  if (t.created_at_ms && t.started_at_ms && *t.started_at_ms >= *t.created_at_ms)
    f_->queue_wait.Observe(seconds_between(*t.created_at_ms, *t.started_at_ms));
  if (t.started_at_ms && t.completed_at_ms && *t.completed_at_ms >= *t.started_at_ms)
    f_->duration.Observe(seconds_between(*t.started_at_ms, *t.completed_at_ms));
}

void prometheus_metrics::event(const pool_event& ev) {
  auto why = ev.failure_class.value_or("other");
  if (ev.kind == "slot_restarting")
    f_->restarts.Add({{"class", why}}).Increment();
  else if (ev.kind == "slot_errored" || ev.kind == "auth_failed")
    f_->given_up.Add({{"class", why}}).Increment();
  else if (ev.kind == "rate_limited")
    f_->rate_limit_pauses.Add({}).Increment();
}

void prometheus_metrics::store_write(std::chrono::microseconds took, std::size_t, bool ok) {
  f_->store_write.Observe(static_cast<double>(took.count()) / 1e6);
  if (!ok)
    f_->store_failures.Add({}).Increment();
}

std::string prometheus_metrics::exposition(const pool_status& st) const {
  prometheus::Registry now; // the gauges: what the status says at this scrape
  auto& tasks = prometheus::BuildGauge()
                  .Name("claude_pool_tasks")
                  .Help("Tasks the pool holds, by state")
                  .Register(now);
  tasks.Add({{"state", "pending"}}).Set(static_cast<double>(st.pending));
  tasks.Add({{"state", "running"}}).Set(static_cast<double>(st.running));
  tasks.Add({{"state", "completed"}}).Set(static_cast<double>(st.completed));
  tasks.Add({{"state", "failed"}}).Set(static_cast<double>(st.failed));
  tasks.Add({{"state", "cancelled"}}).Set(static_cast<double>(st.cancelled));
  tasks.Add({{"state", "pending_review"}}).Set(static_cast<double>(st.pending_review));
  prometheus::BuildGauge()
    .Name("claude_pool_queue_depth")
    .Help("Tasks waiting for a slot")
    .Register(now)
    .Add({})
    .Set(static_cast<double>(st.pending));
  auto& slots = prometheus::BuildGauge().Name("claude_pool_slots").Help("Slots by state").Register(now);
  std::map<std::string, double> by_state{{"idle", 0}, {"busy", 0}, {"errored", 0}};
  for (auto& s : st.slots)
    by_state[std::string(to_string(s.state))] += 1;
  for (auto& [state, n] : by_state)
    slots.Add({{"state", state}}).Set(n);
  auto& waiting = prometheus::BuildGauge()
                    .Name("claude_pool_credential_waiting")
                    .Help("1 while a credential waits for a rate limit, a usage window or a "
                          "refused login's probe")
                    .Register(now);
  for (auto& c : st.credentials)
    waiting.Add({{"credential", c.name}}).Set(c.waiting_until_ms || c.login_refused ? 1.0 : 0.0);
  if (st.budget) {
    auto& budget = prometheus::BuildGauge()
                     .Name("claude_pool_budget_dollars")
                     .Help("The budget: spent, reserved by running tasks, remaining of the cap")
                     .Register(now);
    budget.Add({{"kind", "spent"}}).Set(dollars(st.budget->spent_microdollars));
    budget.Add({{"kind", "reserved"}}).Set(dollars(st.budget->reserved_microdollars));
    if (st.budget->remaining_microdollars)
      budget.Add({{"kind", "remaining"}}).Set(dollars(*st.budget->remaining_microdollars));
  }
  auto families = now.Collect();
  for (auto& f : registry_->Collect())
    families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

} // namespace claude_pool::http_api
