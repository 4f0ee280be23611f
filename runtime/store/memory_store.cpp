// The default store: everything in the process, nothing survives it. Records are kept in
// first-insertion order (what `load_tasks` promises) with an index by id, so replacing a
// record is a lookup, not a scan.
#include "runtime/store/task_store.hpp"

#include <cstddef>
#include <map>
#include <vector>

namespace claude_pool {

namespace {

class memory_store final : public task_store {
public:
  void put_task(const task_record& rec) override {
    auto [pos, inserted] = index_.emplace(rec.id, tasks_.size());
    if (inserted)
      tasks_.push_back(rec);
    else
      tasks_[pos->second] = rec;
  }

  std::vector<task_record> load_tasks() override {
    return tasks_;
  }

  void put_session(const slot_id& slot, const std::optional<stored_session>& s) override {
    if (s)
      sessions_[slot] = *s;
    else
      sessions_.erase(slot);
  }

  std::map<slot_id, stored_session> load_sessions() override {
    return sessions_;
  }

  void put_spent(std::uint64_t microdollars) override {
    spent_ = microdollars;
  }

  std::uint64_t load_spent() override {
    return spent_;
  }

  std::string describe() const override {
    return "memory";
  }

private:
  std::vector<task_record> tasks_;          ///< in first-insertion order
  std::map<task_id, std::size_t> index_;    ///< id → position in tasks_
  std::map<slot_id, stored_session> sessions_;
  std::uint64_t spent_ = 0;
};

} // namespace

std::unique_ptr<task_store> make_memory_store() {
  return std::make_unique<memory_store>();
}

} // namespace claude_pool
