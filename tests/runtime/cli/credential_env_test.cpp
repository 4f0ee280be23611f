// How a credential profile becomes a CLI process's login variables (issue 17).
#include <catch2/catch.hpp>

#include <map>

#include "runtime/cli/credential_env.hpp"

using namespace claude_pool;

namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

std::map<std::string, std::string> as_map(const credential_environment& e) {
  return {e.set.begin(), e.set.end()};
}

} // namespace

TEST_CASE("each kind of credential sets its login and hides the others", "[runtime][cli]") {
  auto env = fake_env({{"TEAM_KEY", "sk-ant-api03-team"}, {"SUB_TOKEN", "sk-ant-oat01-sub"}});
  credential_profile key;
  key.name = "team";
  key.api_key_env = "TEAM_KEY";
  key.env["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9";
  auto k = environment_for(key, env);
  CHECK(k.problem.empty());
  CHECK(as_map(k) == std::map<std::string, std::string>{
                       {"ANTHROPIC_API_KEY", "sk-ant-api03-team"},
                       {"ANTHROPIC_BASE_URL", "http://127.0.0.1:9"}});
  CHECK(k.unset == std::vector<std::string>{"CLAUDE_CODE_OAUTH_TOKEN"});

  credential_profile oauth;
  oauth.name = "sub";
  oauth.oauth_token_env = "SUB_TOKEN";
  auto o = environment_for(oauth, env);
  CHECK(as_map(o) == std::map<std::string, std::string>{
                       {"CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-sub"}});
  CHECK(o.unset == std::vector<std::string>{"ANTHROPIC_API_KEY"});

  credential_profile dir;
  dir.name = "laptop";
  dir.config_dir = "/home/me/.claude-work";
  auto d = environment_for(dir, env);
  CHECK(as_map(d) == std::map<std::string, std::string>{
                       {"CLAUDE_CONFIG_DIR", "/home/me/.claude-work"}});
  CHECK(d.unset == std::vector<std::string>{"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"});

  credential_profile plain; // the pool's environment, plus its own variables
  plain.name = "plain";
  plain.env["X"] = "1";
  auto p = environment_for(plain, env);
  CHECK(as_map(p) == std::map<std::string, std::string>{{"X", "1"}});
  CHECK(p.unset.empty());
}

TEST_CASE("a variable a credential names must be set: the problem names both",
          "[runtime][cli]") {
  pool_config cfg;
  credential_profile a, b;
  a.name = "team-a";
  a.api_key_env = "TEAM_A_KEY";
  b.name = "team-b";
  b.oauth_token_env = "TEAM_B_TOKEN";
  cfg.credentials = {a, b};
  auto problems = check_credentials(cfg, fake_env({{"TEAM_B_TOKEN", ""}}));
  CHECK_THAT(problems, Catch::Contains(
                         "credential \"team-a\": the environment variable TEAM_A_KEY is not set"));
  CHECK_THAT(problems, Catch::Contains(
                         "credential \"team-b\": the environment variable TEAM_B_TOKEN is empty"));
  CHECK(check_credentials(cfg, fake_env({{"TEAM_A_KEY", "k"}, {"TEAM_B_TOKEN", "t"}})).empty());
  CHECK_THAT(describe_credential(a), Catch::Contains("the API key in $TEAM_A_KEY"));
  CHECK_THAT(describe_credential(b), Catch::Contains("claude setup-token"));
}
