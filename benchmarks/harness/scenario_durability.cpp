// Scenario 5, durability: what the store costs per task. The routing scenario's pool (the
// instant executor, so the actors and the store are all that is measured) runs the same
// batch with no store, the in-memory store and the SQLite store (WAL, synchronous=FULL: a
// task is on disk before it is acknowledged), interleaved round by round (see
// interleaved_rounds.hpp). Each task costs 1 µ$, so the spend changes and is stored with
// every task, as with a real CLI. A fresh store per run: the in-memory one, or a new SQLite
// file in a temporary directory, removed with its -wal and -shm files after the run.
// Opening and closing the store are not timed; building and destroying the pool are (a
// whole batch, as in bench_store, which measures the same as a standalone program).
#include <algorithm>
#include <filesystem>

#include "benchmarks/common/stats.hpp"
#include "benchmarks/common/temp_dir.hpp"
#include "benchmarks/harness/bench_executors.hpp"
#include "benchmarks/harness/interleaved_rounds.hpp"
#include "benchmarks/harness/pool_driver.hpp"
#include "benchmarks/harness/scenarios.hpp"
#include "runtime/store/task_store.hpp"

namespace claude_pool::bench {

namespace {

enum class store_kind { none, memory, sqlite };

/// A fresh store of `kind`: none (null), in memory, or a new SQLite file at `db`.
std::shared_ptr<task_store> open_store(store_kind kind, const std::string& db) {
  switch (kind) {
    case store_kind::memory: return make_memory_store();
    case store_kind::sqlite: return open_sqlite_store(db);
    case store_kind::none: break;
  }
  return nullptr;
}

/// The database and SQLite's side files, so that the next run starts from an empty store.
void remove_database(const std::string& db) {
  std::error_code ignored;
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(db + suffix, ignored);
}

/// One batch through a fresh pool with a fresh store of `kind`. The variant holds the store
/// until the pool is gone, so closing it (SQLite's last checkpoint) is not timed either.
variant store_variant(std::string name, store_kind kind, const pool_config& cfg,
                      const drive_plan& plan, const std::string& db) {
  return {std::move(name), [kind, cfg, plan, db](std::size_t n) {
            auto p = plan;
            p.tasks = n;
            batch_outcome out;
            try {
              auto store = open_store(kind, db);
              // 1 µ$ a task: the spend changes with every task and is stored, as for real.
              auto r = run_through_pool(cfg, std::make_shared<instant_executor>(1), p, store);
              store.reset();
              out = {r.wall_s, r.failed, r.first_failure};
            } catch (const std::exception& e) {
              out = {0, n, e.what()};
            }
            if (kind == store_kind::sqlite)
              remove_database(db);
            return out;
          }};
}

/// Microseconds a task costs more at `rate` than at `baseline` (tasks/s each); 0 if unknown.
double extra_us_per_task(double rate, double baseline) {
  return rate > 0 && baseline > 0 ? (1 / rate - 1 / baseline) * 1e6 : 0;
}

/// Median over rounds of `a`'s tasks/s over `b`'s in the same round.
double median_round_ratio(const nlohmann::json& a, const nlohmann::json& b) {
  auto x = a.at("throughput_per_round").get<std::vector<double>>();
  auto y = b.at("throughput_per_round").get<std::vector<double>>();
  std::vector<double> ratios;
  for (std::size_t r = 0; r < x.size() && r < y.size(); ++r)
    if (y[r] > 0)
      ratios.push_back(x[r] / y[r]);
  return median(ratios);
}

} // namespace

nlohmann::json run_durability_step(const nlohmann::json& spec) {
  auto slots = spec.at("slots").get<std::uint64_t>();
  auto tasks = spec.at("tasks").get<std::size_t>();
  auto window = spec.at("window").get<std::size_t>();
  auto rounds = spec.at("rounds").get<int>();

  pool_config cfg;
  cfg.initial_slots = slots;
  cfg.scaling.max_slots = std::max<std::uint64_t>(slots, cfg.scaling.max_slots);
  cfg.slot_mode = slot_mode::ephemeral;
  drive_plan plan;
  plan.window = window;

  temp_dir dir("claude-pool-bench-durability");
  const auto db = dir.path() + "/tasks.db";
  const std::vector<variant> variants = {
    store_variant("none", store_kind::none, cfg, plan, db),
    store_variant("memory", store_kind::memory, cfg, plan, db),
    store_variant("sqlite", store_kind::sqlite, cfg, plan, db),
  };

  auto by_variant = interleaved_rounds(
    variants, tasks / 10 + 1, tasks, rounds, "none", [&](int round, const std::string& name) {
      step_progress(spec, (round < 0 ? std::string("warm-up")
                                     : "round " + std::to_string(round + 1) + "/"
                                         + std::to_string(rounds))
                            + " " + name);
    });
  auto none = by_variant["none"].value("throughput", 0.0);
  auto memory = by_variant["memory"].value("throughput", 0.0);
  auto sqlite = by_variant["sqlite"].value("throughput", 0.0);
  return {{"slots", slots},
          {"tasks", tasks},
          {"window", window},
          {"rounds", rounds},
          {"variants", by_variant},
          {"sqlite_to_memory", median_round_ratio(by_variant["sqlite"], by_variant["memory"])},
          {"memory_cost_us_per_task", extra_us_per_task(memory, none)},
          {"sqlite_cost_us_per_task", extra_us_per_task(sqlite, none)}};
}

} // namespace claude_pool::bench
