#pragma once
/// Executors the harness plugs into the pool (`pool_options.executor`):
/// - `instant_executor` completes every task successfully inside start(): what is left to
///   measure is the actors' own cost per task (routing only);
/// - `holding_executor` never completes a task until it is cancelled: slots stay busy, so
///   submitted tasks pile up in the queue (scale: submission rate with a long queue);
/// - `timing_executor` wraps another executor and notes when each task reached it, which is
///   the "start" of submit→start at a finer grain than `task_record`'s milliseconds.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/cli/task_executor.hpp"

namespace claude_pool::bench {

using bench_clock = std::chrono::steady_clock;

/// Nanoseconds on bench_clock; 0 means "never".
std::int64_t now_ns();

/// The index the harness encodes at the end of every prompt ("task 42" → 42).
std::optional<std::size_t> task_index_of(const std::string& prompt);

class instant_executor : public task_executor {
public:
  /// Every result reports `cost_microdollars` (non-zero: the pool records spend per task,
  /// as with a real CLI, which a store then writes).
  explicit instant_executor(std::uint64_t cost_microdollars = 0) : cost_(cost_microdollars) {}
  std::uint64_t start(execution_request req, completion done) override;
  void cancel(std::uint64_t) override {}

private:
  std::uint64_t cost_;
  std::atomic<std::uint64_t> next_{0}; ///< slots call start() from several threads
};

class holding_executor : public task_executor {
public:
  ~holding_executor() override; ///< completes whatever it still holds, as cancelled
  std::uint64_t start(execution_request req, completion done) override;
  void cancel(std::uint64_t execution) override;

private:
  std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, completion> held_;
};

class timing_executor : public task_executor {
public:
  /// Records into `started_ns[index]` for prompts that carry an index below its size.
  timing_executor(std::shared_ptr<task_executor> inner, std::vector<std::int64_t>& started_ns);
  std::uint64_t start(execution_request req, completion done) override;
  void cancel(std::uint64_t execution) override { inner_->cancel(execution); }

private:
  std::shared_ptr<task_executor> inner_;
  std::vector<std::int64_t>& started_ns_;
};

} // namespace claude_pool::bench
