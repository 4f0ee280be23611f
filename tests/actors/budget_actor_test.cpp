// The budget inside a pool, driven through the facade with a scripted executor: grants
// before each execution, waiting for room, refusals with figures, the allowance passed on,
// warnings as events. No processes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "claude_pool/pool.hpp"
#include "messages/json.hpp"
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
  cfg.budget_policy = "fixed"; // these tests are about fixed reservations (learn: below)
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

TEST_CASE("learn: the first task runs alone, then each reserves the costliest seen, one that "
          "outruns its reservation with no room left is stopped, saying why",
          "[budget][actors][learn]") {
  auto exec = std::make_shared<scripted_executor>(false);
  auto cfg = capped(3, 1000, 30);
  cfg.budget_policy = "learn";
  pool_options opts;
  opts.executor = exec;
  claude_pool::pool p(cfg, opts);
  std::vector<task_id> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  REQUIRE(exec->wait_for_live(1));
  // Slow start: nothing was seen, so one runs alone with the whole budget as its allowance.
  REQUIRE(eventually([&] {
    auto st = p.status();
    return st.pending == 3 && st.budget && st.budget->grants == 1;
  }));
  CHECK(exec->requests().size() == 1);
  auto first = exec->requests().front();
  REQUIRE(first.config.max_budget_usd);
  CHECK(std::llround(*first.config.max_budget_usd * 1e6) == 1000);
  REQUIRE(exec->finish(ids[0], costing(300)));
  // Now each reserves 300 (strictly below what is free) and may spend all that was free.
  REQUIRE(exec->wait_for_live(2));
  REQUIRE(eventually([&] { return p.status().budget->reservations.size() == 2; }));
  auto st = p.status();
  CHECK(st.pending == 1); // 1000 − 300 spent − 2 × 300 held leaves 100: the fourth waits
  CHECK(st.budget->reserved_microdollars == 600);
  auto reqs = exec->requests();
  REQUIRE(reqs.size() == 3);
  // The first granted may use the 700 then free, the second the 400 left (the two slots may
  // call the executor in either order).
  std::map<std::string, long> allowance;
  for (std::size_t i = 1; i < 3; ++i)
    allowance[reqs[i].task.value] = std::llround(*reqs[i].config.max_budget_usd * 1e6);
  CHECK(allowance[ids[1].value] == 700);
  CHECK(allowance[ids[2].value] == 400);
  // The second task's cost after a turn is 900: more than it reserved, and the budget
  // (300 spent + 900 + 300 held > 1000) cannot hold it: the pool stops it.
  REQUIRE(reqs[1].on_progress);
  task_progress turn;
  turn.cost_microdollars = 900;
  turn.turns = 1;
  reqs[1].on_progress(turn);
  REQUIRE(exec->wait_for_cancels(1));
  auto stopped = p.wait(reqs[1].task);
  CHECK(stopped.state == task_state::failed);
  REQUIRE(stopped.result);
  CHECK(stopped.result->subtype == std::string("budget_exhausted"));
  CHECK_THAT(stopped.result->output, Catch::Contains("stopped after its cost reached $0.000900")
                                       && Catch::Contains("cannot take another turn"));
  // The third stayed within its reservation and is never stopped.
  REQUIRE(exec->finish(reqs[2].task, costing(300)));
  CHECK(p.wait(reqs[2].task).state == task_state::completed);
  st = p.status();
  CHECK(st.budget->stopped == 1);
  CHECK(st.budget->reservations.empty());
  CHECK(st.budget->spent_microdollars == 300 + 3 + 300); // the stopped run cost 3 here
}

namespace {

pool_options with_executor(std::shared_ptr<task_executor> exec) {
  pool_options o;
  o.executor = std::move(exec);
  return o;
}

/// The time of day `ahead_ms` from now, UTC, as "HH:MM:SS", and that moment in epoch ms
/// (rounded up to the second).
std::pair<std::string, std::uint64_t> time_of_day_in(std::uint64_t ahead_ms) {
  auto at = (now_ms() + ahead_ms + 999) / 1000;
  auto secs = at % 86400;
  char text[16];
  std::snprintf(text, sizeof text, "%02u:%02u:%02u", static_cast<unsigned>(secs / 3600),
                static_cast<unsigned>(secs / 60 % 60), static_cast<unsigned>(secs % 60));
  return {text, at * 1000};
}

} // namespace

TEST_CASE("a tag's cap holds while other tags run, and a daily cap makes tasks wait for its "
          "reset",
          "[budget][actors][scopes]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = [](const execution_request&) { return costing(100); };
  SECTION("per tag") {
    pool_config cfg;
    cfg.initial_slots = 2;
    cfg.budget_policy = "fixed";
    cfg.budget_default_reservation_microdollars = 100;
    cfg.budget_reserve_observed = false;
    cfg.budget_tag_microdollars = {{"research", 250}};
    claude_pool::pool p(cfg, with_executor(exec));
    std::vector<task_id> research, other;
    std::size_t done = 0, refused = 0;
    for (int i = 0; i < 4; ++i) {
      try { // refused at submission once research's spend leaves too little, or at start
        research.push_back(p.submit(task_submission{"r" + std::to_string(i), {"research"}, {}}));
      } catch (const pool_error& e) {
        CHECK(e.code == pool_errc::budget_exhausted);
        CHECK_THAT(e.what(), Catch::Contains("for tag \"research\""));
        ++refused;
      }
      other.push_back(p.submit(task_submission{"o" + std::to_string(i), {"ci"}, {}}));
    }
    for (auto& id : research) {
      auto rec = p.wait(id);
      done += rec.state == task_state::completed;
      refused += rec.result && rec.result->subtype == std::string("budget_exhausted");
      if (rec.state != task_state::completed)
        CHECK_THAT(rec.result->output, Catch::Contains("for tag \"research\""));
    }
    CHECK(done == 2); // 250 holds two tasks of 100
    CHECK(refused == 2);
    for (auto& id : other)
      CHECK(p.wait(id).state == task_state::completed); // not bound by research's cap
    auto st = p.status();
    REQUIRE(st.budget);
    REQUIRE(st.budget->scopes.size() == 1);
    CHECK(st.budget->scopes[0].spent_microdollars == 200);
  }
  SECTION("daily") {
    auto [reset_text, reset_ms] = time_of_day_in(2500);
    pool_config cfg;
    cfg.initial_slots = 2;
    cfg.budget_policy = "fixed";
    cfg.budget_default_reservation_microdollars = 100;
    cfg.budget_reserve_observed = false;
    cfg.budget_daily_microdollars = 250;
    cfg.budget_daily_reset_utc = reset_text;
    claude_pool::pool p(cfg, with_executor(exec));
    std::vector<task_id> ids;
    for (int i = 0; i < 4; ++i)
      ids.push_back(p.submit("task " + std::to_string(i)));
    std::size_t after_reset = 0;
    for (auto& id : ids) {
      auto rec = p.wait(id);
      INFO(nlohmann::json(rec).dump());
      CHECK(rec.state == task_state::completed); // waited for the new day, never refused
      after_reset += rec.started_at_ms.value_or(0) >= reset_ms;
    }
    CHECK(after_reset == 2); // two fit in the first day's 250, two ran after the reset
    auto st = p.status();
    REQUIRE(st.budget);
    REQUIRE(st.budget->scopes.size() == 1);
    CHECK(st.budget->scopes[0].name == "daily");
    CHECK(st.budget->scopes[0].spent_microdollars == 200);
    CHECK(st.budget->spent_microdollars == 400);
  }
}

TEST_CASE("submit_all on a pool with a budget asks the budget for each submission in order",
          "[budget][actors][facade]") {
  auto exec = std::make_shared<scripted_executor>(true);
  pool_options opts;
  opts.executor = exec;
  claude_pool::pool p(capped(1, 100, 10), opts);
  std::vector<task_submission> subs;
  for (int i = 0; i < 5; ++i) {
    task_submission sub{"task " + std::to_string(i), {}, task_overrides{}};
    // The second and fourth want more than the whole cap: refused, the others accepted.
    sub.config->max_budget_usd = (i == 1 || i == 3) ? 0.0002 : 0.00001;
    subs.push_back(sub);
  }
  subs.push_back(task_submission{"", {}, std::nullopt}); // invalid: refused before the budget
  auto answers = p.submit_all(subs);
  REQUIRE(answers.size() == 6);
  for (int i : {0, 2, 4}) {
    REQUIRE(answers[i].id);
    CHECK(p.wait(*answers[i].id).prompt == "task " + std::to_string(i));
  }
  for (int i : {1, 3}) {
    CHECK_FALSE(answers[i].id);
    REQUIRE(answers[i].error);
    CHECK(answers[i].error->code == pool_errc::task_budget_exceeds_remaining);
  }
  REQUIRE(answers[5].error);
  CHECK(answers[5].error->code == pool_errc::invalid_request);
  CHECK(exec->requests().size() == 3);
}
