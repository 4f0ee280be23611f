#include "http_api/event_feed.hpp"

namespace claude_pool::http_api {

void event_feed::publish(std::string kind, std::string data, std::string task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    kept_.push_back(entry{++next_, std::move(kind), std::move(data), std::move(task),
                          std::chrono::steady_clock::now()});
    while (kept_.size() > capacity_)
      kept_.pop_front();
  }
  changed_.notify_all();
}

std::vector<event_feed::entry> event_feed::after(std::uint64_t id,
                                                 std::chrono::milliseconds wait, bool& lost) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, wait, [&] { return closed_ || next_ > id; });
  std::vector<entry> out;
  lost = !kept_.empty() && kept_.front().id > id + 1;
  if (closed_)
    return out;
  for (auto& e : kept_)
    if (e.id > id)
      out.push_back(e);
  return out;
}

std::uint64_t event_feed::last_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_;
}

void event_feed::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool event_feed::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

} // namespace claude_pool::http_api
