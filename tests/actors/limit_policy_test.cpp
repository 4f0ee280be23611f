// The rules for API limits, one by one (actors/limit_policy.hpp).
#include <catch2/catch.hpp>

#include "actors/limit_policy.hpp"

using namespace claude_pool;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr std::uint64_t now = 1'800'000'000'000; // ms

task_result limited(int status, std::optional<std::uint64_t> retry_after_ms = {}) {
  auto r = task_result::failure("API Error: Request rejected (" + std::to_string(status) + ")",
                                "success");
  r.api_error_status = status;
  r.retry_after_ms = retry_after_ms;
  return r;
}

task_result window(std::uint64_t resets_at_ms, std::string type = "five_hour") {
  auto r = limited(429);
  r.output = "You've hit your session limit · resets 8:19pm (UTC)";
  r.rate_limit = rate_limit_info{"rejected", resets_at_ms, std::move(type), std::nullopt};
  return r;
}

pool_config config() {
  pool_config cfg;
  cfg.rate_limit_cooldown_secs = 10;
  cfg.max_wait_secs = 300;
  cfg.window_wait_max_secs = 24 * 3600;
  return cfg;
}

} // namespace

TEST_CASE("the server's retry-after sets the pause, the CLI's own backoff does not",
          "[limits]") {
  task_record task;
  auto v = judge_limit(limited(429, 3000), task, config(), 1, now);
  CHECK(v.pause_until_ms == now + 3000);
  CHECK_THAT(v.reason, Contains("API rate limit (429)"));
  CHECK_THAT(v.reason, Contains("the server asked for 3.0 s"));
  CHECK_FALSE(v.task_fails);
  // 574 ms is the CLI's jittered backoff: the pool's own cool-down applies, doubling.
  auto own = judge_limit(limited(529, 574), task, config(), 3, now);
  CHECK(own.pause_until_ms == now + 40000);
  CHECK_THAT(own.reason, Contains("API overloaded (529); cool-down 40 s"));
  // …up to 16×.
  CHECK(judge_limit(limited(529), task, config(), 9, now).pause_until_ms == now + 160000);
}

TEST_CASE("a task fails once it has waited max_wait_secs, naming the limit and the time",
          "[limits]") {
  task_record task;
  task.waiting_since_ms = now - 130'500;
  task.rate_limit_waits = 7;
  auto cfg = config();
  cfg.max_wait_secs = 120;
  auto v = judge_limit(limited(529), task, cfg, 8, now);
  REQUIRE(v.task_fails);
  CHECK_THAT(v.failure, StartsWith("API overloaded (529) for 2 min 10 s (max_wait_secs 120)"));
  CHECK_THAT(v.failure, Contains("7 times without using an attempt"));
  task.waiting_since_ms = now - 119'000;
  CHECK_FALSE(judge_limit(limited(529), task, cfg, 8, now).task_fails);
}

TEST_CASE("a rejected usage window pauses until its reset, however many waits", "[limits]") {
  task_record task;
  task.waiting_since_ms = now - 3'600'000; // longer than max_wait_secs: windows do not count
  auto resets = now + 2 * 3600 * 1000;
  auto v = judge_limit(window(resets), task, config(), 1, now);
  CHECK_FALSE(v.task_fails);
  CHECK(v.pause_until_ms >= resets);
  CHECK(v.pause_until_ms <= resets + 5000);
  CHECK_THAT(v.reason, StartsWith("usage limit (five_hour window); resets "));
  CHECK_THAT(v.reason, Contains(describe_time_utc(resets)));
}

TEST_CASE("a window that resets further away than window_wait_max_secs fails the task",
          "[limits]") {
  task_record task;
  auto v = judge_limit(window(now + 3 * 24 * 3600 * 1000ull, "seven_day"), task, config(), 1, now);
  REQUIRE(v.task_fails);
  CHECK_THAT(v.failure, Contains("usage limit (seven_day window)"));
  CHECK_THAT(v.failure, Contains("window_wait_max_secs"));
  CHECK_THAT(v.failure, Contains("You've hit your session limit"));
}

TEST_CASE("a window reset in the past still pauses a moment (clocks differ)", "[limits]") {
  task_record task;
  auto v = judge_limit(window(now - 1000), task, config(), 1, now);
  CHECK(v.pause_until_ms > now);
  CHECK_FALSE(v.task_fails);
}

TEST_CASE("refused logins are recognised by status or by the CLI's text", "[limits]") {
  CHECK(auth_refused(limited(401)));
  CHECK(auth_refused(limited(403)));
  CHECK_FALSE(auth_refused(limited(429)));
  CHECK(auth_refused(task_result::failure("Not logged in · Please run /login", "success")));
  CHECK_FALSE(auth_refused(task_result::failure("crashed", "crashed")));
  task_result ok;
  ok.success = true;
  CHECK_FALSE(auth_refused(ok));
}

TEST_CASE("durations and times read as a person writes them", "[limits]") {
  CHECK(describe_duration(900) == "0.9 s");
  CHECK(describe_duration(130'500) == "2 min 10 s");
  CHECK(describe_duration(3 * 3600 * 1000 + 5 * 60 * 1000) == "3 h 5 min");
  CHECK(describe_duration(2 * 86400 * 1000ull + 3600 * 1000) == "2 d 1 h");
  CHECK(describe_time_utc(0) == "1970-01-01 00:00:00 UTC");
}
