// pool_config's credentials (issue 17): the JSON spelling and what validate() refuses.
#include <catch2/catch.hpp>

#include "messages/config.hpp"
#include "messages/json.hpp"

using namespace claude_pool;

namespace {

pool_config with_credentials(const char* json_text) {
  return nlohmann::json::parse(json_text).get<pool_config>();
}

} // namespace

TEST_CASE("credentials read from JSON and written back the same way", "[messages][credentials]") {
  auto cfg = with_credentials(R"({"credentials": [
      {"name": "team-a", "api_key_env": "TEAM_A_KEY", "max_concurrent": 4,
       "start_stagger_ms": 250},
      {"name": "max-sub", "oauth_token_env": "MAX_TOKEN", "env": {"X": "1"}},
      {"name": "laptop", "config_dir": "/home/me/.claude-work"}]})");
  REQUIRE(cfg.credentials.size() == 3);
  CHECK(cfg.credentials[0].api_key_env == std::optional<std::string>("TEAM_A_KEY"));
  CHECK(cfg.credentials[0].max_concurrent == std::optional<std::uint64_t>(4));
  CHECK(cfg.credentials[0].start_stagger_ms == 250);
  CHECK(cfg.credentials[1].env.at("X") == "1");
  CHECK(cfg.credentials[2].config_dir == std::optional<std::string>("/home/me/.claude-work"));
  CHECK(validate(cfg).empty());
  auto again = nlohmann::json(cfg).get<pool_config>();
  CHECK(nlohmann::json(again) == nlohmann::json(cfg));
  // A pool without credentials writes none (the reference's records stay as they were).
  CHECK_FALSE(nlohmann::json(pool_config{}).contains("credentials"));
  slot_config slot;
  slot.credential = "team-a";
  CHECK(nlohmann::json(slot)["credential"] == "team-a");
}

TEST_CASE("validate names the credential and the problem", "[messages][credentials]") {
  auto problem = [](const char* text) { return validate(with_credentials(text)); };
  CHECK_THAT(problem(R"({"credentials": [{"name": ""}]})"),
             Catch::Contains("pool_config.credentials[0].name: must not be empty"));
  CHECK_THAT(problem(R"({"credentials": [{"name": "a"}, {"name": "a"}]})"),
             Catch::Contains("\"a\": the name is used twice"));
  CHECK_THAT(problem(R"({"credentials": [{"name": "a", "api_key_env": "K",
                                           "oauth_token_env": "T"}]})"),
             Catch::Contains("at most one of api_key_env, oauth_token_env, config_dir"));
  CHECK_THAT(problem(R"({"credentials": [{"name": "a", "api_key_env": ""}]})"),
             Catch::Contains("empty environment variable name"));
  CHECK_THAT(problem(R"({"credentials": [{"name": "a", "max_concurrent": 0}]})"),
             Catch::Contains("\"a\".max_concurrent: must be at least 1"));
  CHECK_THAT(problem(R"({"bare": true, "credentials": [{"name": "s", "oauth_token_env": "T"}]})"),
             Catch::Contains("does not work with bare: true"));
  CHECK(problem(R"({"bare": true, "credentials": [{"name": "k", "api_key_env": "K"}]})")
          .empty());
  CHECK_THROWS_WITH(with_credentials(R"({"credentials": [{"api_key_env": "K"}]})"),
                    Catch::Contains("name"));
}

TEST_CASE("webhooks and cli_telemetry read from JSON, and validate names the problem",
          "[messages][webhooks]") {
  auto cfg = with_credentials(R"({"webhooks": [
      {"url": "https://hooks.example/pool", "events": ["task_failed", "budget_stop"],
       "secret_env": "HOOK_KEY", "max_attempts": 3}],
      "cli_telemetry": {"env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}}})");
  REQUIRE(cfg.webhooks.size() == 1);
  CHECK(cfg.webhooks[0].events == std::vector<std::string>{"task_failed", "budget_stop"});
  CHECK(cfg.webhooks[0].secret_env == std::optional<std::string>("HOOK_KEY"));
  CHECK(cfg.webhooks[0].max_attempts == 3);
  CHECK(cfg.webhooks[0].timeout_ms == 10000);
  REQUIRE(cfg.cli_telemetry);
  CHECK(cfg.cli_telemetry->enabled);
  CHECK(cfg.cli_telemetry->slot_attributes);
  CHECK(validate(cfg).empty());
  CHECK(nlohmann::json(nlohmann::json(cfg).get<pool_config>()) == nlohmann::json(cfg));
  CHECK_FALSE(nlohmann::json(pool_config{}).contains("webhooks"));
  CHECK_FALSE(nlohmann::json(pool_config{}).contains("cli_telemetry"));
  auto problem = [](const char* text) { return validate(with_credentials(text)); };
  CHECK_THAT(problem(R"({"webhooks": [{"url": "ftp://x"}]})"),
             Catch::Contains("pool_config.webhooks[0].url: \"ftp://x\" is not an http:// or "
                             "https:// URL"));
  CHECK_THAT(problem(R"({"webhooks": [{"url": "http://x", "max_attempts": 0}]})"),
             Catch::Contains("webhooks[0].max_attempts: must be at least 1"));
  CHECK_THAT(problem(R"({"webhooks": [{"url": "http://x", "events": [""]}]})"),
             Catch::Contains("webhooks[0].events: an empty event kind"));
  CHECK_THAT(problem(R"({"webhooks": [{"url": "http://x", "backoff_ms": 10,
                                        "backoff_max_ms": 5}]})"),
             Catch::Contains("backoff_max_ms: must be at least backoff_ms"));
  CHECK_THAT(problem(R"({"cli_telemetry": {"env": {"HOME": "/tmp"}}})"),
             Catch::Contains("cli_telemetry.env: \"HOME\" is not an OTEL_ variable"));
  CHECK_THROWS_WITH(with_credentials(R"({"webhooks": [{"events": ["*"]}]})"),
                    Catch::Contains("url"));
}
