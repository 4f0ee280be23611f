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
