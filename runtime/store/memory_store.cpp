// The default store: everything in the process, nothing survives it. Records are kept in
// first-insertion order (what `load_tasks` promises) with an index by id, so replacing a
// record is a lookup, not a scan.
#include "runtime/store/task_store.hpp"

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace claude_pool {

namespace {

class memory_store final : public task_store {
public:
  void put_task(const task_record& rec) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [pos, inserted] = index_.emplace(rec.id, tasks_.size());
    if (inserted)
      tasks_.push_back(rec);
    else
      tasks_[pos->second] = rec;
  }

  std::vector<task_record> load_tasks() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return tasks_;
  }

  void put_session(const slot_id& slot, const std::optional<stored_session>& s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (s)
      sessions_[slot] = *s;
    else
      sessions_.erase(slot);
  }

  std::map<slot_id, stored_session> load_sessions() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return sessions_;
  }

  void put_spent(std::uint64_t microdollars) override {
    std::lock_guard<std::mutex> lock(mutex_);
    spent_ = microdollars;
  }

  std::uint64_t load_spent() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return spent_;
  }

  void put_chain(const chain_definition& def, const chain_record& rec) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [pos, inserted] = chain_index_.emplace(rec.id, chains_.size());
    if (inserted)
      chains_.push_back(stored_chain{def, rec});
    else
      chains_[pos->second] = stored_chain{def, rec};
  }

  std::vector<stored_chain> load_chains() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return chains_;
  }

  std::string describe() const override {
    return "memory";
  }

private:
  std::vector<task_record> tasks_;          ///< in first-insertion order
  std::map<task_id, std::size_t> index_;    ///< id → position in tasks_
  std::map<slot_id, stored_session> sessions_;
  std::uint64_t spent_ = 0;
  std::vector<stored_chain> chains_;
  std::map<chain_id, std::size_t> chain_index_;
  std::mutex mutex_; ///< chains write from their own actors
};

} // namespace

std::unique_ptr<task_store> make_memory_store() {
  return std::make_unique<memory_store>();
}

} // namespace claude_pool
