#pragma once
/// Drives a pool the way a busy client does, straight through the pool actor (no blocking
/// facade call per task): keeps up to `window` requests in flight and notes, per task, when
/// it was submitted, when it reached the executor and when its reply arrived.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/config.hpp"

namespace claude_pool {
class pool;
class task_executor;
class task_store;
} // namespace claude_pool

namespace claude_pool::bench {

struct drive_plan {
  std::size_t tasks = 0;
  std::size_t window = 0; ///< requests in flight at most; 0: all at once
  std::string prompt = "task"; ///< task i's prompt is "<prompt> <i>" (the executors read i)
  /// true: `run` (the reply is the finished record); false: `submit` (the reply is the id,
  /// sent once the task is queued).
  bool until_done = true;
  double timeout_s = 3600; ///< a benchmark must end: throw after this long
};

/// Per-task times in nanoseconds on bench_clock (0: never happened).
struct drive_samples {
  explicit drive_samples(std::size_t tasks) : submitted(tasks), started(tasks), answered(tasks) {}
  std::vector<std::int64_t> submitted, started, answered;
  std::size_t failed = 0;
  std::string first_failure; ///< why the first failed task failed
};

/// Runs `plan` against a running pool and blocks until every request was answered.
/// `samples.started` is filled only when the pool's executor is a timing_executor on it.
void drive(pool& p, const drive_plan& plan, drive_samples& samples);

/// What one run through a fresh pool measured.
struct drive_result {
  double wall_s = 0; ///< pool constructed → every task answered → pool destroyed
  double run_s = 0;  ///< first submit → last answer
  std::vector<double> submit_to_start_us, submit_to_done_us;
  std::size_t failed = 0;
  std::string first_failure;
};

/// Builds a pool from `cfg` whose executor is `executor` wrapped in a timing_executor, drives
/// `plan` through it, destroys it. `store`, when given, is the pool's store (opened by the
/// caller, so opening and closing it are not timed); unset, the pool has none (unless
/// `cfg.store_path` names one).
drive_result run_through_pool(const pool_config& cfg, std::shared_ptr<task_executor> executor,
                              const drive_plan& plan, std::shared_ptr<task_store> store = {});

} // namespace claude_pool::bench
