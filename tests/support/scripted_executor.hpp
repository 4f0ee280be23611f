#pragma once
// A task_executor for actor tests: records every request and finishes executions when the
// test says so (or at once in automatic mode). No processes.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "runtime/cli/task_executor.hpp"

namespace claude_pool::testing {

class scripted_executor : public task_executor {
public:
  /// With `automatic`, every execution completes at once with `answer(request)`.
  explicit scripted_executor(bool automatic = false) : automatic_(automatic) {}

  std::function<task_result(const execution_request&)> answer = [](const execution_request& r) {
    task_result res;
    res.success = true;
    res.output = "done: " + r.prompt;
    res.cost_microdollars = 10;
    res.turns_used = 1;
    res.session_id = "session-of-" + r.task.value;
    return res;
  };

  std::uint64_t start(execution_request req, completion done) override {
    std::unique_lock<std::mutex> lock(mutex_);
    auto id = ++next_;
    requests_.push_back(req);
    ++running_;
    max_running_ = std::max(max_running_, running_);
    if (automatic_) {
      auto res = answer(req);
      --running_;
      lock.unlock();
      changed_.notify_all();
      done(std::move(res));
      return id;
    }
    live_[id] = live_execution{std::move(req), std::move(done)};
    lock.unlock();
    changed_.notify_all();
    return id;
  }

  void cancel(std::uint64_t execution) override {
    std::unique_lock<std::mutex> lock(mutex_);
    cancelled_.push_back(execution);
    auto it = live_.find(execution);
    if (it == live_.end())
      return;
    auto done = std::move(it->second.done);
    live_.erase(it);
    --running_;
    lock.unlock();
    changed_.notify_all();
    auto res = task_result::failure("cancelled by test executor", "cancelled");
    res.cost_microdollars = 3;
    done(std::move(res));
  }

  /// Finishes the oldest live execution of `task` with `answer` (or `res` when given).
  bool finish(const task_id& task, std::optional<task_result> res = std::nullopt) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (auto it = live_.begin(); it != live_.end(); ++it) {
      if (it->second.req.task == task) {
        auto done = std::move(it->second.done);
        auto out = res ? *res : answer(it->second.req);
        live_.erase(it);
        --running_;
        lock.unlock();
        changed_.notify_all();
        done(std::move(out));
        return true;
      }
    }
    return false;
  }

  /// Waits until `pred()` holds or 30 s pass. `pred` runs under the lock: it may read the
  /// members but must not call the locking accessors.
  bool wait_until(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), pred);
  }

  bool wait_for_started(std::size_t n) {
    return wait_until([&] { return requests_.size() >= n; });
  }

  bool wait_for_live(std::size_t n) {
    return wait_until([&] { return live_.size() >= n; });
  }

  bool wait_for_cancels(std::size_t n) {
    return wait_until([&] { return cancelled_.size() >= n; });
  }

  std::vector<execution_request> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  std::size_t max_running() {
    std::lock_guard<std::mutex> lock(mutex_);
    return max_running_;
  }

  std::size_t live() {
    std::lock_guard<std::mutex> lock(mutex_);
    return live_.size();
  }

private:
  struct live_execution {
    execution_request req;
    completion done;
  };

  bool automatic_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t next_ = 0;
  std::size_t running_ = 0;
  std::size_t max_running_ = 0;
  std::vector<execution_request> requests_;
  std::vector<std::uint64_t> cancelled_;
  std::map<std::uint64_t, live_execution> live_;
};

} // namespace claude_pool::testing
