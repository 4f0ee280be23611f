// bench_spawn: what the spawner (issue 20) changes, in one run, the spawner and the old path
// (CLAUDE_POOL_SPAWNER=none: every child forked from the pool's process under a guardian)
// side by side:
//   1. spawn latency against the pool process's size: N children of /bin/true one after the
//      other through a process runner, from a process of ~20 MB and of ~2 GB resident
//      (memory touched, so a fork has its page tables to copy);
//   2. the pool process's own CPU per task (getrusage RUSAGE_SELF: not the children's) and
//      the throughput, running the minimal fake CLI through a pool at C slots.
// Figures only; --json writes them.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "benchmarks/common/cli_invocation.hpp"
#include "benchmarks/common/stats.hpp"
#include "benchmarks/common/temp_dir.hpp"
#include "benchmarks/harness/external_runs.hpp"
#include "benchmarks/harness/pool_driver.hpp"
#include "runtime/cli/cli_executor.hpp"
#include "runtime/process/process_runner.hpp"

using namespace claude_pool;
using clock_type = std::chrono::steady_clock;

namespace {

/// Selects the path for the runners made while it lives.
struct path_choice {
  explicit path_choice(bool spawner) {
    if (spawner)
      ::unsetenv("CLAUDE_POOL_SPAWNER");
    else
      ::setenv("CLAUDE_POOL_SPAWNER", "none", 1);
  }
  ~path_choice() { ::unsetenv("CLAUDE_POOL_SPAWNER"); }
};

const char* name_of(bool spawner) { return spawner ? "spawner" : "guardian"; }

/// µs from start() to the completion of each of `n` /bin/true children, one at a time.
std::vector<double> spawn_latencies(bool spawner, int n) {
  path_choice path(spawner);
  runtime::process_runner runner;
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    runtime::process_request req;
    req.executable = "/bin/true";
    std::promise<runtime::process_outcome> done;
    auto t0 = clock_type::now();
    runner.start(std::move(req), [&](runtime::process_outcome o) { done.set_value(std::move(o)); });
    auto o = done.get_future().get();
    if (o.end != runtime::process_end::exited)
      throw std::runtime_error("bench_spawn: /bin/true did not run: " + o.spawn_error);
    out.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  return out;
}

long resident_kb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kb = 0;
      in >> kb;
      return kb;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

double cpu_seconds_self() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_spawn: the spawner against forking the pool's process, same run"};
  int spawns = 300, rounds = 3, tasks = 1000;
  std::size_t slots = 4, big_mb = 2048;
  std::string fake = CLAUDE_POOL_MINIMAL_CLI, json_path;
  app.add_option("--spawns", spawns, "children per latency sample (300)");
  app.add_option("--rounds", rounds, "interleaved rounds (3)");
  app.add_option("--tasks", tasks, "tasks per pool run (1000)");
  app.add_option("--slots", slots, "slots of the pool runs (4)");
  app.add_option("--big-mb", big_mb, "the large process's resident size in MiB (2048)");
  app.add_option("--json", json_path, "write the figures to this file");
  bool pool_only = false;
  app.add_flag("--pool-only", pool_only,
               "only the pool through the spawner (for a profiler: no other variant runs)");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json report{{"spawns", spawns}, {"rounds", rounds}, {"tasks", tasks},
                        {"slots", slots}, {"big_mb", big_mb}};

  // 1. Spawn latency, small process then large, both paths each time.
  std::map<std::string, std::vector<double>> lat; // "spawner/small" → µs
  std::map<std::string, long> rss;
  for (int r = 0; r < rounds && !pool_only; ++r) {
    for (bool big : {false, true}) {
      std::vector<char> ballast;
      if (big) {
        ballast.resize(big_mb << 20);
        std::memset(ballast.data(), 1, ballast.size()); // resident, not just reserved
      }
      auto size = big ? std::string("big") : std::string("small");
      rss[size] = resident_kb();
      for (bool spawner : {r % 2 == 0, r % 2 != 0}) {
        std::cerr << "round " << r + 1 << ": " << size << " process, " << name_of(spawner) << "\n";
        auto v = spawn_latencies(spawner, spawns);
        auto& all = lat[std::string(name_of(spawner)) + "/" + size];
        all.insert(all.end(), v.begin(), v.end());
      }
    }
  }
  std::cout << "spawn latency of /bin/true, start to completion (" << rounds << " x " << spawns
            << " each):\n";
  for (bool spawner : {true, false}) {
    if (pool_only)
      break;
    auto small = bench::summarize(lat[std::string(name_of(spawner)) + "/small"]);
    auto big = bench::summarize(lat[std::string(name_of(spawner)) + "/big"]);
    std::cout << "  " << name_of(spawner) << ": " << rss["small"] / 1024 << " MB process p50 "
              << small.p50 << " us (p99 " << small.p99 << "), " << rss["big"] / 1024
              << " MB process p50 " << big.p50 << " us (p99 " << big.p99 << "): "
              << big.p50 / small.p50 << "x\n";
    report["latency"][name_of(spawner)] = {{"small_rss_mb", rss["small"] / 1024},
                                           {"big_rss_mb", rss["big"] / 1024},
                                           {"small_p50_us", small.p50},
                                           {"small_p99_us", small.p99},
                                           {"big_p50_us", big.p50},
                                           {"big_p99_us", big.p99},
                                           {"big_vs_small", big.p50 / small.p50}};
  }

  // 2. The pool process's CPU per task and the throughput, minimal fake CLI.
  bench::temp_dir dir("claude-pool-bench-spawn");
  auto cfg = bench::cli_pool_config(fake, dir.path(), slots);
  auto inv = bench::invocation_for(cfg, fake);
  std::map<std::string, std::vector<double>> rate, cpu;
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 3; ++k) {
      int which = (r + k) % 3; // rotate: raw loop, spawner, guardian
      if (pool_only && which != 1)
        continue;
      if (which == 0) {
        std::cerr << "round " << r + 1 << ": raw posix_spawn loop\n";
        auto b = bench::run_raw_spawn_loop(inv, static_cast<std::size_t>(tasks), slots, "task");
        rate["raw_spawn"].push_back(tasks / b.wall_s);
        continue;
      }
      bool spawner = which == 1;
      std::cerr << "round " << r + 1 << ": pool, " << name_of(spawner) << "\n";
      path_choice path(spawner);
      bench::drive_plan plan;
      plan.tasks = static_cast<std::size_t>(tasks);
      auto before = cpu_seconds_self();
      auto res = bench::run_through_pool(cfg, std::make_shared<cli_executor>(cfg, fake), plan);
      auto used = cpu_seconds_self() - before;
      if (res.failed)
        throw std::runtime_error("bench_spawn: " + std::to_string(res.failed)
                                 + " tasks failed: " + res.first_failure);
      rate[name_of(spawner)].push_back(tasks / res.wall_s);
      cpu[name_of(spawner)].push_back(used / tasks);
    }
  }
  double raw = pool_only ? 1 : bench::median(rate["raw_spawn"]);
  std::cout << "the minimal fake CLI through a pool of " << slots << " slots (" << rounds
            << " x " << tasks << " tasks):\n"
            << "  raw posix_spawn loop: " << raw << " tasks/s\n";
  for (bool spawner : {true, false}) {
    if (pool_only && !spawner)
      break;
    double tps = bench::median(rate[name_of(spawner)]);
    double cpu_ms = bench::median(cpu[name_of(spawner)]) * 1000;
    std::cout << "  pool, " << name_of(spawner) << ": " << tps << " tasks/s (" << tps / raw
              << "x the raw loop); the pool process's own CPU " << cpu_ms << " ms per task\n";
    report["pool"][name_of(spawner)] = {{"tasks_per_s", tps},
                                        {"vs_raw_spawn", tps / raw},
                                        {"pool_cpu_ms_per_task", cpu_ms},
                                        {"round_tasks_per_s", rate[name_of(spawner)]}};
  }
  report["pool"]["raw_spawn"] = {{"tasks_per_s", raw}, {"round_tasks_per_s", rate["raw_spawn"]}};
  if (!json_path.empty())
    std::ofstream(json_path) << report.dump(2) << '\n';
  return 0;
}
