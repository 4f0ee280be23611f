#pragma once
/// One thread that runs callbacks at given times: warm slots' task timeouts and interrupt
/// grace periods, which belong to no I/O loop of their own. Callbacks must not block.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace claude_pool::runtime {

class timer_thread {
public:
  using clock = std::chrono::steady_clock;

  timer_thread();
  /// Joins the thread; callbacks not yet due never run.
  ~timer_thread();
  timer_thread(const timer_thread&) = delete;
  timer_thread& operator=(const timer_thread&) = delete;

  /// Runs `fn` on the timer's thread after `delay`; returns an id for cancel().
  std::uint64_t after(std::chrono::milliseconds delay, std::function<void()> fn);

  /// The callback will not run (if it has not started yet).
  void cancel(std::uint64_t id);

private:
  void loop();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<clock::time_point, std::pair<std::uint64_t, std::function<void()>>> due_;
  std::uint64_t next_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace claude_pool::runtime
