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
