#include "runtime/cli/stall_watchdog.hpp"

#include <utility>

namespace claude_pool {

std::shared_ptr<stall_watchdog> stall_watchdog::start(runtime::timer_thread& timers,
                                                      std::chrono::milliseconds limit,
                                                      std::function<void()> stop) {
  auto w = std::make_shared<stall_watchdog>(timers, limit, std::move(stop));
  w->arm(limit);
  return w;
}

stall_watchdog::stall_watchdog(runtime::timer_thread& timers, std::chrono::milliseconds limit,
                               std::function<void()> stop)
  : timers_(timers), limit_(limit), stop_(std::move(stop)) {}

void stall_watchdog::arm(std::chrono::milliseconds delay) {
  std::weak_ptr<stall_watchdog> weak = shared_from_this();
  auto id = timers_.after(delay, [weak] {
    if (auto self = weak.lock())
      self->check();
  });
  std::lock_guard<std::mutex> lock(mutex_);
  timer_ = id;
}

void stall_watchdog::output() {
  std::lock_guard<std::mutex> lock(mutex_);
  last_ = clock::now();
}

void stall_watchdog::finished() {
  std::optional<std::uint64_t> timer;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    timer = std::exchange(timer_, std::nullopt);
  }
  if (timer)
    timers_.cancel(*timer);
}

bool stall_watchdog::fired() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fired_;
}

void stall_watchdog::check() {
  std::chrono::milliseconds quiet{0};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    timer_.reset();
    if (done_)
      return;
    quiet = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - last_);
    if (quiet >= limit_)
      fired_ = done_ = true;
  }
  if (quiet >= limit_)
    stop_();
  else
    arm(limit_ - quiet); // output came meanwhile: look again when it could next be too old
}

} // namespace claude_pool
