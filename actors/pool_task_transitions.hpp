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

/// Fails every queued pending task with `why` and `subtype` and empties the queue; returns
/// them (nothing can run them: every slot errored, or every credential refused).
std::vector<task_id> fail_queued(pool_actor_state& st, const std::string& why,
                                 const std::string& subtype);

/// Settles a failed execution: another attempt, a rate-limit wait, or the end.
pool_actor_state::outcome settle_failure(pool_actor_state& st, task_record& task,
                                         task_result result, std::uint64_t now);

// -- limits and the credential breaker (pool_state_limits.cpp) -----------------------------

/// A 429/529 or a rejected usage window: the pool pauses, the task waits (no attempt used)
/// or, past `max_wait_secs` / `window_wait_max_secs`, fails saying what happened.
pool_actor_state::outcome settle_limit(pool_actor_state& st, task_record& task,
                                       task_result result, std::uint64_t now);

/// A refused login: the breaker opens (or stays open after a failed probe); the task waits
/// for the probe (`auth_failure: park`) or fails (`fail`).
pool_actor_state::outcome settle_auth_failure(pool_actor_state& st, task_record& task,
                                              task_result result, std::uint64_t now);

/// A task the breaker stopped while it ran: waits or fails as `auth_failure` says.
pool_actor_state::outcome settle_preempted(pool_actor_state& st, task_record& task,
                                           task_result result, std::uint64_t now);

/// A run that reported its usage window near the limit (`allowed_warning`) becomes the event
/// `usage_warning`, once per window reset, so an operator hears before tasks start waiting.
void note_usage_warning(pool_actor_state& st, const task_result& result, const slot_id& slot,
                        std::uint64_t now);

/// The probe got past the login: the breaker closes and routing resumes.
void close_auth(pool_actor_state& st, const slot_id& slot, const task_result& result,
                std::uint64_t now);

} // namespace claude_pool::pool_task_transitions
