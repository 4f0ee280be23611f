#pragma once
/// What kind of failure a task result is, and what that means for the slot, the task and the
/// pool. Decided from the CLI's result and exit (see the README's "Failure handling").

#include <string_view>

#include "messages/records.hpp"

namespace claude_pool {

enum class failure_class {
  none,          ///< the task succeeded
  auth,          ///< 401/403: the account's credentials are refused
  rate_limited,  ///< 429/529: the API asks us to slow down
  crash,         ///< killed by a signal, or a non-zero exit without a result, or the slot died
  hang,          ///< the task's timeout stopped it
  unparsable,    ///< no usable result on stdout (garbage, empty, too large)
  server_error,  ///< API 5xx other than 529
  cancelled,     ///< a client or a drain cancelled it
  task_error,    ///< the CLI reported a failure of the task itself (max turns, budget, …)
};

std::string_view to_string(failure_class x);

failure_class classify(const task_result& result);

/// The slot's process state is suspect: restart the slot (crash, hang).
bool restarts_slot(failure_class x);

/// A retry may succeed, so a task with attempts left goes back to the queue.
bool retryable(failure_class x);

} // namespace claude_pool
