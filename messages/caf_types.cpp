#include "messages/caf_types.hpp"

namespace claude_pool {

std::string to_string(pool_errc x) {
  switch (x) {
    case pool_errc::unknown_task: return "unknown_task";
    case pool_errc::draining: return "draining";
    case pool_errc::invalid_request: return "invalid_request";
    case pool_errc::invalid_message: return "invalid_message";
    case pool_errc::already_finished: return "already_finished";
    case pool_errc::not_pending_review: return "not_pending_review";
    case pool_errc::slot_unhealthy: return "slot_unhealthy";
    case pool_errc::slot_disabled: return "slot_disabled";
    case pool_errc::budget_exhausted: return "budget_exhausted";
    case pool_errc::task_budget_exceeds_remaining: return "task_budget_exceeds_remaining";
    case pool_errc::budget_wait: return "budget_wait";
    case pool_errc::out_of_bounds: return "out_of_bounds";
    case pool_errc::unknown_chain: return "unknown_chain";
    case pool_errc::node_lost: return "node_lost";
    case pool_errc::node_unreachable: return "node_unreachable";
    case pool_errc::store_failed: return "store_failed";
    case pool_errc::not_permitted: return "not_permitted";
    case pool_errc::not_authenticated: return "not_authenticated";
  }
  return "unknown_pool_error";
}

std::optional<std::string> error_context(const caf::error& err) {
  if (!err.context().empty() && err.context().match_element<std::string>(0))
    return err.context().get_as<std::string>(0);
  return std::nullopt;
}

} // namespace claude_pool
