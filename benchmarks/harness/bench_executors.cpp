#include "benchmarks/harness/bench_executors.hpp"

#include <cstdlib>

namespace claude_pool::bench {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           bench_clock::now().time_since_epoch())
    .count();
}

std::optional<std::size_t> task_index_of(const std::string& prompt) {
  auto digits = prompt.find_last_not_of("0123456789");
  auto first = digits == std::string::npos ? 0 : digits + 1;
  if (first >= prompt.size())
    return std::nullopt;
  return static_cast<std::size_t>(std::strtoull(prompt.c_str() + first, nullptr, 10));
}

std::uint64_t instant_executor::start(execution_request, completion done) {
  task_result r;
  r.success = true;
  r.output = "ok";
  r.subtype = "success";
  r.cost_microdollars = cost_;
  done(std::move(r));
  return next_.fetch_add(1, std::memory_order_relaxed) + 1;
}

holding_executor::~holding_executor() {
  for (auto& [id, done] : held_)
    done(task_result::failure("the benchmark released the task", "cancelled"));
}

std::uint64_t holding_executor::start(execution_request, completion done) {
  std::lock_guard<std::mutex> lock(mutex_);
  held_.emplace(++next_, std::move(done));
  return next_;
}

void holding_executor::cancel(std::uint64_t execution) {
  completion done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = held_.find(execution);
    if (it == held_.end())
      return;
    done = std::move(it->second);
    held_.erase(it);
  }
  done(task_result::failure("cancelled by the benchmark", "cancelled"));
}

timing_executor::timing_executor(std::shared_ptr<task_executor> inner,
                                 std::vector<std::int64_t>& started_ns)
  : inner_(std::move(inner)), started_ns_(started_ns) {}

std::uint64_t timing_executor::start(execution_request req, completion done) {
  // Each index is written once, by the one slot running that task; the driver reads it only
  // after the task's reply, which the slot's messages to the pool happen before.
  if (auto i = task_index_of(req.prompt); i && *i < started_ns_.size())
    started_ns_[*i] = now_ns();
  return inner_->start(std::move(req), std::move(done));
}

} // namespace claude_pool::bench
