// Scenario 1, routing only: the executor completes every task inside start(), so all that
// is measured is the actors' work per task (submit, route, execute, exec_done, task_done,
// reply). Two loads per slot count:
// - saturated: `window` requests in flight, more than there are slots: throughput, and the
//   latencies a task sees behind a queue;
// - idle: one request at a time, so every task finds an idle slot and an empty queue: the
//   pool's own submit→start and submit→done latency.
#include <algorithm>

#include "benchmarks/common/stats.hpp"
#include "benchmarks/harness/bench_executors.hpp"
#include "benchmarks/harness/pool_driver.hpp"
#include "benchmarks/harness/report_json.hpp"
#include "benchmarks/harness/scenarios.hpp"

namespace claude_pool::bench {

nlohmann::json run_routing_step(const nlohmann::json& spec) {
  auto slots = spec.at("slots").get<std::uint64_t>();
  auto tasks = spec.at("tasks").get<std::size_t>();
  auto window = spec.at("window").get<std::size_t>();
  auto idle_tasks = spec.at("idle_tasks").get<std::size_t>();
  auto rounds = spec.at("rounds").get<int>();

  pool_config cfg;
  cfg.initial_slots = slots;
  cfg.scaling.max_slots = std::max<std::uint64_t>(slots, cfg.scaling.max_slots);
  cfg.slot_mode = slot_mode::ephemeral;

  drive_plan saturated;
  saturated.tasks = tasks;
  saturated.window = window;
  std::vector<double> throughput, run_s, start_us, done_us;
  std::size_t failed = 0;
  for (int r = 0; r < rounds; ++r) {
    step_progress(spec, "round " + std::to_string(r + 1) + "/" + std::to_string(rounds));
    auto res = run_through_pool(cfg, std::make_shared<instant_executor>(), saturated);
    throughput.push_back(res.run_s > 0 ? static_cast<double>(tasks) / res.run_s : 0);
    run_s.push_back(res.run_s);
    failed += res.failed;
    start_us.insert(start_us.end(), res.submit_to_start_us.begin(), res.submit_to_start_us.end());
    done_us.insert(done_us.end(), res.submit_to_done_us.begin(), res.submit_to_done_us.end());
  }

  step_progress(spec, "one task at a time");
  drive_plan one_at_a_time;
  one_at_a_time.tasks = idle_tasks;
  one_at_a_time.window = 1;
  auto idle = run_through_pool(cfg, std::make_shared<instant_executor>(), one_at_a_time);
  failed += idle.failed;

  return {{"slots", slots},
          {"tasks", tasks},
          {"window", window},
          {"rounds", rounds},
          {"throughput", median(throughput)},
          {"throughput_per_round", throughput},
          {"run_s_per_round", run_s},
          {"saturated_latency_us",
           {{"submit_to_start", to_json(summarize(start_us))},
            {"submit_to_done", to_json(summarize(done_us))}}},
          {"idle_slot_latency_us",
           {{"tasks", idle_tasks},
            {"submit_to_start", to_json(summarize(idle.submit_to_start_us))},
            {"submit_to_done", to_json(summarize(idle.submit_to_done_us))}}},
          {"failed", failed}};
}

} // namespace claude_pool::bench
