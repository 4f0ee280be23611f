#pragma once
/// What an API limit means for the pool and for the task that hit it, as plain functions
/// (no actors), so the rules can be tested one by one. Facts behind them:
/// ../shared/CLI_LIMITS_FACTS.md. Three kinds of limit:
///
/// - **Usage window** (subscription: 5-hour, weekly, …): the CLI reports `rejected` with
///   the reset time. Nothing can run on that credential before it, so the pool stops
///   routing until then and the task waits — however long, up to `window_wait_max_secs`.
/// - **Rate limit / overload** (429/529): the pool stops routing for the server's
///   `retry-after` (as the CLI last saw it), else for `rate_limit_cooldown_secs`, doubling
///   while they keep coming. A task waits through it up to `max_wait_secs` in a row.
/// - **Credentials refused** (401/403, "Not logged in"): see `auth_refused`.
///
/// Waiting never uses an attempt.

#include <cstdint>
#include <string>

#include "messages/config.hpp"
#include "messages/records.hpp"

namespace claude_pool {

/// The decision for one rate-limited or window-limited execution.
struct limit_verdict {
  std::uint64_t pause_until_ms = 0; ///< no task starts on the credential before this
  std::string reason;               ///< what the pool waits for, one phrase
  bool task_fails = false;          ///< the task waited long enough (or cannot wait)
  std::string failure;              ///< then: the task's failure text
};

/// `result` failed as rate_limited (429/529 or a rejected usage window). `consecutive` counts
/// rate limits in a row, this one included (for the doubling without a retry-after).
limit_verdict judge_limit(const task_result& result, const task_record& task,
                          const pool_config& cfg, std::uint32_t consecutive, std::uint64_t now_ms);

/// True when the result says the CLI has no usable login at all, whatever the status: a
/// 401/403, or "Not logged in" (no request was even sent).
bool auth_refused(const task_result& result);

/// "API overloaded (529)", "API rate limit (429)", "usage limit (five_hour window)".
std::string limit_name(const task_result& result);

/// 130 500 ms → "2 min 10 s"; 3 h 5 min; 900 ms → "0.9 s".
std::string describe_duration(std::uint64_t ms);

/// Epoch milliseconds as UTC "2026-12-07 20:19:00 UTC".
std::string describe_time_utc(std::uint64_t epoch_ms);

} // namespace claude_pool
