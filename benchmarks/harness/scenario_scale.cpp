// Scenario 4, scale. Memory is measured as malloc's bytes in use (exact, free of page
// granularity) and as resident set size, each as a difference between two moments of one
// process, divided by the count:
// - idle_slots: a pool with 1 slot, then a second pool with N slots in the same actor
//   system; (after − before) / N is what one idle slot costs (its actor, its record in the
//   pool and in the supervisor).
// - task_records: N tasks completed through an instant executor; the pool keeps every record
//   (with its result) for list/metrics; (after − before) / N is one record. The prompts
//   ("task 123456") and outputs ("ok") fit in std::string's inline buffer, so the figure is
//   the record's own cost.
// - submission: one slot held busy forever, so everything submitted waits in the queue:
//   the rate of filling the queue to N, then the rate of submitting more with N queued —
//   through the pool actor (requests in flight) and through the facade's blocking submit().
#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "benchmarks/common/stats.hpp"
#include "benchmarks/harness/bench_executors.hpp"
#include "benchmarks/harness/pool_driver.hpp"
#include "benchmarks/harness/process_memory.hpp"
#include "benchmarks/harness/report_json.hpp"
#include "benchmarks/harness/scenarios.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool::bench {

namespace {

pool_config with_slots(std::uint64_t n) {
  pool_config cfg;
  cfg.initial_slots = n;
  cfg.scaling.max_slots = std::max<std::uint64_t>(n, cfg.scaling.max_slots);
  cfg.slot_mode = slot_mode::ephemeral;
  return cfg;
}

pool_options with_executor(std::shared_ptr<task_executor> executor) {
  pool_options opts;
  opts.executor = std::move(executor);
  return opts;
}

/// Slots announce themselves to the pool asynchronously; this waits until all have.
void wait_for_slots(pool& p, std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (p.status().slots.size() < n) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the pool did not start " + std::to_string(n) + " slots in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

double per_item(std::uint64_t before, std::uint64_t after, std::size_t n) {
  return n == 0 ? 0 : (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(n);
}

double seconds_since(std::int64_t t0) { return static_cast<double>(now_ns() - t0) / 1e9; }

nlohmann::json measure_idle_slots(const nlohmann::json& spec) {
  auto n = spec.at("slots").get<std::size_t>();
  caf::actor_system_config sys_cfg;
  add_message_types(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto executor = std::make_shared<instant_executor>();
  pool first(sys, with_slots(1), with_executor(executor));
  wait_for_slots(first, 1);
  auto heap0 = heap_in_use_bytes();
  auto rss0 = resident_bytes();
  auto t0 = now_ns();
  pool many(sys, with_slots(n), with_executor(executor));
  wait_for_slots(many, n);
  auto startup_s = seconds_since(t0);
  auto heap1 = heap_in_use_bytes();
  auto rss1 = resident_bytes();
  return {{"measure", "idle_slots"},
          {"slots", n},
          {"heap_bytes_per_slot", per_item(heap0, heap1, n)},
          {"rss_bytes_per_slot", per_item(rss0, rss1, n)},
          {"startup_s", startup_s}};
}

nlohmann::json measure_task_records(const nlohmann::json& spec) {
  auto n = spec.at("records").get<std::size_t>();
  drive_samples samples(n); // allocated before the first measurement: not a record's cost
  pool p(with_slots(4), with_executor(std::make_shared<instant_executor>()));
  wait_for_slots(p, 4);
  drive_plan plan;
  plan.tasks = n;
  plan.window = 1024;
  auto heap0 = heap_in_use_bytes();
  auto rss0 = resident_bytes();
  auto t0 = now_ns();
  drive(p, plan, samples);
  auto run_s = seconds_since(t0);
  auto heap1 = heap_in_use_bytes();
  auto rss1 = resident_bytes();
  auto last_prompt = plan.prompt + " " + std::to_string(n - 1);
  return {{"measure", "task_records"},
          {"records", n},
          {"failed", samples.failed},
          {"heap_bytes_per_record", per_item(heap0, heap1, n)},
          {"rss_bytes_per_record", per_item(rss0, rss1, n)},
          {"prompt_bytes_max", last_prompt.size()},
          {"output_bytes", 2},
          {"sizeof_task_record", sizeof(task_record)},
          {"sizeof_task_result", sizeof(task_result)},
          {"throughput", run_s > 0 ? static_cast<double>(n) / run_s : 0}};
}

nlohmann::json measure_submission(const nlohmann::json& spec) {
  auto queued = spec.at("queued").get<std::size_t>();
  auto extra = spec.at("extra").get<std::size_t>();
  auto facade_extra = spec.at("facade_extra").get<std::size_t>();
  pool p(with_slots(1), with_executor(std::make_shared<holding_executor>()));
  wait_for_slots(p, 1);

  drive_plan fill;
  fill.tasks = queued;
  fill.window = 1024;
  fill.until_done = false;
  drive_samples fill_samples(queued);
  auto t0 = now_ns();
  drive(p, fill, fill_samples);
  auto fill_s = seconds_since(t0);

  drive_plan more = fill;
  more.tasks = extra;
  more.prompt = "more";
  drive_samples more_samples(extra);
  t0 = now_ns();
  drive(p, more, more_samples);
  auto more_s = seconds_since(t0);
  std::vector<double> accept_us;
  for (std::size_t i = 0; i < extra; ++i)
    accept_us.push_back(static_cast<double>(more_samples.answered[i] - more_samples.submitted[i]) / 1e3);

  t0 = now_ns();
  for (std::size_t i = 0; i < facade_extra; ++i)
    p.submit("facade " + std::to_string(i));
  auto facade_s = seconds_since(t0);

  // The same number through the facade's batch call, 1,000 submissions per call.
  std::size_t batch_failed = 0;
  t0 = now_ns();
  for (std::size_t done = 0; done < facade_extra;) {
    std::vector<task_submission> batch;
    for (std::size_t i = 0; i < 1000 && done < facade_extra; ++i, ++done)
      batch.push_back(task_submission{"batch " + std::to_string(done), {}, std::nullopt});
    for (auto& answer : p.submit_all(std::move(batch)))
      batch_failed += !answer.id;
  }
  auto batch_s = seconds_since(t0);

  auto rate = [](std::size_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0; };
  return {{"measure", "submission"},
          {"queued", queued},
          {"fill_rate", rate(queued, fill_s)},
          {"extra", extra},
          {"rate_with_queue", rate(extra, more_s)},
          {"accept_latency_us_with_queue", to_json(summarize(accept_us))},
          {"facade_extra", facade_extra},
          {"facade_rate_with_queue", rate(facade_extra, facade_s)},
          {"facade_batch_rate_with_queue", rate(facade_extra, batch_s)},
          {"failed", fill_samples.failed + more_samples.failed + batch_failed}};
}

} // namespace

nlohmann::json run_scale_step(const nlohmann::json& spec) {
  auto what = spec.at("measure").get<std::string>();
  step_progress(spec, what);
  if (what == "idle_slots")
    return measure_idle_slots(spec);
  if (what == "task_records")
    return measure_task_records(spec);
  if (what == "submission")
    return measure_submission(spec);
  throw std::invalid_argument("unknown scale measure " + what);
}

} // namespace claude_pool::bench
