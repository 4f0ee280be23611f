#pragma once
/// Stops a CLI run that has printed nothing for too long — distinct from the task timeout,
/// which bounds a run that is busy. Every line the CLI prints counts as life, its retry
/// notices (`system/api_retry`) included, so a run waiting out a 529 is not "stalled";
/// a stream that hangs mid-answer is.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "runtime/cli/timer_thread.hpp"

namespace claude_pool {

class stall_watchdog : public std::enable_shared_from_this<stall_watchdog> {
public:
  using clock = std::chrono::steady_clock;

  /// Calls `stop` once (on the timer's thread) when `limit` passes without output().
  static std::shared_ptr<stall_watchdog> start(runtime::timer_thread& timers,
                                               std::chrono::milliseconds limit,
                                               std::function<void()> stop);

  /// The run printed something.
  void output();
  /// The run is over: no more checks.
  void finished();
  /// True once it called `stop`.
  bool fired() const;

  stall_watchdog(runtime::timer_thread& timers, std::chrono::milliseconds limit,
                 std::function<void()> stop);

private:
  void arm(std::chrono::milliseconds delay);
  void check();

  runtime::timer_thread& timers_;
  std::chrono::milliseconds limit_;
  std::function<void()> stop_;
  mutable std::mutex mutex_;
  clock::time_point last_ = clock::now();
  std::optional<std::uint64_t> timer_;
  bool done_ = false;
  bool fired_ = false;
};

} // namespace claude_pool
