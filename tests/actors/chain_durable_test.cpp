// Durable chains: a chain on a store is written at every step; a pool started again on the
// store resumes it from its first unfinished step, with the earlier steps' outputs intact
// and no step run twice to completion. A real SQLite store and a scripted executor; no
// processes (the SIGKILL case with the program is tests/integration/chain_resume_test.sh).
#include <catch2/catch.hpp>

#include <algorithm>

#include "claude_pool/pool.hpp"
#include "../support/chain_helpers.hpp"
#include "../support/scripted_executor.hpp"
#include "../support/temp_dir.hpp"

using namespace claude_pool;
using claude_pool::testing::make_step;
using claude_pool::testing::scripted_executor;
using claude_pool::testing::slots;

namespace {

pool_options on(std::shared_ptr<task_executor> exec, const std::string& store_path) {
  pool_options o;
  o.executor = std::move(exec);
  o.store = std::shared_ptr<task_store>(open_sqlite_store(store_path));
  return o;
}

chain_definition three_steps() {
  chain_definition def;
  def.live_progress = false;
  def.steps = {make_step("a", "first"), make_step("b", "second after {previous_output}"),
               make_step("c", "third after {previous_output}")};
  return def;
}

std::size_t runs_of(scripted_executor& exec, const std::string& prompt) {
  auto reqs = exec.requests();
  return static_cast<std::size_t>(std::count_if(
    reqs.begin(), reqs.end(), [&](const execution_request& r) { return r.prompt == prompt; }));
}

/// A chain as the store would hold it after a pool died with step b under way.
chain_record stopped_in_b(const chain_id& id) {
  chain_record rec;
  rec.id = id;
  rec.created_at_ms = now_ms();
  rec.current_step = "b";
  rec.completed_steps = 1;
  chain_step_result a{"a", step_state::completed, {task_id{"task-a-old"}}, "first",
                      "done: first", {}, 10, 1, false, {}};
  chain_step_result b{"b", step_state::running, {}, "second after done: first", {}, {},
                      0, 1, false, {}};
  chain_step_result c{"c", step_state::pending, {}, {}, {}, {}, 0, 0, false, {}};
  rec.steps = {a, b, c};
  return rec;
}

task_record step_task(const std::string& id, const chain_id& chain, const std::string& prompt) {
  auto t = task_record::new_pending(task_id{id}, prompt);
  t.tags = {"chain:" + chain.value, "step:b"};
  return t;
}

} // namespace

TEST_CASE("a chain on a store resumes after its pool stopped mid-step", "[chain][store]") {
  claude_pool::testing::temp_dir dir;
  auto path = dir / "tasks.db";
  chain_id id;
  {
    auto exec = std::make_shared<scripted_executor>(false);
    claude_pool::pool first(slots(1), on(exec, path));
    id = first.start_chain(three_steps());
    REQUIRE(exec->wait_for_started(1));
    REQUIRE(exec->finish(exec->requests()[0].task));
    REQUIRE(exec->wait_for_started(2));
    CHECK(exec->requests()[1].prompt == "second after done: first");
    // The pool stops with step b running: the store keeps the chain running and b's task
    // running (as after a SIGKILL; the process of b goes with the pool).
  }
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool again(slots(1), on(exec, path));
  auto rec = again.wait_chain(id);
  CHECK(rec.state == chain_state::completed);
  REQUIRE(rec.steps.size() == 3);
  CHECK(rec.steps[0].output == std::optional<std::string>("done: first"));
  CHECK(rec.steps[0].runs == 1);
  CHECK(runs_of(*exec, "first") == 0); // never again
  CHECK(runs_of(*exec, "second after done: first") == 1);
  CHECK(rec.steps[1].task_ids.size() == 2); // the interrupted run, and the one that completed
  CHECK(again.result(rec.steps[1].task_ids[0]).result->subtype
        == std::optional<std::string>("interrupted"));
  CHECK(rec.final_output
        == std::optional<std::string>("done: third after done: second after done: first"));
  // Ended chains are still answered for by the next pool on the store.
  auto chains = again.list_chains();
  REQUIRE(chains.size() == 1);
  CHECK(chains[0].id == id);
}

TEST_CASE("a resumed step whose task completed under the old pool is not run again",
          "[chain][store]") {
  claude_pool::testing::temp_dir dir;
  auto path = dir / "tasks.db";
  chain_id id{"chain-resume-done"};
  {
    auto store = open_sqlite_store(path);
    auto rec = stopped_in_b(id);
    rec.steps[1].task_ids = {task_id{"task-b-old"}};
    auto b = step_task("task-b-old", id, "second after done: first");
    task_result res;
    res.success = true;
    res.output = "b finished before the crash";
    b.result = res;
    b.transition_to(task_state::running);
    b.transition_to(task_state::completed);
    store->put_task(b);
    store->put_chain(three_steps(), rec);
  }
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), on(exec, path));
  auto rec = p.wait_chain(id);
  CHECK(rec.state == chain_state::completed);
  CHECK(rec.steps[1].output == std::optional<std::string>("b finished before the crash"));
  CHECK(rec.steps[1].runs == 1);
  CHECK(exec->requests().size() == 1); // only c
  CHECK(runs_of(*exec, "third after b finished before the crash") == 1);
}

TEST_CASE("a resumed step whose submission was in flight takes the task the pool had accepted",
          "[chain][store]") {
  claude_pool::testing::temp_dir dir;
  auto path = dir / "tasks.db";
  chain_id id{"chain-resume-flight"};
  {
    auto store = open_sqlite_store(path);
    // Submitted (runs = 1) but the chain never heard the id: only the tags tie it to b.
    store->put_task(step_task("task-b-queued", id, "second after done: first"));
    store->put_chain(three_steps(), stopped_in_b(id));
  }
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), on(exec, path));
  auto rec = p.wait_chain(id);
  CHECK(rec.state == chain_state::completed);
  CHECK(rec.steps[1].task_ids == std::vector<task_id>{task_id{"task-b-queued"}});
  CHECK(runs_of(*exec, "second after done: first") == 1); // the queued one, not a copy
  CHECK(exec->requests().size() == 2);
}

TEST_CASE("a chain without a store is not kept and a pool on an empty store has no chains",
          "[chain][store]") {
  claude_pool::testing::temp_dir dir;
  auto path = dir / "tasks.db";
  {
    auto exec = std::make_shared<scripted_executor>(true);
    claude_pool::pool p(slots(1), claude_pool::testing::with(exec));
    CHECK(p.run_chain(three_steps()).state == chain_state::completed);
  }
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), on(exec, path));
  CHECK(p.list_chains().empty());
  CHECK_THROWS_AS(p.chain_status(chain_id{"chain-none"}), pool_error);
}
