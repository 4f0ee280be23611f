// The budget inside a pool, driven through the facade with a scripted executor: grants
// before each execution, waiting for room, refusals with figures, the allowance passed on,
// warnings as events. No processes.
#include <catch2/catch.hpp>

#include <cmath>
#include <mutex>

#include "claude_pool/pool.hpp"
#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;
using claude_pool::testing::eventually;
using claude_pool::testing::scripted_executor;

namespace {

pool_config capped(std::uint64_t slots, std::uint64_t cap, std::uint64_t reservation) {
  pool_config cfg;
  cfg.initial_slots = slots;
  cfg.scaling.max_slots = 16;
  cfg.budget_microdollars = cap;
  cfg.budget_default_reservation_microdollars = reservation;
  cfg.budget_reserve_observed = false;
  return cfg;
}

task_result costing(std::uint64_t micro) {
  task_result r;
  r.success = true;
  r.output = "ok";
  r.cost_microdollars = micro;
  return r;
}

} // namespace

TEST_CASE("the budget lets only what fits run, makes the rest wait, then refuses with figures",
          "[budget][actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  std::mutex m;
  std::vector<pool_event> logged;
  pool_options opts;
  opts.executor = exec;
  opts.on_event = [&](const pool_event& ev) {
    std::lock_guard<std::mutex> lock(m);
    logged.push_back(ev);
  };
  claude_pool::pool p(capped(4, 100, 30), opts);
  std::vector<task_id> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  REQUIRE(exec->wait_for_live(3));
  // Four idle slots, but 3 × 30 reserved of 100: the fourth task waits for the budget.
  auto st = p.status();
  REQUIRE(st.budget);
  CHECK(st.budget->reserved_microdollars == 90);
  CHECK(st.running == 3);
  CHECK(st.pending == 2);
  for (auto& req : exec->requests()) {
    REQUIRE(req.config.max_budget_usd);
    CHECK(std::llround(*req.config.max_budget_usd * 1e6) == 30);
  }
  for (int i = 0; i < 3; ++i)
    REQUIRE(exec->finish(ids[i], costing(30)));
  auto refused = p.wait(ids[3]);
  CHECK(refused.state == task_state::failed);
  REQUIRE(refused.result);
  CHECK(refused.result->subtype == std::string("budget_exhausted"));
  CHECK_THAT(refused.result->output, Catch::Contains("$0.000090 spent")
                                       && Catch::Contains("$0.000100 cap"));
  CHECK_FALSE(refused.started_at_ms);
  CHECK(p.wait(ids[4]).state == task_state::failed);
  CHECK(exec->requests().size() == 3); // the refused ones never reached a process
  st = p.status();
  CHECK(st.budget->spent_microdollars == 90);
  CHECK(st.budget->reserved_microdollars == 0);
  CHECK(st.budget->warnings == std::vector<int>{50, 80});
  std::uint64_t records = 0;
  for (auto& rec : p.list())
    records += rec.result ? rec.result->cost_microdollars : 0;
  CHECK(records == 90);
  // New submissions are refused at once: the $0.000010 left cannot hold a $0.000030 task.
  try {
    p.submit("one more");
    FAIL("submit should have been refused");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::budget_exhausted);
  }
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lock(m);
    return std::count_if(logged.begin(), logged.end(),
                         [](auto& ev) { return ev.kind == "budget_warning"; })
           == 2;
  }));
}

TEST_CASE("a task whose own budget exceeds what remains is refused at submission",
          "[budget][actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  pool_options opts;
  opts.executor = exec;
  claude_pool::pool p(capped(1, 100, 10), opts);
  task_submission sub{"big", {}, task_overrides{}};
  sub.config->max_budget_usd = 0.0002; // 200 > 100
  try {
    p.submit(sub);
    FAIL("submit should have been refused");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::task_budget_exceeds_remaining);
    CHECK_THAT(e.what(), Catch::Contains("$0.000200") && Catch::Contains("$0.000100 cap"));
  }
  // Its own budget, when it fits, is its allowance.
  sub.config->max_budget_usd = 0.00005;
  auto rec = p.run(sub);
  CHECK(rec.state == task_state::completed);
  REQUIRE(exec->requests().size() == 1);
  CHECK(std::llround(*exec->requests()[0].config.max_budget_usd * 1e6) == 50);
}

TEST_CASE("cost of failed executions and of every attempt counts", "[budget][actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  int calls = 0;
  exec->answer = [&](const execution_request&) {
    ++calls;
    auto r = task_result::failure("crashed", "crashed");
    r.exit_code = -9;
    r.cost_microdollars = 7;
    return r;
  };
  pool_options opts;
  opts.executor = exec;
  auto cfg = capped(1, 1000, 10);
  cfg.restart_backoff_min_ms = 1;
  cfg.restart_backoff_max_ms = 2;
  claude_pool::pool p(cfg, opts);
  task_submission sub{"flaky", {}, {}};
  sub.max_attempts = 3;
  auto rec = p.run(sub);
  CHECK(rec.state == task_state::failed);
  CHECK(rec.attempts.size() == 2);
  REQUIRE(eventually([&] { return p.status().budget->spent_microdollars == 21; }));
}

TEST_CASE("a task cancelled while it waits for budget never runs and frees nothing it lacks",
          "[budget][actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  pool_options opts;
  opts.executor = exec;
  claude_pool::pool p(capped(2, 50, 30), opts);
  auto a = p.submit("a");
  auto b = p.submit("b");
  REQUIRE(exec->wait_for_live(1));
  auto cancelled = p.cancel(b);
  CHECK(cancelled.state == task_state::cancelled);
  REQUIRE(exec->finish(a, costing(5)));
  CHECK(p.wait(a).state == task_state::completed);
  CHECK(exec->requests().size() == 1);
  auto st = p.status();
  CHECK(st.budget->spent_microdollars == 5);
  CHECK(st.budget->reserved_microdollars == 0);
}
