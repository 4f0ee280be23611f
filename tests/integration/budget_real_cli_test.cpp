// The budget as a hard cap, through the real CLI and the mock API with known token usage:
// each task reports 1000 input + 200 output tokens, $0.010000 at the CLI's prices.
#include <catch2/catch.hpp>

#include <iostream>

#include "messages/json.hpp"
#include "real_cli_fixture.hpp"

using namespace claude_pool;
using claude_pool::testing::real_cli_fixture;

namespace {

constexpr std::uint64_t task_cost = 10000; // microdollars: 1000 × $5/M + 200 × $25/M

struct tally {
  std::uint64_t completed = 0, refused = 0, other = 0, record_cost = 0;
};

tally count(const std::vector<task_record>& recs) {
  tally t;
  for (auto& r : recs) {
    if (r.state == task_state::completed)
      ++t.completed;
    else if (r.result && r.result->subtype == std::string("budget_exhausted"))
      ++t.refused;
    else
      ++t.other;
    if (r.result)
      t.record_cost += r.result->cost_microdollars;
    for (auto& a : r.attempts)
      t.record_cost += a.cost_microdollars;
  }
  return t;
}

} // namespace

TEST_CASE("50 concurrent tasks against a cap for about 20: spend stays within the cap and "
          "the figures add up to what the CLI reported",
          "[integration][budget]") {
  real_cli_fixture fx;
  auto cfg = fx.config(4);
  cfg.budget_microdollars = 20 * task_cost + task_cost / 2; // $0.205
  // A little above the cost: the CLI stops a task whose cost reaches its allowance.
  cfg.budget_default_reservation_microdollars = task_cost + task_cost / 10;
  claude_pool::pool p(cfg);
  std::vector<task_id> ids;
  for (int i = 0; i < 50; ++i)
    ids.push_back(p.submit("task " + std::to_string(i) + " [[mock:usage=1000/200]]"));
  std::vector<task_record> recs;
  for (auto& id : ids)
    recs.push_back(p.wait(id));
  auto t = count(recs);
  auto st = p.status();
  REQUIRE(st.budget);
  auto& b = *st.budget;
  std::cerr << "budget test: cap " << *b.cap_microdollars << " µ$, spent "
            << b.spent_microdollars << " µ$, admitted and run " << t.completed
            << ", refused " << t.refused << ", other " << t.other << "\n";
  INFO(to_json_text(nlohmann::json(st)));
  CHECK(t.other == 0);
  CHECK(t.completed + t.refused == 50);
  CHECK(t.completed == 20); // the cap holds exactly 20 tasks of $0.01
  CHECK(b.spent_microdollars <= *b.cap_microdollars);
  CHECK(b.reserved_microdollars == 0);
  // Every microdollar the budget booked is a cost the CLI reported for one of the tasks.
  CHECK(b.spent_microdollars == t.record_cost);
  CHECK(b.spent_microdollars == t.completed * task_cost);
  CHECK(b.warnings == std::vector<int>{50, 80});
  // The refused tasks never started a process: 20 requests reached the API.
  CHECK(fx.model_requests().size() == t.completed);
  // A new submission is refused at once, with the figures.
  try {
    p.submit("one more");
    FAIL("expected a refusal");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::budget_exhausted);
    CHECK_THAT(e.what(), Catch::Contains("$0.200000 spent") && Catch::Contains("$0.205000 cap"));
  }
}

TEST_CASE("a reservation below a task's cost: the CLI stops it after the turn, the overshoot "
          "is at most one turn per running task, and the next reservations learn the cost",
          "[integration][budget]") {
  real_cli_fixture fx;
  auto cfg = fx.config(2);
  cfg.budget_microdollars = 3 * task_cost;
  cfg.budget_policy = "fixed"; // the fixed allowance is the CLI's hard stop
  cfg.budget_default_reservation_microdollars = task_cost / 4; // too small on purpose
  cfg.budget_reserve_observed = true;
  claude_pool::pool p(cfg);
  std::vector<task_id> ids;
  for (int i = 0; i < 8; ++i)
    ids.push_back(p.submit("task " + std::to_string(i) + " [[mock:usage=1000/200]]"));
  std::vector<task_record> recs;
  for (auto& id : ids)
    recs.push_back(p.wait(id));
  auto st = p.status();
  REQUIRE(st.budget);
  auto& b = *st.budget;
  std::uint64_t cut_by_cli = 0;
  for (auto& r : recs)
    if (r.result && r.result->subtype == std::string("error_max_budget_usd")) {
      ++cut_by_cli;
      CHECK(r.result->cost_microdollars == task_cost); // one turn, then the CLI stopped
    }
  std::cerr << "overshoot test: cap " << *b.cap_microdollars << " µ$, spent "
            << b.spent_microdollars << " µ$, cut by the CLI " << cut_by_cli << "\n";
  INFO(to_json_text(nlohmann::json(st)));
  // Only the first wave (one per slot) ran with the too-small allowance.
  CHECK(cut_by_cli >= 1);
  CHECK(cut_by_cli <= 2);
  CHECK(b.reservation_microdollars == task_cost + task_cost / 4);
  // The README's bound: the cap plus at most one turn per slot, here 3 + 2 tasks' worth.
  CHECK(b.spent_microdollars <= *b.cap_microdollars + 2 * task_cost);
  CHECK(b.spent_microdollars == count(recs).record_cost);
}

namespace {

/// Two turns of $0.15 (a tool call, then the answer): $0.30 a task at the CLI's prices.
const std::string two_turns =
  R"( [[mock:tool_use=Bash {"command":"echo hi"}]] [[mock:usage=15000/3000]])";
constexpr std::uint64_t two_turn_cost = 300000;

struct budget_run {
  tally t;
  std::uint64_t cut_by_cli = 0, stopped_by_pool = 0, spent = 0, cap = 0;
};

/// 30 tasks of $0.30 (unknown to the pool) on 8 slots against a cap of 10.5 tasks.
budget_run scenario(const std::string& policy) {
  real_cli_fixture fx;
  auto cfg = fx.config(8);
  cfg.budget_policy = policy;
  cfg.budget_microdollars = two_turn_cost * 21 / 2; // $3.15
  claude_pool::pool p(cfg);
  std::vector<task_id> ids;
  for (int i = 0; i < 30; ++i)
    ids.push_back(p.submit("task " + std::to_string(i) + two_turns));
  std::vector<task_record> recs;
  for (auto& id : ids)
    recs.push_back(p.wait(id));
  budget_run run;
  run.t = count(recs);
  for (auto& r : recs) {
    auto subtype = r.result ? r.result->subtype.value_or("") : "";
    run.cut_by_cli += subtype == "error_max_budget_usd";
    run.stopped_by_pool += subtype == "budget_exhausted" && r.result->cost_microdollars > 0;
  }
  auto st = p.status();
  run.spent = st.budget->spent_microdollars;
  run.cap = *st.budget->cap_microdollars;
  CHECK(run.spent == run.t.record_cost); // every dollar accounted for
  return run;
}

} // namespace

TEST_CASE("a budget for 10.5 tasks of unknown cost on 8 slots: no task is killed while the "
          "budget has room, spend stays within the cap",
          "[integration][budget][learn]") {
  auto learn = scenario("learn");
  auto fixed = scenario("fixed"); // the policy before issue 18, same run, for the figures
  auto per_dollar = [](const budget_run& r) {
    return static_cast<double>(r.t.completed) / (static_cast<double>(r.cap) / 1e6);
  };
  std::cout << "budget $3.15, 30 tasks of $0.30 on 8 slots: learn " << learn.t.completed
            << " completed, " << learn.cut_by_cli << " cut by the CLI, spent $"
            << learn.spent / 1e6 << " (" << per_dollar(learn) << " completed per $ of cap); "
            << "fixed " << fixed.t.completed << " completed, " << fixed.cut_by_cli
            << " cut by the CLI, spent $" << fixed.spent / 1e6 << " (" << per_dollar(fixed)
            << " per $)\n";
  CHECK(learn.t.completed >= 10);
  CHECK(learn.cut_by_cli == 0);
  CHECK(learn.stopped_by_pool == 0);
  CHECK(learn.spent <= learn.cap);
  CHECK(learn.t.completed + learn.t.refused == 30); // the rest refused for the budget
  CHECK(fixed.cut_by_cli > 0); // what the issue saw: the default allowance was too low
}

TEST_CASE("costs that vary 3x within a batch: spend stays within the cap plus one turn",
          "[integration][budget][learn]") {
  real_cli_fixture fx;
  auto cfg = fx.config(4);
  cfg.budget_microdollars = 2000000; // $2.00
  claude_pool::pool p(cfg);
  // $0.10, $0.20 and $0.30 tasks (one turn each), mixed.
  const char* usage[] = {"10000/2000", "20000/4000", "30000/6000"};
  std::vector<task_id> ids;
  for (int i = 0; i < 24; ++i)
    ids.push_back(p.submit("task " + std::to_string(i) + " [[mock:usage=" + usage[i % 3] + "]]"));
  std::vector<task_record> recs;
  for (auto& id : ids)
    recs.push_back(p.wait(id));
  auto t = count(recs);
  std::uint64_t cut = 0;
  for (auto& r : recs)
    cut += r.result && r.result->subtype == std::string("error_max_budget_usd");
  auto st = p.status();
  REQUIRE(st.budget);
  std::cout << "costs $0.10-$0.30 against $2.00 on 4 slots: " << t.completed << " completed, "
            << t.refused << " refused, " << cut << " cut by the CLI, spent $"
            << st.budget->spent_microdollars / 1e6 << ", stopped by the pool "
            << st.budget->stopped << "\n";
  INFO(to_json_text(nlohmann::json(st)));
  CHECK(cut == 0);
  CHECK(t.other == 0);
  CHECK(st.budget->spent_microdollars <= *st.budget->cap_microdollars + 300000);
  CHECK(st.budget->spent_microdollars == t.record_cost);
  CHECK(st.budget->reserved_microdollars == 0);
  CHECK(st.budget->reservations.empty());
}

TEST_CASE("a tag's cap holds while other tags run, through the real CLI",
          "[integration][budget][scopes]") {
  real_cli_fixture fx;
  auto cfg = fx.config(4);
  cfg.budget_tag_microdollars = {{"research", 4 * task_cost + task_cost / 2}}; // $0.045
  claude_pool::pool p(cfg);
  std::vector<task_id> research, other;
  std::size_t refused_at_submit = 0;
  for (int i = 0; i < 8; ++i) {
    try { // once research's spend leaves too little, a submission is refused at once
      research.push_back(p.submit(task_submission{
        "research " + std::to_string(i) + " [[mock:usage=1000/200]]", {"research"}, {}}));
    } catch (const pool_error& e) {
      CHECK(e.code == pool_errc::budget_exhausted);
      ++refused_at_submit;
    }
    other.push_back(p.submit(task_submission{
      "other " + std::to_string(i) + " [[mock:usage=1000/200]]", {"ci"}, {}}));
  }
  std::vector<task_record> r, o;
  for (auto& id : research)
    r.push_back(p.wait(id));
  for (auto& id : other)
    o.push_back(p.wait(id));
  auto tr = count(r), to = count(o);
  auto st = p.status();
  REQUIRE(st.budget);
  REQUIRE(st.budget->scopes.size() == 1);
  auto& scope = st.budget->scopes[0];
  std::cout << "tag cap $0.045, 8 research + 8 other tasks of $0.01: research " << tr.completed
            << " completed, " << tr.refused << " refused, spent $" << scope.spent_microdollars / 1e6
            << "; other " << to.completed << " completed\n";
  CHECK(tr.completed == 4);
  CHECK(tr.refused + refused_at_submit == 4);
  CHECK(scope.spent_microdollars <= scope.cap_microdollars);
  CHECK(to.completed == 8); // the other tag is not bound by research's cap
}

TEST_CASE("a daily cap: tasks wait for the reset and then run, through the real CLI",
          "[integration][budget][scopes]") {
  real_cli_fixture fx;
  auto cfg = fx.config(2);
  auto at = (now_ms() + 4000 + 999) / 1000;
  char reset[16];
  std::snprintf(reset, sizeof reset, "%02u:%02u:%02u", static_cast<unsigned>(at % 86400 / 3600),
                static_cast<unsigned>(at % 3600 / 60), static_cast<unsigned>(at % 60));
  cfg.budget_daily_microdollars = 2 * task_cost + task_cost / 2; // $0.025 a day
  cfg.budget_daily_reset_utc = reset;
  claude_pool::pool p(cfg);
  std::vector<task_id> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(p.submit("daily " + std::to_string(i) + " [[mock:usage=1000/200]]"));
  std::size_t after_reset = 0;
  for (auto& id : ids) {
    auto rec = p.wait(id);
    INFO(nlohmann::json(rec).dump());
    CHECK(rec.state == task_state::completed);
    after_reset += rec.started_at_ms.value_or(0) >= at * 1000;
  }
  std::cout << "daily cap $0.025 with the reset 4 s ahead, 4 tasks of $0.01: "
            << ids.size() - after_reset << " ran before the reset, " << after_reset
            << " after it; none refused\n";
  CHECK(after_reset == 2);
}
