// Reading the CLI's limit events (runtime/cli/limit_signals.hpp). The lines are shaped as the
// pinned CLI 2.1.197 prints them (../shared/CLI_LIMITS_FACTS.md).
#include <catch2/catch.hpp>

#include "messages/json.hpp"
#include "runtime/cli/limit_signals.hpp"

using namespace claude_pool;

TEST_CASE("api_retry events give the retry count and the last delay", "[limits][cli]") {
  limit_signals s;
  s.feed_line(R"({"type":"system","subtype":"init","session_id":"x"})");
  s.feed_line(R"({"type":"system","subtype":"api_retry","attempt":1,"max_retries":2,)"
              R"("retry_delay_ms":3000,"error_status":429,"error":"rate_limit","session_id":"x"})");
  s.feed_line(R"({"type":"system","subtype":"api_retry","attempt":2,"max_retries":2,)"
              R"("retry_delay_ms":3000,"error_status":429,"error":"rate_limit","session_id":"x"})");
  task_result r;
  s.apply_to(r);
  CHECK(r.api_retries == 2);
  CHECK(r.retry_after_ms == 3000u);
  CHECK_FALSE(r.rate_limit);
}

TEST_CASE("rate_limit_event gives the window's state and reset", "[limits][cli]") {
  limit_signals s;
  s.feed_line(R"({"type":"rate_limit_event","rate_limit_info":{"status":"allowed","isUsingOverage":false},"uuid":"u","session_id":"x"})");
  s.feed_line(R"({"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1796588386,"rateLimitType":"five_hour","isUsingOverage":false},"uuid":"u","session_id":"x"})");
  task_result r;
  s.apply_to(r);
  REQUIRE(r.rate_limit);
  CHECK(r.rate_limit->status == "rejected");
  CHECK(r.rate_limit->resets_at_ms == 1796588386000u);
  CHECK(r.rate_limit->window == "five_hour");
  CHECK_FALSE(r.rate_limit->utilization);
}

TEST_CASE("a warning carries its utilization", "[limits][cli]") {
  auto info = parse_rate_limit_info(nlohmann::json::parse(
    R"({"status":"allowed_warning","resetsAt":1796590000,"rateLimitType":"five_hour","utilization":0.95,"isUsingOverage":false,"surpassedThreshold":0.9})"));
  REQUIRE(info);
  CHECK(info->status == "allowed_warning");
  CHECK(info->utilization == Approx(0.95));
  CHECK_FALSE(parse_rate_limit_info(nlohmann::json::parse(R"({"resetsAt":1})")));
}

TEST_CASE("other lines, garbage and a reset leave no signal", "[limits][cli]") {
  limit_signals s;
  s.feed_line(R"({"type":"assistant","message":{"content":[{"type":"text","text":"api_retry"}]}})");
  s.feed_line(R"({"type":"rate_limit_event", broken)");
  s.feed_line("not json at all");
  task_result r;
  s.apply_to(r);
  CHECK(r.api_retries == 0);
  CHECK_FALSE(r.retry_after_ms);
  CHECK_FALSE(r.rate_limit);
  s.feed_line(R"({"type":"system","subtype":"api_retry","attempt":1,"retry_delay_ms":574,"error_status":529})");
  s.reset();
  task_result after;
  s.apply_to(after);
  CHECK(after.api_retries == 0);
}

TEST_CASE("the limit fields round-trip through the record's JSON", "[limits][json]") {
  task_result r = task_result::failure("limited", "success");
  r.api_retries = 2;
  r.retry_after_ms = 3000;
  r.rate_limit = rate_limit_info{"rejected", 1796588386000u, "five_hour", 1.0};
  nlohmann::json j = r;
  CHECK(j["api_retries"] == 2);
  CHECK(j["retry_after_ms"] == 3000);
  CHECK(j["rate_limit"]["window"] == "five_hour");
  auto back = j.get<task_result>();
  REQUIRE(back.rate_limit);
  CHECK(back.rate_limit->resets_at_ms == 1796588386000u);
  CHECK(back.retry_after_ms == 3000u);
  // Unset, they are left out: records without limits look as before.
  nlohmann::json plain = task_result::failure("x", "crashed");
  CHECK_FALSE(plain.contains("api_retries"));
  CHECK_FALSE(plain.contains("rate_limit"));
}
