// The pure parts of chains: definition checks, templates, output variables, the file format.
#include <catch2/catch.hpp>

#include "actors/chain_steps.hpp"
#include "messages/json.hpp"
#include "../support/chain_helpers.hpp"

using namespace claude_pool;
using nlohmann::json;
using claude_pool::testing::make_step;

namespace {

chain_step_result done(std::string name, std::string output,
                       std::map<std::string, json> vars = {}) {
  chain_step_result r;
  r.name = std::move(name);
  r.state = step_state::completed;
  r.output = std::move(output);
  r.vars = std::move(vars);
  return r;
}

} // namespace

TEST_CASE("check_chain accepts references to earlier steps' declared variables", "[chain]") {
  chain_definition def;
  def.steps = {make_step("plan", "plan it", {{"file", "target.file"}}),
               make_step("do", "edit {steps.plan.file} after {previous_output}; all: {steps.plan.output}")};
  CHECK(check_chain(def).empty());
}

TEST_CASE("check_chain names what is wrong", "[chain]") {
  chain_definition def;
  CHECK(check_chain(def) == "chain.steps: a chain needs at least one step");

  def.steps = {make_step("a", "x"), make_step("a", "y")};
  CHECK(check_chain(def) == "chain.steps[1].name: \"a\" is used by an earlier step");

  def.steps = {make_step("a b", "x")};
  CHECK(check_chain(def).find("chain.steps[0].name") == 0);

  def.steps = {make_step("a", "")};
  CHECK(check_chain(def) == "chain.steps[0].prompt: must not be empty");

  def.steps = {make_step("a", "use {steps.b.x}"), make_step("b", "x", {{"x", "x"}})};
  CHECK(check_chain(def) == "chain.steps[0].prompt: {steps.b.x} names no earlier step");

  def.steps = {make_step("a", "x"), make_step("b", "use {steps.a.missing}")};
  CHECK(check_chain(def)
        == "chain.steps[1].prompt: {steps.a.missing}: step \"a\" declares no output variable "
           "\"missing\"");

  def.steps = {make_step("a", "x", {{"v", ""}})};
  CHECK(check_chain(def) == "chain.steps[0].output_vars.v: the path must not be empty");

  def.steps = {make_step("a", "x")};
  def.steps[0].failure_policy.recovery_prompt = "fix {steps.zzz.output}";
  CHECK(check_chain(def).find("chain.steps[0].failure_policy.recovery_prompt") == 0);

  def.steps = {make_step("a", "x")};
  task_overrides bad;
  bad.max_budget_usd = -1;
  def.steps[0].config = bad;
  CHECK(check_chain(def).find("chain.steps[0].config.") == 0);
}

TEST_CASE("templates substitute outputs and variables and leave other braces", "[chain]") {
  std::vector<chain_step_result> steps = {
    done("plan", "the plan", {{"file", "main.cpp"}, {"n", 3}, {"obj", json{{"k", "v"}}}})};
  template_context ctx{"the plan", &steps, std::nullopt};
  CHECK(render_template("{previous_output}!", ctx) == "the plan!");
  CHECK(render_template("edit {steps.plan.file} {steps.plan.n} times: {steps.plan.obj}", ctx)
        == R"(edit main.cpp 3 times: {"k":"v"})");
  CHECK(render_template("whole: {steps.plan.output}", ctx) == "whole: the plan");
  CHECK(render_template(R"(json like {"a": 1} and {x} and { stays)", ctx)
        == R"(json like {"a": 1} and {x} and { stays)");
  CHECK(render_template("{error} is only for recovery", ctx) == "{error} is only for recovery");
  ctx.error = "boom";
  CHECK(render_template("fix {error}", ctx) == "fix boom");
}

TEST_CASE("output variables come from structured output or JSON in the text", "[chain]") {
  auto s = make_step("plan", "x", {{"file", "target.file"}, {"second", "items[1]"},
                              {"ptr", "/items/0"}, {"dotted", "items.1"}});
  task_result r;
  r.success = true;
  std::map<std::string, json> vars;

  r.output = R"({"target": {"file": "a.cpp"}, "items": [10, 20]})";
  REQUIRE(take_output_vars(s, r, vars).empty());
  CHECK(vars["file"] == "a.cpp");
  CHECK(vars["second"] == 20);
  CHECK(vars["ptr"] == 10);
  CHECK(vars["dotted"] == 20);

  r.output = "Here you go:\n```json\n{\"target\": {\"file\": \"b.cpp\"}, \"items\": [1, 2]}\n```\nbye";
  vars.clear();
  REQUIRE(take_output_vars(s, r, vars).empty());
  CHECK(vars["file"] == "b.cpp");

  r.output = "prose {\"target\": {\"file\": \"c.cpp\"}, \"items\": [1, 2]} trailing";
  vars.clear();
  REQUIRE(take_output_vars(s, r, vars).empty());
  CHECK(vars["file"] == "c.cpp");

  r.output = "ignored";
  r.structured_output = json{{"target", {{"file", "d.cpp"}}}, {"items", {5, 6}}};
  vars.clear();
  REQUIRE(take_output_vars(s, r, vars).empty());
  CHECK(vars["file"] == "d.cpp");

  r.structured_output.reset();
  r.output = "no json here";
  CHECK(take_output_vars(s, r, vars).find("its output is not JSON") != std::string::npos);

  r.output = R"({"target": {}, "items": []})";
  auto why = take_output_vars(s, r, vars);
  CHECK(why.find("nothing at path") != std::string::npos);
}

TEST_CASE("a chain file is read strictly, naming the bad field", "[chain]") {
  auto def = parse_chain_definition(json::parse(R"({
    "steps": [
      {"name": "a", "prompt": "p", "config": {"model": "haiku"},
       "failure_policy": {"retries": 2, "recovery_prompt": "fix {error}"},
       "output_vars": {"x": "a.b"}}
    ],
    "tags": ["t"], "worktree": false
  })"));
  REQUIRE(def.steps.size() == 1);
  CHECK(def.steps[0].config->model == "haiku");
  CHECK(def.steps[0].failure_policy.retries == 2);
  CHECK(def.steps[0].output_vars.at("x") == "a.b");
  CHECK(def.worktree == false);

  auto fails_with = [](const char* text) {
    try {
      parse_chain_definition(json::parse(text));
    } catch (const json_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(fails_with(R"({})").find("chain.steps") != std::string::npos);
  CHECK(fails_with(R"({"steps": [{"name": "a"}]})").find("chain.steps[0].prompt")
        != std::string::npos);
  CHECK(fails_with(R"({"steps": [{"name": "a", "prompt": "p", "retries": 1}]})")
          .find("chain.steps[0].retries") != std::string::npos);
  CHECK(fails_with(R"({"steps": [{"name": "a", "prompt": "p", "failure_policy": {"retries": "2"}}]})")
          .find("chain.steps[0].failure_policy.retries") != std::string::npos);
  CHECK(fails_with(R"({"steps": [{"name": "a", "prompt": "p", "config": {"modle": "x"}}]})")
          .find("chain.steps[0].config.modle") != std::string::npos);
}

TEST_CASE("a chain record round-trips through JSON", "[chain]") {
  chain_record rec;
  rec.id = chain_id{"chain-1"};
  rec.state = chain_state::failed;
  rec.steps = {done("a", "out", {{"v", 1}})};
  rec.steps[0].task_ids = {task_id{"task-1"}};
  rec.worktree = chain_worktree{"/p", "b", true, true, 2, "kept"};
  rec.error = "step \"b\" failed";
  json j = rec;
  CHECK(j["state"] == "failed");
  CHECK(j["steps"][0]["state"] == "completed");
  auto back = j.get<chain_record>();
  CHECK(json(back) == j);
}
