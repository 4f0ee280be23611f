// How much does the pool add to one task, and how well does it overlap tasks?
//
// Runs the real pinned CLI against the bundled mock API and measures, in one run:
//   1. one task through the bare CLI (the same argv, spawned directly) vs one task through the
//      pool, alternating A B A B … so machine drift hits both alike; medians and the ratio;
//   2. N tasks on S slots through the pool (wall time) vs the same N tasks one after another.
// Prints a table and writes a JSON report. Never asserts anything about time.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "benchmarks/common/cli_invocation.hpp"
#include "benchmarks/common/mock_cli_env.hpp"
#include "benchmarks/common/stats.hpp"
#include "messages/json.hpp"
#include "claude_pool/pool.hpp"
#include "runtime/process/process_runner.hpp"

using namespace claude_pool;
using claude_pool::bench::median;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

/// One task through the bare CLI, spawned directly with the argv the pool would use.
double bare_cli_once(runtime::process_runner& runner, const pool_config& cfg,
                     const std::string& prompt) {
  auto req = bench::invocation_for(cfg, *cfg.claude_bin).process_request(prompt);
  std::promise<runtime::process_outcome> done;
  auto t0 = clock_type::now();
  runner.start(req, [&](runtime::process_outcome o) { done.set_value(std::move(o)); });
  auto out = done.get_future().get();
  auto ms = ms_since(t0);
  if (out.exit_code != 0)
    std::cerr << "bare CLI run failed: " << out.stderr_data << "\n";
  return ms;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"claude-pool benchmark: pool overhead and overlap against the bare CLI"};
  int rounds = 7;
  int tasks = 8;
  int slots = 4;
  std::string claude_bin = CLAUDE_POOL_BUNDLED_CLI;
  std::string report = "pool_vs_cli.json";
  int delay_ms = 0;
  app.add_option("--rounds", rounds, "A/B rounds of one task each (default 7)");
  app.add_option("--tasks", tasks, "tasks in the overlap scenario (default 8)");
  app.add_option("--slots", slots, "slots in the overlap scenario (default 4)");
  app.add_option("--delay-ms", delay_ms, "mock API latency per request (default 0)");
  app.add_option("--claude-bin", claude_bin, "the claude CLI");
  app.add_option("--report", report, "JSON report path");
  CLI11_PARSE(app, argc, argv);

  bench::mock_cli_env env(claude_bin);
  auto cfg = env.config();
  std::string prompt = "benchmark task";
  if (delay_ms > 0)
    prompt += " [[mock:delay_ms=" + std::to_string(delay_ms) + "]]";

  // 1. One task: bare CLI vs pool, alternating.
  std::vector<double> bare, pooled, ratios;
  {
    runtime::process_runner runner;
    auto one_cfg = cfg;
    one_cfg.initial_slots = 1;
    claude_pool::pool p(one_cfg);
    bare_cli_once(runner, cfg, prompt); // warm-up: page cache, mock connections
    p.run(prompt);
    for (int i = 0; i < rounds; ++i) {
      auto a = bare_cli_once(runner, cfg, prompt);
      auto t0 = clock_type::now();
      auto rec = p.run(prompt);
      auto b = ms_since(t0);
      if (rec.state != task_state::completed)
        std::cerr << "pool run failed: " << nlohmann::json(rec).dump() << "\n";
      bare.push_back(a);
      pooled.push_back(b);
      ratios.push_back(b / a);
      std::cerr << "\rround " << (i + 1) << "/" << rounds << std::flush;
    }
    std::cerr << "\n";
  }

  // 2. N tasks on S slots vs one after another.
  double parallel_ms = 0, serial_ms = 0;
  {
    auto many = cfg;
    many.initial_slots = static_cast<std::uint64_t>(slots);
    many.scaling.max_slots = std::max<std::uint64_t>(16, many.initial_slots.value());
    claude_pool::pool p(many);
    auto t0 = clock_type::now();
    std::vector<task_id> ids;
    for (int i = 0; i < tasks; ++i)
      ids.push_back(p.submit(prompt + " #" + std::to_string(i)));
    for (auto& id : ids)
      p.wait(id);
    parallel_ms = ms_since(t0);
  }
  {
    auto one = cfg;
    one.initial_slots = 1;
    claude_pool::pool p(one);
    auto t0 = clock_type::now();
    for (int i = 0; i < tasks; ++i)
      p.run(prompt + " #" + std::to_string(i));
    serial_ms = ms_since(t0);
  }

  std::cout << "one task, median of " << rounds << " alternating rounds:\n"
            << "  bare CLI        " << median(bare) << " ms\n"
            << "  through pool    " << median(pooled) << " ms\n"
            << "  ratio pool/bare " << median(ratios) << " (median of per-round ratios)\n"
            << tasks << " tasks:\n"
            << "  on " << slots << " slots     " << parallel_ms << " ms\n"
            << "  on 1 slot      " << serial_ms << " ms\n"
            << "  speed-up       " << serial_ms / parallel_ms << "x on " << ::sysconf(_SC_NPROCESSORS_ONLN)
            << " cores\n";

  nlohmann::json j = {{"cores", ::sysconf(_SC_NPROCESSORS_ONLN)},
                      {"rounds", rounds},
                      {"mock_delay_ms", delay_ms},
                      {"one_task_ms", {{"bare_cli", bare}, {"pool", pooled}}},
                      {"one_task_median_ms", {{"bare_cli", median(bare)}, {"pool", median(pooled)}}},
                      {"pool_over_bare_median_ratio", median(ratios)},
                      {"overlap", {{"tasks", tasks}, {"slots", slots},
                                   {"parallel_wall_ms", parallel_ms},
                                   {"serial_wall_ms", serial_ms}}}};
  std::ofstream(report) << j.dump(2) << "\n";
  std::cout << "report: " << report << "\n";
  return 0;
}
