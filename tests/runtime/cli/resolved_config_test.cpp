#include "runtime/cli/resolved_config.hpp"
#include "messages/json.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace claude_pool;
using nlohmann::json;

namespace {

using strings = std::vector<std::string>;

pool_config global_layer() {
  pool_config p;
  p.model = "global-model";
  p.permission_mode = permission_mode::plan;
  p.max_turns = 10;
  p.system_prompt = "global prompt";
  p.effort = effort::low;
  p.fallback_model = "global-fallback";
  return p;
}

slot_config slot_layer() {
  slot_config s;
  s.model = "slot-model";
  s.permission_mode = permission_mode::accept_edits;
  s.max_turns = 20;
  s.system_prompt = "slot prompt";
  s.effort = effort::medium;
  s.fallback_model = "slot-fallback";
  return s;
}

task_overrides task_layer() {
  task_overrides t;
  t.model = "task-model";
  t.permission_mode = permission_mode::dont_ask;
  t.max_turns = 30;
  t.system_prompt = "task prompt";
  t.effort = effort::max;
  t.fallback_model = "task-fallback";
  return t;
}

} // namespace

TEST_CASE("the task's scalars win over the slot's and the pool's", "[resolved_config]") {
  auto task = task_layer();
  auto r = resolve_config(global_layer(), slot_layer(), &task);
  CHECK(r.model == std::optional<std::string>("task-model"));
  CHECK(r.permission_mode == permission_mode::dont_ask);
  CHECK(r.max_turns == std::optional<std::uint32_t>(30));
  CHECK(r.system_prompt == std::optional<std::string>("task prompt"));
  CHECK(r.effort == effort::max);
  CHECK(r.fallback_model == std::optional<std::string>("task-fallback"));
}

TEST_CASE("the slot's scalars win over the pool's when the task sets none",
          "[resolved_config]") {
  task_overrides empty_task;
  auto with_empty = resolve_config(global_layer(), slot_layer(), &empty_task);
  auto without = resolve_config(global_layer(), slot_layer(), nullptr);
  for (auto* r : {&with_empty, &without}) {
    CHECK(r->model == std::optional<std::string>("slot-model"));
    CHECK(r->permission_mode == permission_mode::accept_edits);
    CHECK(r->max_turns == std::optional<std::uint32_t>(20));
    CHECK(r->system_prompt == std::optional<std::string>("slot prompt"));
    CHECK(r->effort == effort::medium);
    CHECK(r->fallback_model == std::optional<std::string>("slot-fallback"));
  }
}

TEST_CASE("the pool's scalars apply when neither slot nor task sets them",
          "[resolved_config]") {
  task_overrides empty_task;
  auto r = resolve_config(global_layer(), slot_config{}, &empty_task);
  CHECK(r.model == std::optional<std::string>("global-model"));
  CHECK(r.permission_mode == permission_mode::plan);
  CHECK(r.max_turns == std::optional<std::uint32_t>(10));
  CHECK(r.system_prompt == std::optional<std::string>("global prompt"));
  CHECK(r.effort == effort::low);
  CHECK(r.fallback_model == std::optional<std::string>("global-fallback"));
}

TEST_CASE("each scalar is resolved on its own layer by layer", "[resolved_config]") {
  // The task sets only the model, the slot only max_turns: every other field falls through.
  task_overrides task;
  task.model = "task-model";
  slot_config slot;
  slot.max_turns = 20;
  auto r = resolve_config(global_layer(), slot, &task);
  CHECK(r.model == std::optional<std::string>("task-model"));
  CHECK(r.max_turns == std::optional<std::uint32_t>(20));
  CHECK(r.permission_mode == permission_mode::plan);
  CHECK(r.system_prompt == std::optional<std::string>("global prompt"));
  CHECK(r.effort == effort::low);
  CHECK(r.fallback_model == std::optional<std::string>("global-fallback"));
}

TEST_CASE("nothing set anywhere resolves to nothing but the pool's defaults",
          "[resolved_config]") {
  pool_config p;
  p.permission_mode.reset();
  auto r = resolve_config(p, slot_config{}, nullptr);
  CHECK_FALSE(r.model);
  CHECK_FALSE(r.permission_mode);
  CHECK_FALSE(r.max_turns);
  CHECK_FALSE(r.system_prompt);
  CHECK_FALSE(r.effort);
  CHECK_FALSE(r.fallback_model);
  CHECK(r.allowed_tools.empty());
  CHECK(r.disallowed_tools.empty());
  CHECK_FALSE(r.tools);
  CHECK(r.mcp_servers.empty());
  CHECK_FALSE(r.json_schema);
  CHECK_FALSE(r.max_budget_usd);
  CHECK(r.strict_mcp_config);
  CHECK_FALSE(r.bare);
}

TEST_CASE("allowed_tools are merged global, slot, task in order without duplicates",
          "[resolved_config]") {
  pool_config p;
  p.allowed_tools = {"Read", "Grep"};
  slot_config s;
  s.allowed_tools = strings{"Edit", "Read", "Bash(git *)"};
  task_overrides t;
  t.allowed_tools = strings{"Grep", "Write", "Edit", "Glob"};
  auto r = resolve_config(p, s, &t);
  CHECK(r.allowed_tools == strings{"Read", "Grep", "Edit", "Bash(git *)", "Write", "Glob"});

  auto no_task = resolve_config(p, s, nullptr);
  CHECK(no_task.allowed_tools == strings{"Read", "Grep", "Edit", "Bash(git *)"});
}

TEST_CASE("mcp_servers are merged by name with the later layer winning", "[resolved_config]") {
  pool_config p;
  p.mcp_servers = {{"a", json{{"command", "global-a"}}}, {"b", json{{"command", "global-b"}}},
                   {"c", json{{"command", "global-c"}}}};
  slot_config s;
  s.mcp_servers = mcp_server_map{{"b", json{{"command", "slot-b"}}},
                                 {"d", json{{"command", "slot-d"}}}};
  task_overrides t;
  t.mcp_servers = mcp_server_map{{"c", json{{"command", "task-c"}}},
                                 {"d", json{{"command", "task-d"}}}};
  auto r = resolve_config(p, s, &t);
  REQUIRE(r.mcp_servers.size() == 4);
  CHECK(r.mcp_servers.at("a") == json{{"command", "global-a"}});
  CHECK(r.mcp_servers.at("b") == json{{"command", "slot-b"}});
  CHECK(r.mcp_servers.at("c") == json{{"command", "task-c"}});
  CHECK(r.mcp_servers.at("d") == json{{"command", "task-d"}});

  auto no_task = resolve_config(p, s, nullptr);
  CHECK(no_task.mcp_servers.at("c") == json{{"command", "global-c"}});
  CHECK(no_task.mcp_servers.at("d") == json{{"command", "slot-d"}});
}

TEST_CASE("strict_mcp_config and bare come from the pool", "[resolved_config]") {
  pool_config p;
  p.strict_mcp_config = false;
  p.bare = true;
  auto r = resolve_config(p, slot_config{}, nullptr);
  CHECK_FALSE(r.strict_mcp_config);
  CHECK(r.bare);
}

TEST_CASE("disallowed_tools, tools, json_schema and max_budget_usd come from the task alone",
          "[resolved_config]") {
  task_overrides t;
  t.disallowed_tools = strings{"Bash", "WebFetch"};
  t.tools = strings{"Read", "Edit"};
  t.json_schema = json{{"type", "object"}};
  t.max_budget_usd = 0.25;
  auto r = resolve_config(pool_config{}, slot_config{}, &t);
  CHECK(r.disallowed_tools == strings{"Bash", "WebFetch"});
  REQUIRE(r.tools);
  CHECK(*r.tools == strings{"Read", "Edit"});
  REQUIRE(r.json_schema);
  CHECK(*r.json_schema == json{{"type", "object"}});
  REQUIRE(r.max_budget_usd);
  CHECK(*r.max_budget_usd == 0.25);

  // An explicitly empty tools list (disable every tool) is kept, not dropped.
  task_overrides none;
  none.tools = strings{};
  auto r2 = resolve_config(pool_config{}, slot_config{}, &none);
  REQUIRE(r2.tools);
  CHECK(r2.tools->empty());

  auto r3 = resolve_config(pool_config{}, slot_config{}, nullptr);
  CHECK(r3.disallowed_tools.empty());
  CHECK_FALSE(r3.tools);
  CHECK_FALSE(r3.json_schema);
  CHECK_FALSE(r3.max_budget_usd);
}

TEST_CASE("the slot's name, role and description are carried into the resolved config",
          "[resolved_config]") {
  slot_config s;
  s.name = "rev-1";
  s.role = "reviewer";
  s.description = "Reviews every diff for safety.";
  task_overrides t = task_layer();
  auto r = resolve_config(pool_config{}, s, &t);
  CHECK(r.slot_name == std::optional<std::string>("rev-1"));
  CHECK(r.slot_role == std::optional<std::string>("reviewer"));
  CHECK(r.slot_description == std::optional<std::string>("Reviews every diff for safety."));

  auto anonymous = resolve_config(pool_config{}, slot_config{}, nullptr);
  CHECK_FALSE(anonymous.slot_name);
  CHECK_FALSE(anonymous.slot_role);
  CHECK_FALSE(anonymous.slot_description);
}

TEST_CASE("the execution mode comes from the slot, else the pool", "[config]") {
  claude_pool::pool_config pool;
  claude_pool::slot_config slot;
  CHECK(claude_pool::resolve_config(pool, slot, nullptr).execution
        == claude_pool::execution_mode::one_shot);
  pool.execution = claude_pool::execution_mode::warm;
  CHECK(claude_pool::resolve_config(pool, slot, nullptr).execution
        == claude_pool::execution_mode::warm);
  slot.execution = claude_pool::execution_mode::one_shot;
  CHECK(claude_pool::resolve_config(pool, slot, nullptr).execution
        == claude_pool::execution_mode::one_shot);
  auto parsed = claude_pool::parse_pool_config(
    nlohmann::json::parse(R"({"execution": "warm", "warm_max_tasks": 5})"));
  CHECK(parsed.execution == claude_pool::execution_mode::warm);
  CHECK(parsed.warm_max_tasks == 5u);
  CHECK_THROWS_WITH(claude_pool::parse_pool_config(nlohmann::json::parse(R"({"execution": "hot"})")),
                    Catch::Contains("execution") && Catch::Contains("one_shot, warm"));
}
