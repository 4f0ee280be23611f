#include "actors/limit_policy.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace claude_pool {

namespace {

/// After a window's announced reset, a little more: clocks differ, and a request a moment
/// too early would be refused again.
constexpr std::uint64_t window_slack_ms = 2000;

bool window_rejected(const task_result& r) {
  return r.rate_limit && r.rate_limit->status == "rejected" && r.rate_limit->resets_at_ms;
}

} // namespace

std::string describe_duration(std::uint64_t ms) {
  if (ms < 10000) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
  }
  auto s = ms / 1000;
  auto d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  std::string out;
  auto add = [&](std::uint64_t n, const char* unit) {
    if (n == 0)
      return;
    if (!out.empty())
      out += ' ';
    out += std::to_string(n) + ' ' + unit;
  };
  add(d, "d");
  add(h, "h");
  add(m, "min");
  if (d == 0 && h == 0)
    add(sec, "s");
  return out;
}

std::string describe_time_utc(std::uint64_t epoch_ms) {
  std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string limit_name(const task_result& r) {
  if (window_rejected(r))
    return "usage limit (" + r.rate_limit->window.value_or("usage") + " window)";
  auto status = r.api_error_status.value_or(0);
  if (status == 529)
    return "API overloaded (529)";
  if (status == 429)
    return "API rate limit (429)";
  return "API limit (" + std::to_string(status) + ")";
}

bool auth_refused(const task_result& r) {
  if (r.success)
    return false;
  if (r.api_error_status)
    return *r.api_error_status == 401 || *r.api_error_status == 403;
  // No request was sent: the CLI found no credentials at all.
  return r.output.rfind("Not logged in", 0) == 0;
}

limit_verdict judge_limit(const task_result& r, const task_record& task, const pool_config& cfg,
                          std::uint32_t consecutive, std::uint64_t now) {
  limit_verdict v;
  auto name = limit_name(r);
  if (window_rejected(r)) {
    auto resets = *r.rate_limit->resets_at_ms;
    v.pause_until_ms = std::max(resets, now) + window_slack_ms;
    v.reason = name + "; resets " + describe_time_utc(resets);
    if (v.pause_until_ms - now > cfg.window_wait_max_secs * 1000) {
      v.task_fails = true;
      v.failure = "the " + name + " resets " + describe_time_utc(resets) + ", in "
                  + describe_duration(v.pause_until_ms - now)
                  + ": further than window_wait_max_secs ("
                  + describe_duration(cfg.window_wait_max_secs * 1000)
                  + ") allows a task to wait; CLI said: " + r.output;
    }
    return v;
  }
  std::uint64_t pause = 0;
  // The CLI waits max(retry-after, its own jittered backoff) before a retry and reports
  // that delay: a whole number of seconds is the server's `retry-after` (the backoff is
  // 500 ms × 2^n × 1.0–1.25, practically never whole seconds).
  bool server_asked = r.retry_after_ms && *r.retry_after_ms >= 1000 && *r.retry_after_ms % 1000 == 0;
  if (server_asked) {
    pause = *r.retry_after_ms;
    v.reason = name + "; the server asked for " + describe_duration(pause);
  } else {
    auto factor = std::uint64_t{1} << std::min<std::uint32_t>(consecutive ? consecutive - 1 : 0, 4);
    pause = cfg.rate_limit_cooldown_secs * 1000 * factor;
    v.reason = name + "; cool-down " + describe_duration(pause);
  }
  v.pause_until_ms = now + pause;
  auto since = task.waiting_since_ms.value_or(now);
  auto waited = now > since ? now - since : 0;
  if (waited >= cfg.max_wait_secs * 1000) {
    v.task_fails = true;
    v.failure = name + " for " + describe_duration(waited) + " (max_wait_secs "
                + std::to_string(cfg.max_wait_secs) + "); the task waited "
                + std::to_string(task.rate_limit_waits) + " times without using an attempt; "
                + "last answer: " + r.output;
  }
  return v;
}

} // namespace claude_pool
