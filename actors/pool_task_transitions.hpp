#pragma once
/// Internal to actors/pool_state*.cpp, not part of the API and not installed (see
/// CMakeLists.txt): the task state changes that more than one of those files
/// makes — putting a task back in the queue, failing it, settling a failed execution.

#include <cstdint>

#include "actors/pool_actor.hpp"

namespace claude_pool::pool_task_transitions {

/// Back to the front of the queue: it was accepted before everything queued behind it.
void requeue(pool_actor_state& st, task_record& task, std::uint64_t now);

/// Ends the task as failed with `result`, and counts it.
void fail_task(pool_actor_state& st, task_record& task, task_result result);

/// Settles a failed execution: another attempt, a rate-limit wait, or the end.
pool_actor_state::outcome settle_failure(pool_actor_state& st, task_record& task,
                                         task_result result, std::uint64_t now);

} // namespace claude_pool::pool_task_transitions
