// Chains through the facade with a scripted executor: order, templates, variables, the
// failure policy, cancel, several chains at once, live progress. No processes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "claude_pool/pool.hpp"
#include "../support/chain_helpers.hpp"
#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;
using claude_pool::testing::eventually;
using claude_pool::testing::scripted_executor;
using claude_pool::testing::slots;
using claude_pool::testing::with;
using claude_pool::testing::make_step;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// Answers "plan" prompts with JSON, fails prompts containing "fail", echoes the rest.
task_result scripted_answer(const execution_request& r) {
  task_result res;
  res.cost_microdollars = 100;
  res.turns_used = 1;
  if (contains(r.prompt, "fail")) {
    res.output = "it broke";
    res.subtype = "error_during_execution";
    return res;
  }
  res.success = true;
  res.output = contains(r.prompt, "plan") ? R"({"file": "main.cpp", "steps": [3, 4]})"
                                          : "did: " + r.prompt;
  return res;
}

} // namespace

TEST_CASE("a chain runs its steps in order, passing outputs and variables", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = scripted_answer;
  claude_pool::pool p(slots(2), with(exec));
  chain_definition def;
  def.tags = {"demo"};
  def.steps = {make_step("plan", "make a plan", {{"file", "file"}, {"n", "steps[1]"}}),
               make_step("edit", "edit {steps.plan.file} {steps.plan.n} times"),
               make_step("check", "check that: {previous_output}")};
  auto rec = p.run_chain(def);
  CHECK(rec.state == chain_state::completed);
  CHECK(rec.completed_steps == 3);
  REQUIRE(rec.steps.size() == 3);
  CHECK(rec.steps[0].vars.at("file") == "main.cpp");
  CHECK(rec.steps[0].vars.at("n") == 4);
  CHECK(rec.steps[1].prompt == "edit main.cpp 4 times");
  CHECK(rec.steps[2].prompt == "check that: did: edit main.cpp 4 times");
  CHECK(rec.final_output == "did: check that: did: edit main.cpp 4 times");
  CHECK(rec.cost_microdollars == 300);
  CHECK(!rec.current_step);
  // Each step is a task of the pool, tagged with the chain and the step.
  auto tasks = p.list(task_filter{std::nullopt, std::nullopt,
                                  std::vector<std::string>{"chain:" + rec.id.value}, std::nullopt,
                                  std::nullopt});
  REQUIRE(tasks.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(tasks[i].id == rec.steps[i].task_ids.at(0));
    CHECK(std::count(tasks[i].tags.begin(), tasks[i].tags.end(), "demo") == 1);
    CHECK(std::count(tasks[i].tags.begin(), tasks[i].tags.end(), "step:" + rec.steps[i].name)
          == 1);
  }
}

TEST_CASE("a failing step is retried, then recovered by its recovery prompt", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = scripted_answer;
  claude_pool::pool p(slots(1), with(exec));
  chain_definition def;
  def.steps = {make_step("first", "hello"), make_step("shaky", "this will fail"), make_step("last", "after {previous_output}")};
  def.steps[1].failure_policy.retries = 2;
  def.steps[1].failure_policy.recovery_prompt = "recover from {error} after {steps.first.output}";
  auto rec = p.run_chain(def);
  CHECK(rec.state == chain_state::completed);
  auto& shaky = rec.steps[1];
  CHECK(shaky.state == step_state::completed);
  CHECK(shaky.recovered);
  CHECK(shaky.runs == 4); // one run, two retries, the recovery
  CHECK(shaky.task_ids.size() == 4);
  CHECK(shaky.cost_microdollars == 400); // failed runs' costs are kept
  CHECK(shaky.prompt == "recover from it broke after did: hello");
  CHECK(rec.steps[2].prompt == "after did: recover from it broke after did: hello");
  CHECK(rec.cost_microdollars == 600);
}

TEST_CASE("a step that fails for good fails the chain and skips the rest", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = scripted_answer;
  claude_pool::pool p(slots(1), with(exec));
  chain_definition def;
  def.steps = {make_step("a", "ok"), make_step("b", "fail now"), make_step("c", "never")};
  def.steps[1].failure_policy.retries = 1;
  def.steps[1].failure_policy.recovery_prompt = "fail again: {error}";
  auto rec = p.run_chain(def);
  CHECK(rec.state == chain_state::failed);
  CHECK(rec.steps[0].state == step_state::completed);
  CHECK(rec.steps[1].state == step_state::failed);
  CHECK(rec.steps[1].runs == 3);
  REQUIRE(rec.steps[1].error);
  CHECK(contains(*rec.steps[1].error, "the recovery prompt failed too: it broke"));
  CHECK(rec.steps[2].state == step_state::skipped);
  CHECK(rec.steps[2].task_ids.empty());
  REQUIRE(rec.error);
  CHECK(contains(*rec.error, "step \"b\" failed"));
  // Nothing was left running, and nothing ran for the skipped step.
  for (auto& t : p.list())
    CHECK(is_terminal(t.state));
  CHECK(exec->requests().size() == 4);
}

TEST_CASE("an output variable the output does not have fails the step", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = scripted_answer;
  claude_pool::pool p(slots(1), with(exec));
  chain_definition def;
  def.steps = {make_step("plan", "plan", {{"x", "no.such.path"}}), make_step("b", "{steps.plan.x}")};
  auto rec = p.run_chain(def);
  CHECK(rec.state == chain_state::failed);
  REQUIRE(rec.steps[0].error);
  CHECK(contains(*rec.steps[0].error, "nothing at path \"no.such.path\""));
  // The task itself completed: its output is kept for the user.
  CHECK(rec.steps[0].output);
}

TEST_CASE("cancelling a chain stops the running step's execution", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(slots(1), with(exec));
  chain_definition def;
  def.steps = {make_step("a", "one"), make_step("b", "two"), make_step("c", "three")};
  auto id = p.start_chain(def);
  REQUIRE(exec->wait_for_live(1));
  exec->finish(exec->requests().at(0).task);
  REQUIRE(exec->wait_for_started(2)); // step b runs
  auto now = p.chain_status(id);
  CHECK(now.state == chain_state::running);
  CHECK(now.current_step == "b");
  CHECK(now.completed_steps == 1);
  auto rec = p.cancel_chain(id);
  CHECK(rec.state == chain_state::cancelled);
  CHECK(exec->wait_for_cancels(1));
  CHECK(exec->live() == 0);
  CHECK(rec.steps[0].state == step_state::completed);
  CHECK(rec.steps[1].state == step_state::cancelled);
  CHECK(rec.steps[2].state == step_state::skipped);
  CHECK(p.result(rec.steps[1].task_ids.at(0)).state == task_state::cancelled);
  // Asking again answers from the ended chain.
  CHECK(p.cancel_chain(id).state == chain_state::cancelled);
  CHECK(p.wait_chain(id).state == chain_state::cancelled);
}

TEST_CASE("several chains run at once on the pool's slots", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(slots(3), with(exec));
  std::vector<chain_id> ids;
  for (int i = 0; i < 3; ++i) {
    chain_definition def;
    def.steps = {make_step("a", "chain " + std::to_string(i) + " a"),
                 make_step("b", "chain " + std::to_string(i) + " b")};
    ids.push_back(p.start_chain(def));
  }
  REQUIRE(exec->wait_for_live(3)); // every chain's first step runs at the same time
  REQUIRE(eventually([&] {
    for (auto& r : exec->requests())
      exec->finish(r.task);
    return std::all_of(ids.begin(), ids.end(), [&](auto& id) {
      return p.chain_status(id).state == chain_state::completed;
    });
  }));
  CHECK(exec->max_running() == 3);
  auto all = p.list_chains();
  REQUIRE(all.size() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(all[i].id == ids[i]);
}

TEST_CASE("chain status shows the running step's live progress", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(slots(1), with(exec));
  chain_definition def;
  def.steps = {make_step("only", "work")};
  auto id = p.start_chain(def);
  REQUIRE(exec->wait_for_live(1));
  auto req = exec->requests().at(0);
  REQUIRE(req.live_progress);
  REQUIRE(req.on_progress);
  task_progress prog;
  prog.turns = 2;
  prog.tool_uses = 1;
  prog.last_tool = "Bash";
  prog.partial_output = "half way";
  req.on_progress(prog);
  REQUIRE(eventually([&] {
    auto now = p.chain_status(id);
    return now.live && now.live->partial_output == "half way";
  }));
  auto now = p.chain_status(id);
  CHECK(now.live->tool_uses == 1);
  CHECK(now.live->last_tool == "Bash");
  exec->finish(req.task);
  auto rec = p.wait_chain(id);
  CHECK(rec.state == chain_state::completed);
  CHECK(!rec.live);
}

TEST_CASE("chain requests name what is wrong", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), with(exec));
  try {
    p.chain_status(chain_id{"chain-nope"});
    FAIL("no error");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::unknown_chain);
    CHECK(contains(e.what(), "chain-nope"));
  }
  chain_definition bad;
  bad.steps = {make_step("a", "{steps.zz.output}")};
  try {
    p.start_chain(bad);
    FAIL("no error");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::invalid_request);
    CHECK(contains(e.what(), "names no earlier step"));
  }
  CHECK(exec->requests().empty());
}

TEST_CASE("a step the pool refuses fails the chain without retries", "[chain]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), with(exec));
  p.drain(std::chrono::milliseconds(1000));
  chain_definition def;
  def.steps = {make_step("a", "x"), make_step("b", "y")};
  def.steps[0].failure_policy.retries = 3;
  auto rec = p.run_chain(def);
  CHECK(rec.state == chain_state::failed);
  CHECK(rec.steps[0].runs == 1);
  REQUIRE(rec.steps[0].error);
  CHECK(contains(*rec.steps[0].error, "refused"));
  CHECK(rec.steps[1].state == step_state::skipped);
}

TEST_CASE("status lists the progress of running live tasks", "[chain][progress]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(slots(1), with(exec));
  task_submission sub{"watch me", {}, {}};
  sub.live_progress = true;
  auto id = p.submit(sub);
  REQUIRE(exec->wait_for_live(1));
  task_progress prog;
  prog.turns = 3;
  exec->requests().at(0).on_progress(prog);
  REQUIRE(eventually([&] {
    auto st = p.status();
    auto it = st.progress.find(id.value);
    return it != st.progress.end() && it->second.turns == 3;
  }));
  exec->finish(id);
  auto rec = p.wait(id);
  REQUIRE(rec.progress);
  CHECK(rec.progress->cost_is_final);
  CHECK(rec.progress->cost_microdollars == rec.result->cost_microdollars);
  CHECK(p.status().progress.empty());
}

TEST_CASE("a task in another directory neither resumes nor replaces a slot's session",
          "[chain]") {
  auto exec = std::make_shared<scripted_executor>(true);
  auto cfg = slots(1);
  cfg.slot_mode = slot_mode::persistent;
  claude_pool::pool p(cfg, with(exec));
  auto first = p.run(std::string("first"));
  REQUIRE(first.state == task_state::completed);
  task_submission elsewhere{"elsewhere", {}, {}};
  elsewhere.working_dir = "/tmp/some-worktree";
  p.run(elsewhere);
  p.run(std::string("third"));
  auto reqs = exec->requests();
  REQUIRE(reqs.size() == 3);
  CHECK(!reqs[0].resume_session);
  CHECK(!reqs[1].resume_session);                 // not resumed in a foreign directory…
  CHECK(reqs[1].working_dir == "/tmp/some-worktree");
  REQUIRE(reqs[2].resume_session);                // …and the slot's own session goes on
  CHECK(*reqs[2].resume_session == "session-of-" + first.id.value);
  CHECK(!reqs[2].working_dir);
}
