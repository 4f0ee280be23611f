#include "supervision/failure_class.hpp"

namespace claude_pool {

std::string_view to_string(failure_class x) {
  switch (x) {
    case failure_class::none: return "none";
    case failure_class::auth: return "auth";
    case failure_class::rate_limited: return "rate_limited";
    case failure_class::crash: return "crash";
    case failure_class::hang: return "hang";
    case failure_class::unparsable: return "unparsable";
    case failure_class::server_error: return "server_error";
    case failure_class::cancelled: return "cancelled";
    case failure_class::task_error: return "task_error";
  }
  return "?";
}

failure_class classify(const task_result& r) {
  if (r.success)
    return failure_class::none;
  auto subtype = r.subtype.value_or("");
  if (subtype == "cancelled")
    return failure_class::cancelled;
  if (r.api_error_status) {
    auto status = *r.api_error_status;
    if (status == 401 || status == 403)
      return failure_class::auth;
    if (status == 429 || status == 529)
      return failure_class::rate_limited;
    if (status >= 500)
      return failure_class::server_error;
    return failure_class::task_error;
  }
  if (r.output.rfind("Not logged in", 0) == 0) // the CLI found no credentials at all
    return failure_class::auth;
  if (subtype == "timeout")
    return failure_class::hang;
  if (subtype == "crashed" || subtype == "stalled" || subtype == "exit_error" || subtype == "slot_lost"
      || subtype == "node_lost")
    return failure_class::crash;
  if (subtype == "unparsable_output" || subtype == "empty_output"
      || subtype == "output_too_large")
    return failure_class::unparsable;
  return failure_class::task_error;
}

bool restarts_slot(failure_class x) {
  return x == failure_class::crash || x == failure_class::hang;
}


bool retryable(failure_class x) {
  return x == failure_class::crash || x == failure_class::hang
         || x == failure_class::unparsable || x == failure_class::server_error;
}

} // namespace claude_pool
