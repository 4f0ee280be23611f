#include "messages/json.hpp"
#include "messages/requests.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace claude_pool;
using nlohmann::json;
using Catch::Matchers::Contains;

namespace {

/// to_json, then from_json.
template <class T>
T round_trip(const T& x) {
  json j = x;
  return j.get<T>();
}

/// The dump of a value after two round trips; equal to the first dump when nothing is lost.
template <class T>
std::string dump_after_two_round_trips(const T& x) {
  return json(round_trip(round_trip(x))).dump();
}

/// The message of the json_error thrown by `f`, or a marker when nothing was thrown.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const json_error& e) {
    return e.what();
  }
  return "<no json_error thrown>";
}

std::set<std::string> keys_of(const json& j) {
  std::set<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it)
    out.insert(it.key());
  return out;
}

task_overrides full_overrides() {
  task_overrides o;
  o.model = "claude-sonnet-4-5";
  o.permission_mode = permission_mode::accept_edits;
  o.max_turns = 7;
  o.system_prompt = "Be brief.";
  o.allowed_tools = std::vector<std::string>{"Read", "Edit"};
  o.disallowed_tools = std::vector<std::string>{"Bash"};
  o.tools = std::vector<std::string>{"Read"};
  o.mcp_servers = mcp_server_map{{"files", json{{"command", "mcp-files"}, {"args", {"-v"}}}}};
  o.effort = effort::xhigh;
  o.fallback_model = "claude-haiku-4-5";
  o.json_schema = json{{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}}}}},
                       {"required", {"name"}}};
  o.max_budget_usd = 0.25;
  return o;
}

void check_full_overrides(const task_overrides& o) {
  CHECK(o.model == std::optional<std::string>("claude-sonnet-4-5"));
  CHECK(o.permission_mode == permission_mode::accept_edits);
  CHECK(o.max_turns == std::optional<std::uint32_t>(7));
  CHECK(o.system_prompt == std::optional<std::string>("Be brief."));
  REQUIRE(o.allowed_tools);
  CHECK(*o.allowed_tools == std::vector<std::string>{"Read", "Edit"});
  REQUIRE(o.disallowed_tools);
  CHECK(*o.disallowed_tools == std::vector<std::string>{"Bash"});
  REQUIRE(o.tools);
  CHECK(*o.tools == std::vector<std::string>{"Read"});
  REQUIRE(o.mcp_servers);
  REQUIRE(o.mcp_servers->size() == 1);
  CHECK(o.mcp_servers->at("files") == json{{"command", "mcp-files"}, {"args", {"-v"}}});
  CHECK(o.effort == effort::xhigh);
  CHECK(o.fallback_model == std::optional<std::string>("claude-haiku-4-5"));
  REQUIRE(o.json_schema);
  CHECK(o.json_schema->at("required") == json{"name"});
  CHECK(o.json_schema->at("properties").at("name").at("type") == "string");
  REQUIRE(o.max_budget_usd);
  CHECK(*o.max_budget_usd == 0.25);
}

task_result full_result() {
  task_result r;
  r.output = "done";
  r.success = false;
  r.cost_microdollars = 1234;
  r.turns_used = 4;
  r.elapsed_ms = 987;
  r.model = "claude-opus-4-8";
  r.session_id = "sess-1";
  r.failed_command = "claude -p --output-format=json";
  r.exit_code = 1;
  r.stderr_text = "boom";
  r.budget_exceeded = true;
  r.structured_output = json{{"name", "pool"}, {"size", 3}};
  r.subtype = "error_max_budget_usd";
  r.api_error_status = 529;
  return r;
}

} // namespace

// ---- identifiers and enums ------------------------------------------------------------------

TEST_CASE("task and slot ids serialise as plain JSON strings and read back", "[json]") {
  json t = task_id{"task-abc"};
  json s = slot_id{"slot-0"};
  CHECK(t == json("task-abc"));
  CHECK(s == json("slot-0"));
  CHECK(round_trip(task_id{"task-abc"}).value == "task-abc");
  CHECK(round_trip(slot_id{"slot-0"}).value == "slot-0");
  CHECK_THAT(error_of([] { json(42).get<task_id>(); }), Contains("task_id"));
}

TEST_CASE("every slot_mode value round-trips with its snake_case spelling", "[json]") {
  const std::vector<std::pair<slot_mode, std::string>> all{
    {slot_mode::persistent, "persistent"}, {slot_mode::ephemeral, "ephemeral"}};
  for (auto& [value, name] : all) {
    CHECK(json(value) == json(name));
    CHECK(json(name).get<slot_mode>() == value);
  }
}

TEST_CASE("every slot_state value round-trips with its snake_case spelling", "[json]") {
  const std::vector<std::pair<slot_state, std::string>> all{{slot_state::idle, "idle"},
                                                            {slot_state::busy, "busy"},
                                                            {slot_state::stopped, "stopped"},
                                                            {slot_state::errored, "errored"}};
  for (auto& [value, name] : all) {
    CHECK(json(value) == json(name));
    CHECK(json(name).get<slot_state>() == value);
  }
}

TEST_CASE("every task_state value round-trips with its snake_case spelling", "[json]") {
  const std::vector<std::pair<task_state, std::string>> all{
    {task_state::pending, "pending"},     {task_state::running, "running"},
    {task_state::completed, "completed"}, {task_state::failed, "failed"},
    {task_state::cancelled, "cancelled"}, {task_state::pending_review, "pending_review"}};
  for (auto& [value, name] : all) {
    CHECK(json(value) == json(name));
    CHECK(json(name).get<task_state>() == value);
  }
}

TEST_CASE("every permission_mode value round-trips with its snake_case spelling", "[json]") {
  const std::vector<std::pair<permission_mode, std::string>> all{
    {permission_mode::accept_edits, "accept_edits"},
    {permission_mode::auto_mode, "auto"},
    {permission_mode::bypass_permissions, "bypass_permissions"},
    {permission_mode::default_mode, "default"},
    {permission_mode::dont_ask, "dont_ask"},
    {permission_mode::plan, "plan"}};
  for (auto& [value, name] : all) {
    CHECK(json(value) == json(name));
    CHECK(json(name).get<permission_mode>() == value);
  }
}

TEST_CASE("permission_mode also accepts the CLI's camelCase spelling on input", "[json]") {
  CHECK(json("acceptEdits").get<permission_mode>() == permission_mode::accept_edits);
  CHECK(json("bypassPermissions").get<permission_mode>() == permission_mode::bypass_permissions);
  CHECK(json("dontAsk").get<permission_mode>() == permission_mode::dont_ask);
  // ... but writes snake_case.
  CHECK(json(json("acceptEdits").get<permission_mode>()) == json("accept_edits"));
}

TEST_CASE("every effort value round-trips with its spelling", "[json]") {
  const std::vector<std::pair<effort, std::string>> all{{effort::low, "low"},
                                                        {effort::medium, "medium"},
                                                        {effort::high, "high"},
                                                        {effort::xhigh, "xhigh"},
                                                        {effort::max, "max"}};
  for (auto& [value, name] : all) {
    CHECK(json(value) == json(name));
    CHECK(json(name).get<effort>() == value);
  }
}

// ---- configs --------------------------------------------------------------------------------

TEST_CASE("scaling_config round-trips its bounds", "[json]") {
  scaling_config s;
  s.min_slots = 2;
  s.max_slots = 9;
  json j = s;
  CHECK(j == json{{"min_slots", 2}, {"max_slots", 9}});
  auto back = round_trip(s);
  CHECK(back.min_slots == 2);
  CHECK(back.max_slots == 9);
}

TEST_CASE("a default pool_config serialises the reference's defaults", "[json]") {
  json j = pool_config{};
  CHECK(j.at("permission_mode") == "plan");
  CHECK(j.at("max_restarts") == 3);
  CHECK(j.at("slot_assignment_timeout_secs") == 300);
  CHECK(j.at("scaling") == json{{"min_slots", 1}, {"max_slots", 16}});
  CHECK(j.at("detect_permission_prompts") == true);
  CHECK(j.at("supervisor_interval_secs") == 30);
  CHECK(j.at("strict_mcp_config") == true);
  CHECK(j.at("supervisor_enabled") == false);
  CHECK(j.at("unattended_mode") == false);
  CHECK(j.at("worktree_isolation") == false);
  CHECK(j.at("slot_mode") == "persistent");
  CHECK(j.at("allowed_tools") == json::array());
  CHECK(j.at("mcp_servers") == json::object());
  for (auto name : {"model", "max_turns", "system_prompt", "effort", "fallback_model",
                    "budget_microdollars", "worktree_base_dir"})
    CHECK(j.at(name).is_null());
  // Unset extension fields are left out.
  for (auto name : {"claude_bin", "working_dir", "task_timeout_secs", "cli_env", "initial_slots"})
    CHECK_FALSE(j.contains(name));
}

TEST_CASE("a default pool_config round-trips to the same JSON", "[json]") {
  pool_config cfg;
  auto back = round_trip(cfg);
  CHECK(back.permission_mode == permission_mode::plan);
  CHECK(back.max_restarts == 3);
  CHECK(back.scaling.min_slots == 1);
  CHECK(back.scaling.max_slots == 16);
  CHECK_FALSE(back.model);
  CHECK_FALSE(back.initial_slots);
  CHECK(dump_after_two_round_trips(cfg) == json(cfg).dump());
}

TEST_CASE("a fully populated pool_config round-trips every field, extensions included",
          "[json]") {
  pool_config cfg;
  cfg.model = "claude-opus-4-8";
  cfg.permission_mode = permission_mode::dont_ask;
  cfg.max_turns = 12;
  cfg.system_prompt = "You are careful.";
  cfg.allowed_tools = {"Read", "Bash(git *)"};
  cfg.mcp_servers = {{"alpha", json{{"command", "a"}}},
                     {"beta", json{{"type", "http"}, {"url", "http://x"}}}};
  cfg.effort = effort::high;
  cfg.fallback_model = "claude-sonnet-4-5";
  cfg.budget_microdollars = 5'000'000;
  cfg.slot_mode = slot_mode::ephemeral;
  cfg.max_restarts = 5;
  cfg.worktree_isolation = true;
  cfg.slot_assignment_timeout_secs = 45;
  cfg.scaling.min_slots = 2;
  cfg.scaling.max_slots = 6;
  cfg.unattended_mode = true;
  cfg.detect_permission_prompts = false;
  cfg.supervisor_enabled = true;
  cfg.supervisor_interval_secs = 11;
  cfg.strict_mcp_config = false;
  cfg.worktree_base_dir = "/tmp/wt";
  cfg.claude_bin = "/opt/claude";
  cfg.working_dir = "/srv/work";
  cfg.task_timeout_secs = 600;
  cfg.cli_max_retries = 0;
  cfg.cli_env = {{"ANTHROPIC_BASE_URL", "http://127.0.0.1:1"}, {"X", "y"}};
  cfg.initial_slots = 3;
  cfg.max_output_bytes = 4096;
  cfg.bare = true;

  auto b = round_trip(cfg);
  CHECK(b.model == cfg.model);
  CHECK(b.permission_mode == permission_mode::dont_ask);
  CHECK(b.max_turns == std::optional<std::uint32_t>(12));
  CHECK(b.system_prompt == cfg.system_prompt);
  CHECK(b.allowed_tools == cfg.allowed_tools);
  CHECK(b.mcp_servers == cfg.mcp_servers);
  CHECK(b.effort == effort::high);
  CHECK(b.fallback_model == cfg.fallback_model);
  CHECK(b.budget_microdollars == std::optional<std::uint64_t>(5'000'000));
  CHECK(b.slot_mode == slot_mode::ephemeral);
  CHECK(b.max_restarts == 5);
  CHECK(b.worktree_isolation);
  CHECK(b.slot_assignment_timeout_secs == 45);
  CHECK(b.scaling.min_slots == 2);
  CHECK(b.scaling.max_slots == 6);
  CHECK(b.unattended_mode);
  CHECK_FALSE(b.detect_permission_prompts);
  CHECK(b.supervisor_enabled);
  CHECK(b.supervisor_interval_secs == 11);
  CHECK_FALSE(b.strict_mcp_config);
  CHECK(b.worktree_base_dir == cfg.worktree_base_dir);
  CHECK(b.claude_bin == cfg.claude_bin);
  CHECK(b.working_dir == cfg.working_dir);
  CHECK(b.task_timeout_secs == std::optional<std::uint64_t>(600));
  CHECK(b.cli_max_retries == 0);
  CHECK(b.cli_env == cfg.cli_env);
  CHECK(b.initial_slots == std::optional<std::uint64_t>(3));
  CHECK(b.max_output_bytes == 4096);
  CHECK(b.bare);
  CHECK(dump_after_two_round_trips(cfg) == json(cfg).dump());

  // The strict reader accepts what the writer wrote.
  auto strict = parse_pool_config(json(cfg));
  CHECK(json(strict).dump() == json(cfg).dump());
}

TEST_CASE("pool_config reading keeps plan when permission_mode is absent and clears it on null",
          "[json]") {
  CHECK(parse_pool_config(json::object()).permission_mode == permission_mode::plan);
  CHECK_FALSE(parse_pool_config(json{{"permission_mode", nullptr}}).permission_mode);
  CHECK(parse_pool_config(json{{"permission_mode", "acceptEdits"}}).permission_mode
        == permission_mode::accept_edits);
}

TEST_CASE("slot_config round-trips every field and writes unset ones as null", "[json]") {
  slot_config s;
  json empty = s;
  CHECK(empty.size() == 12);
  for (auto it = empty.begin(); it != empty.end(); ++it)
    CHECK(it.value().is_null());

  s.model = "m";
  s.permission_mode = permission_mode::bypass_permissions;
  s.max_turns = 2;
  s.system_prompt = "sp";
  s.allowed_tools = std::vector<std::string>{"Read"};
  s.mcp_servers = mcp_server_map{{"srv", json{{"command", "c"}}}};
  s.effort = effort::low;
  s.fallback_model = "fb";
  s.role = "reviewer";
  s.name = "rev-1";
  s.description = "Reviews diffs.";
  s.slot_assignment_timeout_secs = 17;
  auto b = round_trip(s);
  CHECK(b.model == std::optional<std::string>("m"));
  CHECK(b.permission_mode == permission_mode::bypass_permissions);
  CHECK(b.max_turns == std::optional<std::uint32_t>(2));
  CHECK(b.system_prompt == std::optional<std::string>("sp"));
  CHECK(b.allowed_tools == std::optional<std::vector<std::string>>({"Read"}));
  CHECK(b.mcp_servers == s.mcp_servers);
  CHECK(b.effort == effort::low);
  CHECK(b.fallback_model == std::optional<std::string>("fb"));
  CHECK(b.role == std::optional<std::string>("reviewer"));
  CHECK(b.name == std::optional<std::string>("rev-1"));
  CHECK(b.description == std::optional<std::string>("Reviews diffs."));
  CHECK(b.slot_assignment_timeout_secs == std::optional<std::uint64_t>(17));
  CHECK(dump_after_two_round_trips(s) == json(s).dump());
}

TEST_CASE("task_overrides round-trips every field including json_schema and max_budget_usd",
          "[json]") {
  auto o = full_overrides();
  json j = o;
  CHECK(j.at("permission_mode") == "accept_edits");
  CHECK(j.at("max_budget_usd") == 0.25);
  CHECK(j.at("json_schema").at("type") == "object");
  check_full_overrides(round_trip(o));
  CHECK(dump_after_two_round_trips(o) == j.dump());

  task_overrides none;
  json jn = none;
  CHECK(jn.size() == 12);
  CHECK(jn.at("json_schema").is_null());
  CHECK(jn.at("max_budget_usd").is_null());
  auto back = round_trip(none);
  CHECK_FALSE(back.json_schema);
  CHECK_FALSE(back.max_budget_usd);
  CHECK_FALSE(back.model);
}

// ---- records --------------------------------------------------------------------------------

TEST_CASE("slot_record round-trips every field", "[json]") {
  slot_record s;
  s.id = slot_id{"slot-3"};
  s.state = slot_state::busy;
  s.config.edit().name = "writer";
  s.config.edit().max_turns = 4;
  s.current_task = task_id{"task-9"};
  s.session_id = "sess-x";
  s.tasks_completed = 41;
  s.cost_microdollars = 123456789;
  s.restart_count = 2;
  s.worktree_path = "/tmp/wt/slot-3";
  json j = s;
  CHECK(j.at("state") == "busy");
  CHECK(j.at("current_task") == "task-9");
  auto b = round_trip(s);
  CHECK(b.id == slot_id{"slot-3"});
  CHECK(b.state == slot_state::busy);
  CHECK(b.config->name == std::optional<std::string>("writer"));
  CHECK(b.config->max_turns == std::optional<std::uint32_t>(4));
  CHECK(b.current_task == std::optional<task_id>(task_id{"task-9"}));
  CHECK(b.session_id == std::optional<std::string>("sess-x"));
  CHECK(b.tasks_completed == 41);
  CHECK(b.cost_microdollars == 123456789);
  CHECK(b.restart_count == 2);
  CHECK(b.worktree_path == std::optional<std::string>("/tmp/wt/slot-3"));

  slot_record idle;
  idle.id = slot_id{"slot-0"};
  json ji = idle;
  CHECK(ji.at("current_task").is_null());
  CHECK(ji.at("session_id").is_null());
  CHECK(ji.at("worktree_path").is_null());
  auto bi = round_trip(idle);
  CHECK_FALSE(bi.current_task);
  CHECK(bi.state == slot_state::idle);
}

TEST_CASE("task_result with every field set round-trips", "[json]") {
  auto r = full_result();
  json j = r;
  CHECK(j.at("stderr") == "boom");
  CHECK_FALSE(j.contains("stderr_text"));
  CHECK(j.at("budget_exceeded") == true);
  auto b = round_trip(r);
  CHECK(b.output == "done");
  CHECK_FALSE(b.success);
  CHECK(b.cost_microdollars == 1234);
  CHECK(b.turns_used == 4);
  CHECK(b.elapsed_ms == 987);
  CHECK(b.model == std::optional<std::string>("claude-opus-4-8"));
  CHECK(b.session_id == std::optional<std::string>("sess-1"));
  CHECK(b.failed_command == std::optional<std::string>("claude -p --output-format=json"));
  CHECK(b.exit_code == std::optional<std::int32_t>(1));
  CHECK(b.stderr_text == std::optional<std::string>("boom"));
  CHECK(b.budget_exceeded);
  REQUIRE(b.structured_output);
  CHECK(*b.structured_output == json{{"name", "pool"}, {"size", 3}});
  CHECK(b.subtype == std::optional<std::string>("error_max_budget_usd"));
  CHECK(b.api_error_status == std::optional<std::int32_t>(529));
  CHECK(dump_after_two_round_trips(r) == j.dump());
}

TEST_CASE("task_result omits unset optional fields and a false budget_exceeded but writes "
          "session_id as null",
          "[json]") {
  task_result r;
  r.output = "hello";
  r.success = true;
  r.cost_microdollars = 5;
  r.turns_used = 1;
  json j = r;
  CHECK(keys_of(j) == std::set<std::string>{"output", "success", "cost_microdollars",
                                            "turns_used", "elapsed_ms", "session_id"});
  CHECK(j.at("session_id").is_null());
  auto b = round_trip(r);
  CHECK(b.output == "hello");
  CHECK(b.success);
  CHECK(b.cost_microdollars == 5);
  CHECK(b.turns_used == 1);
  CHECK_FALSE(b.model);
  CHECK_FALSE(b.session_id);
  CHECK_FALSE(b.failed_command);
  CHECK_FALSE(b.exit_code);
  CHECK_FALSE(b.stderr_text);
  CHECK_FALSE(b.budget_exceeded);
  CHECK_FALSE(b.structured_output);
  CHECK_FALSE(b.subtype);
  CHECK_FALSE(b.api_error_status);
}

TEST_CASE("task_record round-trips with a result, a config and timestamps", "[json]") {
  task_record t;
  t.id = task_id{"task-1"};
  t.prompt = "Do it.\nWith \"quotes\" and ünïcode.";
  t.state = task_state::pending_review;
  t.slot_id = slot_id{"slot-2"};
  t.result = full_result();
  t.tags = {"a", "b"};
  t.config = full_overrides();
  t.review_required = true;
  t.max_rejections = 5;
  t.rejection_count = 1;
  t.original_prompt = "Do it.";
  t.created_at_ms = 1'700'000'000'000ull;
  t.started_at_ms = 1'700'000'000'100ull;
  t.completed_at_ms = 1'700'000'000'900ull;
  json j = t;
  CHECK(j.at("state") == "pending_review");
  auto b = round_trip(t);
  CHECK(b.id == task_id{"task-1"});
  CHECK(b.prompt == t.prompt);
  CHECK(b.state == task_state::pending_review);
  CHECK(b.slot_id == std::optional<slot_id>(slot_id{"slot-2"}));
  REQUIRE(b.result);
  CHECK(b.result->output == "done");
  CHECK(b.result->api_error_status == std::optional<std::int32_t>(529));
  CHECK(b.tags == std::vector<std::string>{"a", "b"});
  REQUIRE(b.config);
  check_full_overrides(*b.config);
  CHECK(b.review_required);
  CHECK(b.max_rejections == 5);
  CHECK(b.rejection_count == 1);
  CHECK(b.original_prompt == std::optional<std::string>("Do it."));
  CHECK(b.created_at_ms == std::optional<std::uint64_t>(1'700'000'000'000ull));
  CHECK(b.started_at_ms == std::optional<std::uint64_t>(1'700'000'000'100ull));
  CHECK(b.completed_at_ms == std::optional<std::uint64_t>(1'700'000'000'900ull));
  CHECK(dump_after_two_round_trips(t) == j.dump());
}

TEST_CASE("task_record writes unset slot_id, result and config as null", "[json]") {
  auto t = task_record::new_pending(task_id{"task-2"}, "p");
  json j = t;
  CHECK(keys_of(j)
        == std::set<std::string>{"id", "prompt", "state", "slot_id", "result", "tags", "config",
                                 "review_required", "max_rejections", "rejection_count",
                                 "original_prompt", "created_at_ms", "started_at_ms",
                                 "completed_at_ms"});
  CHECK(j.at("slot_id").is_null());
  CHECK(j.at("result").is_null());
  CHECK(j.at("config").is_null());
  CHECK(j.at("started_at_ms").is_null());
  auto b = round_trip(t);
  CHECK_FALSE(b.slot_id);
  CHECK_FALSE(b.result);
  CHECK_FALSE(b.config);
  CHECK(b.created_at_ms == t.created_at_ms);
}

TEST_CASE("task_record::new_pending is pending with three allowed rejections and a creation "
          "time",
          "[records]") {
  auto before = now_ms();
  auto t = task_record::new_pending(task_id{"task-n"}, "prompt text");
  auto after = now_ms();
  CHECK(t.id == task_id{"task-n"});
  CHECK(t.prompt == "prompt text");
  CHECK(t.state == task_state::pending);
  CHECK(t.max_rejections == 3);
  CHECK(t.rejection_count == 0);
  CHECK_FALSE(t.review_required);
  REQUIRE(t.created_at_ms);
  CHECK(*t.created_at_ms >= before);
  CHECK(*t.created_at_ms <= after);
  CHECK_FALSE(t.started_at_ms);
  CHECK_FALSE(t.completed_at_ms);
  json j = t;
  CHECK(j.at("max_rejections") == 3);
  CHECK(j.at("state") == "pending");
}

TEST_CASE("task_filter round-trips state, slot and tags", "[json]") {
  task_filter f;
  f.state = task_state::failed;
  f.slot_id = slot_id{"slot-1"};
  f.tags = std::vector<std::string>{"x", "y"};
  auto b = round_trip(f);
  CHECK(b.state == task_state::failed);
  CHECK(b.slot_id == std::optional<slot_id>(slot_id{"slot-1"}));
  CHECK(b.tags == std::optional<std::vector<std::string>>({"x", "y"}));
  CHECK(dump_after_two_round_trips(f) == json(f).dump());

  json empty = task_filter{};
  CHECK(empty == json{{"state", nullptr}, {"slot_id", nullptr}, {"tags", nullptr}});
  auto be = round_trip(task_filter{});
  CHECK_FALSE(be.state);
  CHECK_FALSE(be.slot_id);
  CHECK_FALSE(be.tags);
}

// ---- metrics --------------------------------------------------------------------------------

TEST_CASE("model_metrics round-trips every field", "[json]") {
  model_metrics m{"claude-opus-4-8", 3, 900, 300, 1200, 7};
  auto b = round_trip(m);
  CHECK(b.model == "claude-opus-4-8");
  CHECK(b.task_count == 3);
  CHECK(b.total_cost_microdollars == 900);
  CHECK(b.avg_cost_microdollars == 300);
  CHECK(b.avg_elapsed_ms == 1200);
  CHECK(b.total_turns == 7);
}

TEST_CASE("session_metrics round-trips every field", "[json]") {
  session_metrics s;
  s.total_tasks = 10;
  s.completed_tasks = 6;
  s.failed_tasks = 2;
  s.cancelled_tasks = 1;
  s.running_tasks = 1;
  s.pending_tasks = 0;
  s.total_spend_microdollars = 5000;
  s.avg_cost_microdollars = 833;
  s.max_cost_microdollars = 2000;
  s.avg_elapsed_ms = 1100;
  s.median_elapsed_ms = 1000;
  s.max_elapsed_ms = 3000;
  s.min_elapsed_ms = 400;
  s.avg_turns = 1.5;
  s.tasks_by_model = {{"claude-opus-4-8", 4}, {"claude-haiku-4-5", 2}};
  s.model_breakdown = {model_metrics{"claude-opus-4-8", 4, 4000, 1000, 1200, 6},
                       model_metrics{"claude-haiku-4-5", 2, 1000, 500, 900, 3}};
  s.session_start_ms = 1'700'000'000'000ull;
  s.session_duration_ms = 60000;
  auto b = round_trip(s);
  CHECK(b.total_tasks == 10);
  CHECK(b.completed_tasks == 6);
  CHECK(b.failed_tasks == 2);
  CHECK(b.cancelled_tasks == 1);
  CHECK(b.running_tasks == 1);
  CHECK(b.pending_tasks == 0);
  CHECK(b.total_spend_microdollars == 5000);
  CHECK(b.avg_cost_microdollars == 833);
  CHECK(b.max_cost_microdollars == 2000);
  CHECK(b.avg_elapsed_ms == 1100);
  CHECK(b.median_elapsed_ms == 1000);
  CHECK(b.max_elapsed_ms == 3000);
  CHECK(b.min_elapsed_ms == 400);
  CHECK(b.avg_turns == 1.5);
  CHECK(b.tasks_by_model == s.tasks_by_model);
  REQUIRE(b.model_breakdown.size() == 2);
  CHECK(b.model_breakdown[1].model == "claude-haiku-4-5");
  CHECK(b.model_breakdown[1].total_turns == 3);
  CHECK(b.session_start_ms == 1'700'000'000'000ull);
  CHECK(b.session_duration_ms == 60000);
  CHECK(dump_after_two_round_trips(s) == json(s).dump());
}

TEST_CASE("metrics_filter round-trips every field and writes unset ones as null", "[json]") {
  metrics_filter f;
  f.since_ms = 10;
  f.until_ms = 20;
  f.tags = std::vector<std::string>{"t"};
  f.model = "claude-opus-4-8";
  auto b = round_trip(f);
  CHECK(b.since_ms == std::optional<std::uint64_t>(10));
  CHECK(b.until_ms == std::optional<std::uint64_t>(20));
  CHECK(b.tags == std::optional<std::vector<std::string>>({"t"}));
  CHECK(b.model == std::optional<std::string>("claude-opus-4-8"));
  json empty = metrics_filter{};
  CHECK(empty
        == json{{"since_ms", nullptr}, {"until_ms", nullptr}, {"tags", nullptr}, {"model", nullptr}});
  auto be = round_trip(metrics_filter{});
  CHECK_FALSE(be.since_ms);
  CHECK_FALSE(be.model);
}

// ---- requests -------------------------------------------------------------------------------

TEST_CASE("task_submission round-trips with and without overrides", "[json]") {
  task_submission s;
  s.prompt = "Summarise.";
  s.tags = {"batch-1"};
  s.config = full_overrides();
  auto b = round_trip(s);
  CHECK(b.prompt == "Summarise.");
  CHECK(b.tags == std::vector<std::string>{"batch-1"});
  REQUIRE(b.config);
  check_full_overrides(*b.config);
  CHECK(dump_after_two_round_trips(s) == json(s).dump());

  task_submission plain;
  plain.prompt = "x";
  json j = plain;
  CHECK(j.at("config").is_null());
  CHECK_FALSE(round_trip(plain).config);
  // tags may be left out by a client
  auto minimal = json{{"prompt", "y"}}.get<task_submission>();
  CHECK(minimal.prompt == "y");
  CHECK(minimal.tags.empty());
}

TEST_CASE("pool_status round-trips its slots and counters", "[json]") {
  pool_status p;
  slot_record s;
  s.id = slot_id{"slot-0"};
  s.state = slot_state::errored;
  s.restart_count = 3;
  p.slots = {s};
  p.pending = 4;
  p.running = 2;
  p.completed = 10;
  p.failed = 1;
  p.cancelled = 5;
  p.pending_review = 6;
  p.draining = true;
  auto b = round_trip(p);
  REQUIRE(b.slots.size() == 1);
  CHECK(b.slots[0].id == slot_id{"slot-0"});
  CHECK(b.slots[0].state == slot_state::errored);
  CHECK(b.slots[0].restart_count == 3);
  CHECK(b.pending == 4);
  CHECK(b.running == 2);
  CHECK(b.completed == 10);
  CHECK(b.failed == 1);
  CHECK(b.cancelled == 5);
  CHECK(b.pending_review == 6);
  CHECK(b.draining);
  CHECK(dump_after_two_round_trips(p) == json(p).dump());
}

TEST_CASE("drain_summary round-trips every field", "[json]") {
  drain_summary d;
  d.completed = 7;
  d.failed = 2;
  d.cancelled_at_deadline = 3;
  d.deadline_reached = true;
  d.elapsed_ms = 4567;
  auto b = round_trip(d);
  CHECK(b.completed == 7);
  CHECK(b.failed == 2);
  CHECK(b.cancelled_at_deadline == 3);
  CHECK(b.deadline_reached);
  CHECK(b.elapsed_ms == 4567);
}

TEST_CASE("task_assignment round-trips with and without overrides", "[json]") {
  task_assignment a;
  a.id = task_id{"task-77"};
  a.prompt = "Go.";
  a.overrides = full_overrides();
  auto b = round_trip(a);
  CHECK(b.id == task_id{"task-77"});
  CHECK(b.prompt == "Go.");
  REQUIRE(b.overrides);
  check_full_overrides(*b.overrides);
  CHECK(dump_after_two_round_trips(a) == json(a).dump());

  task_assignment plain;
  plain.id = task_id{"task-78"};
  plain.prompt = "Stop.";
  json j = plain;
  CHECK(j.at("overrides").is_null());
  CHECK_FALSE(round_trip(plain).overrides);
}

// ---- documents in the reference's exact shape -----------------------------------------------

TEST_CASE("a TaskRecord written by hand in serde's shape parses", "[json]") {
  auto doc = json::parse(R"({
    "id": "task-serde",
    "prompt": "Review the diff.",
    "state": "completed",
    "slot_id": "slot-1",
    "result": {
      "output": "LGTM",
      "success": true,
      "cost_microdollars": 265,
      "turns_used": 1,
      "elapsed_ms": 1043,
      "model": "claude-opus-4-8",
      "session_id": null
    },
    "tags": ["review"],
    "config": {
      "model": null,
      "permission_mode": "dont_ask",
      "max_turns": 3,
      "system_prompt": null,
      "allowed_tools": ["Read"],
      "disallowed_tools": null,
      "tools": null,
      "mcp_servers": null,
      "effort": "medium",
      "fallback_model": null,
      "json_schema": null,
      "max_budget_usd": 0.5
    },
    "review_required": false,
    "max_rejections": 3,
    "rejection_count": 0,
    "original_prompt": null,
    "created_at_ms": 1700000000000,
    "started_at_ms": 1700000000010,
    "completed_at_ms": 1700000001053
  })");
  auto t = doc.get<task_record>();
  CHECK(t.id == task_id{"task-serde"});
  CHECK(t.state == task_state::completed);
  CHECK(t.slot_id == std::optional<slot_id>(slot_id{"slot-1"}));
  REQUIRE(t.result);
  CHECK(t.result->output == "LGTM");
  CHECK(t.result->cost_microdollars == 265);
  CHECK(t.result->elapsed_ms == 1043);
  CHECK(t.result->model == std::optional<std::string>("claude-opus-4-8"));
  CHECK_FALSE(t.result->session_id);
  CHECK_FALSE(t.result->budget_exceeded);
  REQUIRE(t.config);
  CHECK(t.config->permission_mode == permission_mode::dont_ask);
  CHECK(t.config->max_turns == std::optional<std::uint32_t>(3));
  CHECK(t.config->effort == effort::medium);
  CHECK(t.config->max_budget_usd == std::optional<double>(0.5));
  CHECK_FALSE(t.config->json_schema);
  CHECK(t.tags == std::vector<std::string>{"review"});
  CHECK(t.completed_at_ms == std::optional<std::uint64_t>(1700000001053ull));
  // Writing it back yields the same document (serde's shape is ours).
  CHECK(json(t) == doc);
}

TEST_CASE("a TaskRecord from before review fields existed parses with serde's defaults",
          "[json]") {
  auto doc = json::parse(R"({"id": "task-old", "prompt": "p", "state": "pending",
    "slot_id": null, "result": null, "tags": [], "config": null})");
  auto t = doc.get<task_record>();
  CHECK(t.max_rejections == 3);
  CHECK(t.rejection_count == 0);
  CHECK_FALSE(t.review_required);
  CHECK_FALSE(t.created_at_ms);
}

TEST_CASE("a PoolConfig and a SlotRecord written by hand in serde's shape parse", "[json]") {
  auto pool_doc = json::parse(R"({
    "model": "claude-haiku-4-5-20251001", "permission_mode": "plan", "max_turns": null,
    "system_prompt": null, "allowed_tools": [], "mcp_servers": {"fs": {"command": "mcp-fs"}},
    "effort": null, "fallback_model": null, "budget_microdollars": 1000000,
    "slot_mode": "ephemeral", "max_restarts": 3, "worktree_isolation": false,
    "slot_assignment_timeout_secs": 300, "scaling": {"min_slots": 1, "max_slots": 16},
    "unattended_mode": false, "detect_permission_prompts": true, "supervisor_enabled": false,
    "supervisor_interval_secs": 30, "strict_mcp_config": true, "worktree_base_dir": null
  })");
  auto cfg = parse_pool_config(pool_doc);
  CHECK(cfg.model == std::optional<std::string>("claude-haiku-4-5-20251001"));
  CHECK(cfg.budget_microdollars == std::optional<std::uint64_t>(1000000));
  CHECK(cfg.slot_mode == slot_mode::ephemeral);
  CHECK(cfg.mcp_servers.at("fs") == json{{"command", "mcp-fs"}});

  auto slot_doc = json::parse(R"({
    "id": "slot-0", "state": "idle",
    "config": {"model": null, "permission_mode": null, "max_turns": null, "system_prompt": null,
               "allowed_tools": null, "mcp_servers": null, "effort": null,
               "fallback_model": null, "role": "coder", "name": "c1", "description": null,
               "slot_assignment_timeout_secs": null},
    "current_task": null, "session_id": "s-1", "tasks_completed": 2,
    "cost_microdollars": 530, "restart_count": 0, "worktree_path": null
  })");
  auto s = slot_doc.get<slot_record>();
  CHECK(s.id == slot_id{"slot-0"});
  CHECK(s.config->role == std::optional<std::string>("coder"));
  CHECK(s.tasks_completed == 2);
  CHECK(json(s) == slot_doc);
}

// ---- errors name the field ------------------------------------------------------------------

TEST_CASE("an unknown enum value is rejected naming the field path and the bad value",
          "[json][errors]") {
  auto msg = error_of([] {
    json{{"id", "t"}, {"prompt", "p"}, {"state", "done"}, {"tags", json::array()}}
      .get<task_record>();
  });
  CHECK_THAT(msg, Contains("task_record.state"));
  CHECK_THAT(msg, Contains("\"done\""));

  auto nested = error_of([] {
    json{{"id", "t"},
         {"prompt", "p"},
         {"state", "pending"},
         {"tags", json::array()},
         {"config", {{"effort", "extreme"}}}}
      .get<task_record>();
  });
  CHECK_THAT(nested, Contains("task_record.config.effort"));
  CHECK_THAT(nested, Contains("\"extreme\""));
}

TEST_CASE("a value of the wrong type is rejected naming the field path", "[json][errors]") {
  auto msg = error_of([] {
    json{{"output", "o"}, {"success", true}, {"cost_microdollars", 1}, {"turns_used", "3"}}
      .get<task_result>();
  });
  CHECK_THAT(msg, Contains("task_result.turns_used"));
  CHECK_THAT(msg, Contains("\"3\""));

  auto nested = error_of([] {
    json{{"id", "t"},
         {"prompt", "p"},
         {"state", "completed"},
         {"tags", json::array()},
         {"result",
          {{"output", "o"}, {"success", true}, {"cost_microdollars", 1}, {"turns_used", "3"}}}}
      .get<task_record>();
  });
  CHECK_THAT(nested, Contains("task_record.result.turns_used"));

  auto in_array = error_of([] {
    json{{"id", "t"}, {"prompt", "p"}, {"state", "pending"}, {"tags", {"ok", 5}}}
      .get<task_record>();
  });
  CHECK_THAT(in_array, Contains("task_record.tags[1]"));
}

TEST_CASE("a missing required field is rejected naming it", "[json][errors]") {
  auto msg = error_of([] {
    json{{"success", true}, {"cost_microdollars", 1}, {"turns_used", 1}}.get<task_result>();
  });
  CHECK_THAT(msg, Contains("task_result.output"));
  CHECK_THAT(msg, Contains("missing"));
}

TEST_CASE("a negative number for an unsigned field is rejected naming the field",
          "[json][errors]") {
  auto msg = error_of([] {
    json{{"output", "o"}, {"success", true}, {"cost_microdollars", -5}, {"turns_used", 1}}
      .get<task_result>();
  });
  CHECK_THAT(msg, Contains("task_result.cost_microdollars"));
  CHECK_THAT(msg, Contains("-5"));
}

TEST_CASE("a max_turns larger than a u32 is rejected naming the field", "[json][errors]") {
  auto msg = error_of([] { json{{"max_turns", 4294967296ull}}.get<task_overrides>(); });
  CHECK_THAT(msg, Contains("task_overrides.max_turns"));
  CHECK_THAT(msg, Contains("4294967296"));
  // The largest u32 itself is fine.
  CHECK(json{{"max_turns", 4294967295ull}}.get<task_overrides>().max_turns
        == std::optional<std::uint32_t>(4294967295u));
}

TEST_CASE("parse_pool_config rejects an unknown field, naming it", "[json][errors]") {
  auto msg = error_of([] { parse_pool_config(json{{"scalling", {{"min_slots", 2}}}}); });
  CHECK_THAT(msg, Contains("scalling"));
  CHECK_THAT(msg, Contains("unknown field"));

  auto nested = error_of([] { parse_pool_config(json{{"scaling", {{"min", 2}}}}); });
  CHECK_THAT(nested, Contains("pool_config.scaling.min"));

  // The lenient reader ignores unknown fields (forward compatibility of stored records).
  CHECK(json{{"scalling", 1}}.get<pool_config>().scaling.max_slots == 16);
}

TEST_CASE("parse_pool_config rejects impossible scaling bounds naming the field",
          "[json][errors]") {
  // No local slots is allowed: a cluster coordinator routes to its slot hosts' slots.
  CHECK(parse_pool_config(json{{"scaling", {{"min_slots", 0}}}}).scaling.min_slots == 0);
  CHECK_THAT(error_of([] {
               parse_pool_config(json{{"scaling", {{"min_slots", 4}, {"max_slots", 3}}}});
             }),
             Contains("scaling.max_slots"));
  CHECK_THAT(error_of([] {
               parse_pool_config(
                 json{{"scaling", {{"min_slots", 2}, {"max_slots", 4}}}, {"initial_slots", 5}});
             }),
             Contains("initial_slots"));
  CHECK_THAT(error_of([] {
               parse_pool_config(
                 json{{"scaling", {{"min_slots", 2}, {"max_slots", 4}}}, {"initial_slots", 1}});
             }),
             Contains("initial_slots"));
  // In bounds is accepted.
  auto ok = parse_pool_config(
    json{{"scaling", {{"min_slots", 2}, {"max_slots", 4}}}, {"initial_slots", 4}});
  CHECK(ok.initial_slots == std::optional<std::uint64_t>(4));
  CHECK(ok.scaling.min_slots == 2);
}

// ---- record behaviour -----------------------------------------------------------------------

TEST_CASE("transition_to stamps started_at_ms on running and completed_at_ms on every "
          "finishing state",
          "[records]") {
  auto t = task_record::new_pending(task_id{"t"}, "p");
  auto before = now_ms();
  t.transition_to(task_state::running);
  auto after = now_ms();
  CHECK(t.state == task_state::running);
  REQUIRE(t.started_at_ms);
  CHECK(*t.started_at_ms >= before);
  CHECK(*t.started_at_ms <= after);
  CHECK_FALSE(t.completed_at_ms);

  for (auto end : {task_state::completed, task_state::failed, task_state::cancelled,
                   task_state::pending_review}) {
    auto u = task_record::new_pending(task_id{"u"}, "p");
    u.started_at_ms = 1;
    auto b = now_ms();
    u.transition_to(end);
    CHECK(u.state == end);
    REQUIRE(u.completed_at_ms);
    CHECK(*u.completed_at_ms >= b);
    CHECK(u.started_at_ms == std::optional<std::uint64_t>(1));
  }

  auto p = task_record::new_pending(task_id{"v"}, "p");
  p.transition_to(task_state::pending);
  CHECK(p.state == task_state::pending);
  CHECK_FALSE(p.started_at_ms);
  CHECK_FALSE(p.completed_at_ms);
}

TEST_CASE("task_filter matches by state, by slot and by any of its tags", "[records]") {
  auto t = task_record::new_pending(task_id{"t"}, "p");
  t.state = task_state::running;
  t.slot_id = slot_id{"slot-1"};
  t.tags = {"alpha", "beta"};
  auto unassigned = task_record::new_pending(task_id{"u"}, "p");

  CHECK(task_filter{}.matches(t));
  CHECK(task_filter{}.matches(unassigned));

  task_filter by_state;
  by_state.state = task_state::running;
  CHECK(by_state.matches(t));
  CHECK_FALSE(by_state.matches(unassigned));

  task_filter by_slot;
  by_slot.slot_id = slot_id{"slot-1"};
  CHECK(by_slot.matches(t));
  CHECK_FALSE(by_slot.matches(unassigned));
  by_slot.slot_id = slot_id{"slot-2"};
  CHECK_FALSE(by_slot.matches(t));

  task_filter by_tags;
  by_tags.tags = std::vector<std::string>{"gamma", "beta"};
  CHECK(by_tags.matches(t));
  CHECK_FALSE(by_tags.matches(unassigned));
  by_tags.tags = std::vector<std::string>{"gamma"};
  CHECK_FALSE(by_tags.matches(t));

  task_filter all;
  all.state = task_state::running;
  all.slot_id = slot_id{"slot-1"};
  all.tags = std::vector<std::string>{"alpha"};
  CHECK(all.matches(t));
  all.state = task_state::completed;
  CHECK_FALSE(all.matches(t));
}

// ---- ids ------------------------------------------------------------------------------------

TEST_CASE("make_task_id gives 80,000 distinct ids to 8 threads calling it at once", "[ids]") {
  constexpr int threads = 8;
  constexpr int per_thread = 10'000;
  std::vector<std::vector<task_id>> made(threads);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i)
    workers.emplace_back([&made, i] {
      made[i].reserve(per_thread);
      for (int k = 0; k < per_thread; ++k)
        made[i].push_back(make_task_id());
    });
  for (auto& w : workers)
    w.join();
  std::set<std::string> all;
  for (auto& v : made)
    for (auto& id : v) {
      all.insert(id.value);
    }
  CHECK(all.size() == static_cast<std::size_t>(threads * per_thread));
  CHECK(all.begin()->rfind("task-", 0) == 0);
}
