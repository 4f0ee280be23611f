#include "benchmarks/harness/comparison_variants.hpp"

#include <algorithm>

#include "benchmarks/common/stats.hpp"
#include "benchmarks/harness/pool_driver.hpp"
#include "benchmarks/harness/report_json.hpp"
#include "benchmarks/harness/scenarios.hpp"
#include "runtime/cli/cli_executor.hpp"

namespace claude_pool::bench {

nlohmann::json pool_latencies::to_json() const {
  return {{"submit_to_start", bench::to_json(summarize_ms(start_us))},
          {"submit_to_done", bench::to_json(summarize_ms(done_us))}};
}

variant pool_variant(const pool_config& cfg, const std::string& claude_bin,
                     const std::string& prompt, pool_latencies& latencies, std::string name) {
  return {std::move(name), [cfg, claude_bin, prompt, &latencies](std::size_t n) {
            drive_plan plan;
            plan.tasks = n;
            plan.prompt = prompt;
            auto r = run_through_pool(cfg, std::make_shared<cli_executor>(cfg, claude_bin), plan);
            if (latencies.measuring) {
              auto& l = latencies;
              l.start_us.insert(l.start_us.end(), r.submit_to_start_us.begin(),
                                r.submit_to_start_us.end());
              l.done_us.insert(l.done_us.end(), r.submit_to_done_us.begin(),
                               r.submit_to_done_us.end());
            }
            return batch_outcome{r.wall_s, r.failed, r.first_failure};
          }};
}

variant raw_spawn_variant(const cli_invocation& inv, std::size_t concurrency,
                          const std::string& prompt) {
  return {"raw_spawn", [inv, concurrency, prompt](std::size_t n) {
            return run_raw_spawn_loop(inv, n, concurrency, prompt);
          }};
}

variant process_runner_variant(const cli_invocation& inv, std::size_t concurrency,
                               const std::string& prompt) {
  return {"process_runner", [inv, concurrency, prompt](std::size_t n) {
            return run_process_runner_loop(inv, n, concurrency, prompt);
          }};
}

std::vector<variant> select(const std::vector<variant>& all,
                            const std::vector<std::string>& wanted) {
  std::vector<variant> out;
  for (auto& v : all)
    if (std::find(wanted.begin(), wanted.end(), v.name) != wanted.end())
      out.push_back(v);
  return out;
}

std::function<void(int, const std::string&)>
round_progress(const nlohmann::json& spec, int rounds, pool_latencies& latencies) {
  return [spec, rounds, &latencies](int round, const std::string& name) {
    step_progress(spec, (round < 0 ? std::string("warm-up")
                                   : "round " + std::to_string(round + 1) + "/"
                                       + std::to_string(rounds))
                          + " " + name);
    latencies.measuring = round >= 0;
  };
}

} // namespace claude_pool::bench
