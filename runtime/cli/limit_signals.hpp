#pragma once
/// What the CLI says about API limits while it runs, read from its stream-json events (see
/// ../shared/CLI_LIMITS_FACTS.md): `system/api_retry` (it retries a 429/529/401 itself,
/// after `retry_delay_ms`: the server's `retry-after` when it sent one) and
/// `rate_limit_event` (usage windows, OAuth logins only: allowed, allowed_warning, rejected
/// with the reset time). The pool decides with these how long to wait instead of guessing.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "messages/records.hpp"

namespace claude_pool {

/// Collects the signals of one run from its stdout lines (any thread).
class limit_signals {
public:
  /// One stdout line; lines of other event types cost a prefix comparison.
  void feed_line(std::string_view line);

  /// Adds what was seen to the run's result (`api_retries`, `retry_after_ms`, `rate_limit`).
  void apply_to(task_result& result) const;

  /// Forgets everything (a warm process starting its next task).
  void reset();

private:
  mutable std::mutex mutex_;
  std::uint32_t retries_ = 0;
  std::optional<std::uint64_t> retry_delay_ms_;
  std::optional<rate_limit_info> window_;
};

/// A `rate_limit_event`'s `rate_limit_info` object as the record's type; nothing when it
/// has no status.
std::optional<rate_limit_info> parse_rate_limit_info(const nlohmann::json& info);

} // namespace claude_pool
