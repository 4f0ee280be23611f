#pragma once
/// The tasks that ended lately, for watchers fed by the pool's `on_task_change`: a record
/// announced again after its end (a later change batch) must not count as a second end. Kept
/// to the latest `keep`, so a node that runs for weeks does not remember every task.

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace claude_pool::http_api {

class recent_ends {
public:
  explicit recent_ends(std::size_t keep = 65536) : keep_(keep) {}

  bool contains(const std::string& id) const { return ids_.count(id) > 0; }

  void add(const std::string& id) {
    if (!ids_.insert(id).second)
      return;
    order_.push_back(id);
    if (order_.size() > keep_) {
      ids_.erase(order_.front());
      order_.pop_front();
    }
  }

private:
  std::size_t keep_;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> order_;
};

} // namespace claude_pool::http_api
