// bench_store: what durability costs per task. The same pool (instant executor, so the pool
// and the store are all that is measured) runs N tasks with no store, the in-memory store,
// and the SQLite store, in interleaved rounds; prints tasks/s and the ratios (median of the
// per-round ratios). Figures only: nothing here asserts a time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "claude_pool/pool.hpp"
#include "runtime/store/task_store.hpp"

using namespace claude_pool;

namespace {

/// Completes every task at once, on its own thread, like a CLI that answers instantly.
class instant_executor : public task_executor {
public:
  std::uint64_t start(execution_request req, completion done) override {
    task_result r;
    r.success = true;
    r.output = "ok " + req.task.value;
    r.cost_microdollars = 1;
    r.turns_used = 1;
    done(std::move(r));
    return ++next_;
  }
  void cancel(std::uint64_t) override {}

private:
  std::atomic<std::uint64_t> next_{0};
};

double run_once(const std::string& kind, std::size_t tasks, std::uint64_t slots,
                const std::string& dir) {
  pool_config cfg;
  cfg.initial_slots = slots;
  cfg.scaling.max_slots = slots;
  pool_options opts;
  opts.executor = std::make_shared<instant_executor>();
  auto db = dir + "/bench-" + std::to_string(::getpid()) + ".db";
  if (kind == "memory")
    opts.store = std::shared_ptr<task_store>(make_memory_store());
  else if (kind == "sqlite")
    opts.store = std::shared_ptr<task_store>(open_sqlite_store(db));
  auto start = std::chrono::steady_clock::now();
  {
    claude_pool::pool p(cfg, opts);
    std::vector<task_id> ids;
    ids.reserve(tasks);
    for (std::size_t i = 0; i < tasks; ++i)
      ids.push_back(p.submit("task " + std::to_string(i)));
    for (auto& id : ids)
      p.wait(id);
  }
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  opts.store.reset();
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(db + suffix);
  return static_cast<double>(tasks) / secs;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_store: tasks/s with no store, the in-memory store and SQLite"};
  std::size_t tasks = 2000;
  int rounds = 5;
  std::uint64_t slots = 4;
  std::string dir = std::filesystem::temp_directory_path().string();
  app.add_option("--tasks", tasks, "tasks per run (default 2000)");
  app.add_option("--rounds", rounds, "interleaved rounds (default 5)");
  app.add_option("--slots", slots, "slots (default 4)");
  app.add_option("--dir", dir, "where the SQLite file goes (default: the temp directory)");
  CLI11_PARSE(app, argc, argv);
  const std::vector<std::string> kinds = {"none", "memory", "sqlite"};
  std::vector<std::vector<double>> rates(kinds.size());
  std::vector<double> mem_ratio, sql_ratio;
  run_once("sqlite", tasks / 10 + 1, slots, dir); // warm-up: page cache, allocator
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> now;
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      now.push_back(run_once(kinds[k], tasks, slots, dir));
      rates[k].push_back(now.back());
    }
    mem_ratio.push_back(now[1] / now[0]);
    sql_ratio.push_back(now[2] / now[0]);
    std::printf("round %d: none %.0f, memory %.0f, sqlite %.0f tasks/s\n", r + 1, now[0], now[1],
                now[2]);
  }
  std::printf("\n%zu tasks, %llu slots, %d rounds (median tasks/s)\n", tasks,
              static_cast<unsigned long long>(slots), rounds);
  for (std::size_t k = 0; k < kinds.size(); ++k)
    std::printf("  %-7s %10.0f tasks/s  (%.1f us per task)\n", kinds[k].c_str(), median(rates[k]),
                1e6 / median(rates[k]));
  std::printf("  memory / none  %.3f\n  sqlite / none  %.3f\n", median(mem_ratio),
              median(sql_ratio));
  std::printf("  SQLite durability cost: %.1f us per task\n",
              1e6 / median(rates[2]) - 1e6 / median(rates[0]));
  return 0;
}
