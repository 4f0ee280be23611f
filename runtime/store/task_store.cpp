// What every store can answer from `load_tasks` alone (see task_store.hpp). Correct for any
// store, but each call reads everything: a store that keeps much history overrides them (the
// SQLite store does, with queries).
#include "runtime/store/task_store.hpp"

#include <algorithm>

namespace claude_pool {

std::vector<task_record> task_store::load_for_start(std::uint64_t recent_ended) {
  auto all = load_tasks();
  std::uint64_t ended = 0;
  for (auto& t : all)
    ended += is_terminal(t.state);
  std::uint64_t skip = ended > recent_ended ? ended - recent_ended : 0;
  std::vector<task_record> out;
  for (auto& t : all) {
    if (is_terminal(t.state) && skip > 0) {
      --skip;
      continue;
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::map<task_state, std::uint64_t> task_store::count_tasks() {
  std::map<task_state, std::uint64_t> out;
  for (auto& t : load_tasks())
    ++out[t.state];
  return out;
}

std::optional<task_record> task_store::get_task(const task_id& id) {
  for (auto& t : load_tasks())
    if (t.id == id)
      return t;
  return std::nullopt;
}

std::optional<std::vector<task_record>> task_store::page_tasks(const task_filter& filter) {
  auto all = load_tasks();
  auto from = all.begin();
  if (filter.after) {
    from = std::find_if(all.begin(), all.end(), [&](auto& t) { return t.id == *filter.after; });
    if (from == all.end())
      return std::nullopt;
    ++from;
  }
  std::vector<task_record> out;
  for (; from != all.end() && out.size() < filter.limit.value_or(UINT64_MAX); ++from)
    if (filter.matches(*from))
      out.push_back(std::move(*from));
  return out;
}

} // namespace claude_pool
