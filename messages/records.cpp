#include "messages/records.hpp"

#include <algorithm>

namespace claude_pool {

task_result task_result::failure(std::string output, std::string subtype) {
  task_result r;
  r.output = std::move(output);
  r.success = false;
  r.subtype = std::move(subtype);
  return r;
}

task_record task_record::new_pending(task_id id, std::string prompt) {
  task_record t;
  t.id = std::move(id);
  t.prompt = std::move(prompt);
  t.state = task_state::pending;
  t.created_at_ms = now_ms();
  return t;
}

void task_record::transition_to(task_state next) {
  state = next;
  auto now = now_ms();
  switch (next) {
    case task_state::running:
      started_at_ms = now;
      break;
    case task_state::completed:
    case task_state::failed:
    case task_state::cancelled:
    case task_state::pending_review:
      completed_at_ms = now;
      break;
    case task_state::pending:
      break;
  }
}

bool task_filter::matches(const task_record& t) const {
  if (state && t.state != *state)
    return false;
  if (slot_id && t.slot_id != slot_id)
    return false;
  if (tags) {
    auto any = std::any_of(tags->begin(), tags->end(), [&](const std::string& tag) {
      return std::find(t.tags.begin(), t.tags.end(), tag) != t.tags.end();
    });
    if (!any)
      return false;
  }
  return true;
}

std::string format_microdollars(std::uint64_t micro) {
  auto whole = micro / 1000000, frac = micro % 1000000;
  auto digits = std::to_string(frac);
  return "$" + std::to_string(whole) + "." + std::string(6 - digits.size(), '0') + digits;
}

} // namespace claude_pool
