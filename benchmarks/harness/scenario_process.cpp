// Scenario 2, process level: N runs of the minimal fake CLI at concurrency C, through the
// pool and through what a user would reach for instead, interleaved round by round:
//   raw_spawn  C threads of posix_spawn + pipes + waitpid: the physical limit (the baseline)
//   process_runner  the library's process runner alone, C requests outstanding: the part
//              of the pool's cost that is not the actors' (guardian, sweeps, one I/O thread)
//   pool       claude-pool with C slots and its real CLI executor (guardian, sweep, parse)
//   xargs      xargs -P C -n 1 (the fake ignores the item it gets as an argument)
//   parallel   GNU parallel -j C (when installed)
//   python     concurrent.futures threads + subprocess.run (benchmarks/runners/)
// Every variant runs the same executable with the same argv, environment changes and working
// directory as the pool's executor (cli_invocation). The pool and the Python runner pipe the
// prompt in and capture the output; xargs and parallel pass the children their own stdout.
// The pool's time includes building and destroying it, as xargs' includes its start and exit.
#include <algorithm>
#include <fstream>
#include <map>

#include "benchmarks/common/temp_dir.hpp"
#include "benchmarks/harness/comparison_variants.hpp"
#include "benchmarks/harness/scenarios.hpp"

namespace claude_pool::bench {

namespace {

/// `dir/items-N`: N lines `task-i` (no blanks: xargs splits on whitespace).
std::string items_file(const std::string& dir, std::size_t n) {
  auto path = dir + "/items-" + std::to_string(n);
  std::ofstream out(path, std::ios::trunc);
  for (std::size_t i = 0; i < n; ++i)
    out << "task-" << i << "\n";
  return path;
}

std::vector<std::string> with_command(std::vector<std::string> runner, const cli_invocation& inv) {
  runner.push_back(inv.executable);
  runner.insert(runner.end(), inv.args.begin(), inv.args.end());
  return runner;
}

} // namespace

nlohmann::json run_process_step(const nlohmann::json& spec) {
  auto c = spec.at("concurrency").get<std::size_t>();
  auto tasks = spec.at("tasks").get<std::size_t>();
  auto rounds = spec.at("rounds").get<int>();
  auto fake = spec.at("fake_cli").get<std::string>();
  auto python_runner = spec.at("python_runner").get<std::string>();
  auto wanted = spec.at("variants").get<std::vector<std::string>>();
  const std::string prompt = "task";

  temp_dir dir("claude-pool-bench-process");
  auto cfg = cli_pool_config(fake, dir.path(), c);
  auto inv = invocation_for(cfg, fake);
  auto cs = std::to_string(c);

  std::map<std::size_t, std::string> items; // by batch size, written once
  auto items_for = [&](std::size_t n) -> const std::string& {
    auto it = items.find(n);
    if (it == items.end())
      it = items.emplace(n, items_file(dir.path(), n)).first;
    return it->second;
  };

  pool_latencies latencies;
  std::vector<variant> all = {
    raw_spawn_variant(inv, c, prompt),
    process_runner_variant(inv, c, prompt),
    pool_variant(cfg, fake, prompt, latencies),
    {"xargs",
     [&](std::size_t n) {
       return run_external(with_command({"xargs", "-P", cs, "-n", "1", "-a", items_for(n)}, inv),
                           inv);
     }},
    {"parallel",
     [&](std::size_t n) {
       return run_external(
         with_command({"parallel", "--will-cite", "-j", cs, "-a", items_for(n)}, inv), inv);
     }},
    {"python",
     [&](std::size_t n) {
       return run_external(with_command({"python3", python_runner, "--jobs", cs, "--tasks",
                                         std::to_string(n), "--prompt", prompt, "--"},
                                        inv),
                           inv);
     }},
  };
  auto variants = interleaved_rounds(select(all, wanted), std::min<std::size_t>(tasks, 4 * c + 8),
                                     tasks, rounds, "raw_spawn",
                                     round_progress(spec, rounds, latencies));
  if (variants.contains("pool"))
    variants["pool"]["latency_ms"] = latencies.to_json();

  return {{"concurrency", c},
          {"tasks", tasks},
          {"rounds", rounds},
          {"command", with_command({}, inv)},
          {"variants", variants}};
}

} // namespace claude_pool::bench
