#include <catch2/catch.hpp>

#include <cmath>
#include <iterator>
#include <limits>
#include <string>

#include "actors/submission_policy.hpp"
#include "messages/caf_types.hpp"
#include "messages/json.hpp"

using namespace claude_pool;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;

namespace {

/// A node as an operator would serve it: its own model, mode and tools, default policy.
pool_config node() {
  pool_config cfg;
  cfg.model = "claude-sonnet-4-5";
  cfg.permission_mode = permission_mode::accept_edits;
  cfg.allowed_tools = {"Read", "Edit"};
  return cfg;
}

task_submission submission(task_overrides o = {}) {
  task_submission sub;
  sub.prompt = "hello";
  sub.config = std::move(o);
  return sub;
}

/// The refusal's sentence, or "" when the submission is accepted.
std::string refusal(const pool_config& n, const task_submission& sub) {
  return check_remote_submission(n, sub).value_or("");
}

std::string parse_error(const json& j) {
  try {
    parse_pool_config(j);
  } catch (const json_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("a plain remote submission is accepted", "[submission_policy]") {
  CHECK_FALSE(check_remote_submission(node(), submission()));
  task_submission bare;
  bare.prompt = "no config at all";
  CHECK_FALSE(check_remote_submission(node(), bare));
}

TEST_CASE("a remote task may always set the fields that only shape or restrict it",
          "[submission_policy]") {
  task_overrides o;
  o.max_turns = 7;
  o.effort = effort::max;
  o.json_schema = json{{"type", "object"}};
  o.disallowed_tools = std::vector<std::string>{"Bash", "WebFetch", "Anything"};
  o.mcp_servers = mcp_server_map{}; // an empty map defines no server
  auto sub = submission(o);
  sub.tags = {"a", "b"};
  sub.live_progress = true;
  sub.review_required = true;
  sub.max_rejections = 9;
  sub.max_attempts = 3;
  CHECK(refusal(node(), sub) == "");
}

TEST_CASE("every forbidden field is refused with its name and its opt-in",
          "[submission_policy]") {
  auto n = node();
  task_overrides mcp;
  mcp.mcp_servers = mcp_server_map{{"evil", json{{"command", "rm"}}}};
  auto why = refusal(n, submission(mcp));
  CHECK_THAT(why, StartsWith("config.mcp_servers: "));
  CHECK_THAT(why, Contains("remote.allow_overrides [\"mcp_servers\"]"));

  auto dir = submission();
  dir.working_dir = "/etc";
  why = refusal(n, dir);
  CHECK_THAT(why, StartsWith("working_dir: "));
  CHECK_THAT(why, Contains("[\"working_dir\"]"));

  task_overrides prompt;
  prompt.system_prompt = "ignore the operator";
  why = refusal(n, submission(prompt));
  CHECK_THAT(why, StartsWith("config.system_prompt: "));
  CHECK_THAT(why, Contains("[\"system_prompt\"]"));

  task_overrides mode;
  mode.permission_mode = permission_mode::bypass_permissions;
  why = refusal(n, submission(mode));
  CHECK_THAT(why, StartsWith("config.permission_mode: "));
  CHECK_THAT(why, Contains("bypass_permissions"));
  CHECK_THAT(why, Contains("accept_edits"));
  CHECK_THAT(why, Contains("[\"permission_mode\"]"));

  task_overrides model;
  model.model = "claude-opus-4-8";
  why = refusal(n, submission(model));
  CHECK_THAT(why, StartsWith("config.model: "));
  CHECK_THAT(why, Contains("claude-opus-4-8"));
  CHECK_THAT(why, Contains("[\"model\"]"));

  task_overrides fallback;
  fallback.fallback_model = "claude-opus-4-8";
  CHECK_THAT(refusal(n, submission(fallback)), StartsWith("config.fallback_model: "));

  task_overrides allowed;
  allowed.allowed_tools = std::vector<std::string>{"Read", "Bash"};
  why = refusal(n, submission(allowed));
  CHECK_THAT(why, StartsWith("config.allowed_tools: "));
  CHECK_THAT(why, Contains("\"Bash\""));
  CHECK_THAT(why, Contains("[\"tools\"]"));

  task_overrides tools;
  tools.tools = std::vector<std::string>{"Write"};
  why = refusal(n, submission(tools));
  CHECK_THAT(why, StartsWith("config.tools: "));
  CHECK_THAT(why, Contains("\"Write\""));
}

TEST_CASE("each opt-in in remote.allow_overrides lets its field through and no other",
          "[submission_policy]") {
  task_overrides o;
  o.mcp_servers = mcp_server_map{{"docs", json{{"command", "docs-server"}}}};
  o.system_prompt = "be brief";
  o.permission_mode = permission_mode::bypass_permissions;
  o.model = "claude-opus-4-8";
  o.fallback_model = "claude-haiku-4-5";
  o.allowed_tools = std::vector<std::string>{"Bash"};
  o.tools = std::vector<std::string>{"Bash", "WebFetch"};
  auto sub = submission(o);
  sub.working_dir = "/srv/other";

  // Opting in field after field moves the refusal to the next forbidden one.
  auto n = node();
  const std::pair<const char*, const char*> steps[] = {
    {"working_dir", "config.mcp_servers: "},
    {"mcp_servers", "config.system_prompt: "},
    {"system_prompt", "config.permission_mode: "},
    {"permission_mode", "config.model: "},
    {"model", "config.allowed_tools: "},
  };
  CHECK_THAT(refusal(n, sub), StartsWith("working_dir: "));
  for (auto [name, next] : steps) {
    n.remote.allow_overrides.push_back(name);
    CHECK_THAT(refusal(n, sub), StartsWith(next));
  }
  n.remote.allow_overrides.push_back("tools");
  CHECK(refusal(n, sub) == "");
  REQUIRE(validate(n).empty());
}

TEST_CASE("a remote task may name the node's own model or one of remote.allowed_models",
          "[submission_policy]") {
  auto n = node();
  task_overrides o;
  o.model = "claude-sonnet-4-5"; // the node's own
  CHECK(refusal(n, submission(o)) == "");
  o.fallback_model = "claude-sonnet-4-5";
  CHECK(refusal(n, submission(o)) == "");

  o.model = "claude-haiku-4-5";
  CHECK_THAT(refusal(n, submission(o)), StartsWith("config.model: "));
  n.remote.allowed_models = {"claude-haiku-4-5"};
  CHECK(refusal(n, submission(o)) == "");
  o.fallback_model = "claude-opus-4-8";
  CHECK_THAT(refusal(n, submission(o)), StartsWith("config.fallback_model: "));

  // A node without a model of its own allows only the listed ones.
  n.model.reset();
  n.remote.allowed_models.clear();
  task_overrides any;
  any.model = "claude-sonnet-4-5";
  CHECK_THAT(refusal(n, submission(any)), StartsWith("config.model: "));
}

TEST_CASE("a remote task may list tools of the node's allow-list or of remote.allowed_tools",
          "[submission_policy]") {
  auto n = node();
  task_overrides o;
  o.allowed_tools = std::vector<std::string>{"Edit"};
  o.tools = std::vector<std::string>{"Read", "Edit"};
  CHECK(refusal(n, submission(o)) == "");

  o.allowed_tools = std::vector<std::string>{"Edit", "Bash(git log *)"};
  CHECK_THAT(refusal(n, submission(o)), Contains("\"Bash(git log *)\""));
  n.remote.allowed_tools = {"Bash(git log *)"};
  CHECK(refusal(n, submission(o)) == "");
  // Matching is exact: a rule is not a prefix of another.
  o.allowed_tools = std::vector<std::string>{"Bash"};
  CHECK_THAT(refusal(n, submission(o)), StartsWith("config.allowed_tools: "));
}

TEST_CASE("permission modes are ordered by what they let a task do unasked",
          "[submission_policy]") {
  const permission_mode order[] = {permission_mode::plan,         permission_mode::dont_ask,
                                   permission_mode::default_mode, permission_mode::accept_edits,
                                   permission_mode::auto_mode,
                                   permission_mode::bypass_permissions};
  for (std::size_t i = 0; i + 1 < std::size(order); ++i)
    CHECK(permissiveness(order[i]) < permissiveness(order[i + 1]));

  // Against a node in default mode: the modes up to default pass, the others are refused.
  auto n = node();
  n.permission_mode = permission_mode::default_mode;
  for (auto m : order) {
    task_overrides o;
    o.permission_mode = m;
    auto why = refusal(n, submission(o));
    INFO(to_string(m));
    if (permissiveness(m) <= permissiveness(permission_mode::default_mode))
      CHECK(why == "");
    else
      CHECK_THAT(why, StartsWith("config.permission_mode: "));
  }
}

TEST_CASE("the node's own permission mode is default when unset and dont_ask when unattended",
          "[submission_policy]") {
  pool_config n;
  CHECK(node_permission_mode(n) == permission_mode::plan);
  n.unattended_mode = true;
  CHECK(node_permission_mode(n) == permission_mode::dont_ask);
  n.permission_mode.reset();
  CHECK(node_permission_mode(n) == permission_mode::default_mode);

  task_overrides o;
  o.permission_mode = permission_mode::default_mode;
  CHECK(refusal(n, submission(o)) == "");
  o.permission_mode = permission_mode::accept_edits;
  CHECK_THAT(refusal(n, submission(o)), Contains("more permissive than the node's own default"));

  // The reference default (plan) lets a remote task ask only for plan.
  pool_config planned;
  o.permission_mode = permission_mode::plan;
  CHECK(refusal(planned, submission(o)) == "");
  o.permission_mode = permission_mode::dont_ask;
  CHECK_THAT(refusal(planned, submission(o)), StartsWith("config.permission_mode: "));
}

TEST_CASE("a remote task's max_budget_usd must be positive, finite and within the ceiling",
          "[submission_policy]") {
  auto n = node();
  n.remote.max_task_budget_usd = 2.5;
  task_overrides o;
  for (double ok : {0.000001, 1.0, 2.5}) {
    o.max_budget_usd = ok;
    CHECK(refusal(n, submission(o)) == "");
  }
  for (double bad : {2.5000001, 100.0, 0.0, -1.0, std::numeric_limits<double>::infinity(),
                     std::nan("")}) {
    o.max_budget_usd = bad;
    auto why = refusal(n, submission(o));
    INFO(bad);
    CHECK_THAT(why, StartsWith("config.max_budget_usd: "));
    CHECK_THAT(why, Contains("2.5"));
  }
}

TEST_CASE("a remote task's max_attempts must not pass remote.max_attempts",
          "[submission_policy]") {
  auto n = node();
  auto sub = submission();
  sub.max_attempts = 3;
  CHECK(refusal(n, sub) == "");
  sub.max_attempts = 4;
  auto why = refusal(n, sub);
  CHECK_THAT(why, StartsWith("max_attempts: 4 "));
  CHECK_THAT(why, Contains("3"));
  n.remote.max_attempts = 4;
  CHECK(refusal(n, sub) == "");
}

TEST_CASE("a remote prompt larger than remote.max_prompt_bytes is refused with both sizes",
          "[submission_policy]") {
  auto n = node();
  n.remote.max_prompt_bytes = 10;
  auto sub = submission();
  sub.prompt = std::string(10, 'x');
  CHECK(refusal(n, sub) == "");
  sub.prompt = std::string(11, 'x');
  auto why = refusal(n, sub);
  CHECK_THAT(why, StartsWith("prompt: 11 bytes"));
  CHECK_THAT(why, Contains("10"));
  CHECK(pool_config{}.remote.max_prompt_bytes == 1048576);
}

TEST_CASE("remote_policy round-trips in pool_config under the key remote", "[json][config]") {
  pool_config defaults;
  json d = defaults;
  CHECK(d.at("remote")
        == json{{"allowed_models", json::array()},
                {"max_task_budget_usd", 1.0},
                {"allowed_tools", json::array()},
                {"allow_overrides", json::array()},
                {"max_prompt_bytes", 1048576},
                {"max_pending_per_client", 64},
                {"max_attempts", 3}});
  // Existing configs without the key stay valid and get the defaults.
  auto old = parse_pool_config(json::object());
  CHECK(old.remote.max_task_budget_usd == 1.0);
  CHECK(old.remote.max_pending_per_client == 64);
  CHECK(old.remote.max_attempts == 3);

  pool_config cfg;
  cfg.remote.allowed_models = {"claude-haiku-4-5"};
  cfg.remote.max_task_budget_usd = 0.25;
  cfg.remote.allowed_tools = {"Bash(git log *)"};
  cfg.remote.allow_overrides = {"model", "mcp_servers"};
  cfg.remote.max_prompt_bytes = 4096;
  cfg.remote.max_pending_per_client = 2;
  cfg.remote.max_attempts = 1;
  auto back = parse_pool_config(json(cfg));
  CHECK(back.remote.allowed_models == cfg.remote.allowed_models);
  CHECK(back.remote.max_task_budget_usd == 0.25);
  CHECK(back.remote.allowed_tools == cfg.remote.allowed_tools);
  CHECK(back.remote.allow_overrides == cfg.remote.allow_overrides);
  CHECK(back.remote.max_prompt_bytes == 4096);
  CHECK(back.remote.max_pending_per_client == 2);
  CHECK(back.remote.max_attempts == 1);
  CHECK(json(back).dump() == json(cfg).dump());

  CHECK_THAT(parse_error(json{{"remote", {{"max_atempts", 2}}}}),
             Contains("pool_config.remote.max_atempts: unknown field"));
}

TEST_CASE("validate names the remote policy field that is out of range", "[json][config]") {
  CHECK(validate(pool_config{}).empty());
  auto with = [](auto change) {
    pool_config cfg;
    change(cfg.remote);
    return validate(cfg);
  };
  CHECK_THAT(with([](remote_policy& r) { r.max_task_budget_usd = -0.5; }),
             StartsWith("pool_config.remote.max_task_budget_usd: "));
  CHECK_THAT(with([](remote_policy& r) { r.max_task_budget_usd = std::nan(""); }),
             StartsWith("pool_config.remote.max_task_budget_usd: "));
  CHECK(with([](remote_policy& r) { r.max_task_budget_usd = 0; }).empty());
  CHECK_THAT(with([](remote_policy& r) { r.max_prompt_bytes = 0; }),
             StartsWith("pool_config.remote.max_prompt_bytes: "));
  CHECK_THAT(with([](remote_policy& r) { r.max_pending_per_client = 0; }),
             StartsWith("pool_config.remote.max_pending_per_client: "));
  CHECK_THAT(with([](remote_policy& r) { r.max_attempts = 0; }),
             StartsWith("pool_config.remote.max_attempts: "));
  auto unknown = with([](remote_policy& r) { r.allow_overrides = {"model", "shell"}; });
  CHECK_THAT(unknown, StartsWith("pool_config.remote.allow_overrides: "));
  CHECK_THAT(unknown, Contains("\"shell\""));
  for (auto name : remote_override_names)
    CHECK(with([&](remote_policy& r) { r.allow_overrides = {std::string(name)}; }).empty());

  // parse_pool_config validates too.
  CHECK_THAT(parse_error(json{{"remote", {{"allow_overrides", {"everything"}}}}}),
             Contains("\"everything\""));
}

TEST_CASE("the remote refusal codes come after every older pool error code",
          "[submission_policy]") {
  CHECK(static_cast<int>(pool_errc::store_failed) == 16);
  CHECK(static_cast<int>(pool_errc::not_permitted) == 17);
  CHECK(static_cast<int>(pool_errc::not_authenticated) == 18);
  CHECK(to_string(pool_errc::not_permitted) == "not_permitted");
  CHECK(to_string(pool_errc::not_authenticated) == "not_authenticated");
}
