// How much does the pool add to one task, and how well does it overlap tasks?
//
// Runs the real pinned CLI against the bundled mock API and measures, in one run:
//   1. one task through the bare CLI (the same argv, spawned directly) vs one task through the
//      pool, alternating A B A B … so machine drift hits both alike; medians and the ratio;
//   2. N tasks on S slots through the pool (wall time) vs the same N tasks one after another.
// Prints a table and writes a JSON report. Never asserts anything about time.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "messages/json.hpp"
#include "runtime/cli_command.hpp"
#include "runtime/mock_api/mock_api_server.hpp"
#include "runtime/pool.hpp"
#include "runtime/process_runner.hpp"

using namespace claude_pool;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n == 0 ? 0 : (n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2);
}

/// One task through the bare CLI, spawned directly with the argv the pool would use.
double bare_cli_once(runtime::process_runner& runner, const pool_config& cfg,
                     const std::string& prompt) {
  runtime::process_request req;
  req.executable = *cfg.claude_bin;
  req.args = build_cli_args(resolve_config(cfg, slot_config{}, nullptr), std::nullopt);
  req.stdin_data = prompt;
  for (auto& [k, v] : cfg.cli_env)
    req.env_set.emplace_back(k, v);
  req.env_set.emplace_back("CLAUDE_CODE_MAX_RETRIES", std::to_string(cfg.cli_max_retries));
  req.working_dir = cfg.working_dir.value_or("");
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

  mock_api::server mock;
  mock.start();
  char pattern[] = "/tmp/claude-pool-bench-XXXXXX";
  std::string home = ::mkdtemp(pattern);
  pool_config cfg;
  cfg.claude_bin = claude_bin;
  cfg.working_dir = home;
  cfg.slot_mode = slot_mode::ephemeral; // every run starts fresh, as the bare CLI does
  cfg.cli_env = {{"ANTHROPIC_BASE_URL", mock.base_url()},
                 {"ANTHROPIC_API_KEY", "bench"},
                 {"HOME", home},
                 {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"}};
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
  mock.stop();
  std::filesystem::remove_all(home);
  return 0;
}
