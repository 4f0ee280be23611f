#include "runtime/cli/timer_thread.hpp"

namespace claude_pool::runtime {

timer_thread::timer_thread() : thread_([this] { loop(); }) {
}

timer_thread::~timer_thread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::uint64_t timer_thread::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::uint64_t id;
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = ++next_;
    auto it = due_.emplace(clock::now() + delay, std::make_pair(id, std::move(fn)));
    earliest = it == due_.begin();
  }
  // Only a new first deadline changes the thread's wait: every task arms a stall timer, and
  // waking the thread for each one that falls due later costs a context switch per task.
  if (earliest)
    changed_.notify_all();
  return id;
}

void timer_thread::cancel(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = due_.begin(); it != due_.end(); ++it)
    if (it->second.first == id) {
      due_.erase(it);
      return;
    }
}

void timer_thread::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (due_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    if (first->first > clock::now()) {
      // A copy: wait_until reads its deadline after the wait, when cancel() may have erased
      // this entry (ASan saw it).
      const auto when = first->first;
      changed_.wait_until(lock, when);
      continue;
    }
    auto fn = std::move(first->second.second);
    due_.erase(first);
    lock.unlock();
    try {
      fn();
    } catch (...) {
      // A timer callback must not throw; the other timers still run.
    }
    lock.lock();
  }
}

} // namespace claude_pool::runtime
