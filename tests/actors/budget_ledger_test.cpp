#include <catch2/catch.hpp>

#include "actors/budget_ledger.hpp"

using namespace claude_pool;

namespace {

task_id t(const char* name) { return task_id{name}; }

} // namespace

TEST_CASE("without a cap every execution is granted and spend is counted", "[budget]") {
  budget_ledger b(std::nullopt, 1000);
  CHECK_FALSE(b.admit(std::nullopt));
  auto g = b.reserve(t("a"), std::nullopt);
  CHECK(g.what == budget_grant::granted);
  CHECK(g.allowance == no_allowance); // nothing caps it: its CLI gets no --max-budget-usd
  CHECK(b.settle(t("a"), 1234).empty());
  CHECK(b.spent() == 1234);
  CHECK(b.reserved() == 0);
}

TEST_CASE("reservations keep concurrent executions inside the cap, the rest wait",
          "[budget]") {
  budget_ledger b(10000, 3000);
  for (auto name : {"a", "b", "c"})
    CHECK(b.reserve(t(name), std::nullopt).what == budget_grant::granted);
  CHECK(b.reserved() == 9000);
  // 1000 left, less than a task reserves, while others run: wait, not refuse.
  CHECK(b.reserve(t("d"), std::nullopt).what == budget_grant::wait);
  // A task that spent less than reserved gives the rest back.
  b.settle(t("a"), 500);
  CHECK(b.available() == 10000 - 500 - 6000);
  CHECK(b.reserve(t("d"), std::nullopt).what == budget_grant::granted);
}

TEST_CASE("once nothing runs and the rest cannot hold a task, it is refused with figures",
          "[budget]") {
  budget_ledger b(10000, 3000);
  for (auto name : {"a", "b", "c"})
    b.reserve(t(name), std::nullopt);
  for (auto name : {"a", "b", "c"})
    b.settle(t(name), 3000);
  auto g = b.reserve(t("d"), std::nullopt);
  REQUIRE(g.what == budget_grant::refused);
  REQUIRE(g.refusal);
  CHECK(g.refusal->code == "budget_exhausted");
  CHECK(g.refusal->spent == 9000);
  CHECK_THAT(g.refusal->message(), Catch::Contains("$0.009000 spent")
                                     && Catch::Contains("$0.010000 cap")
                                     && Catch::Contains("$0.003000 a task needs"));
  // Admission refuses the same way: the unspent $0.001 cannot hold a $0.003 task.
  auto a = b.admit(std::nullopt);
  REQUIRE(a);
  CHECK(a->code == "budget_exhausted");
  CHECK(b.status().refusals == 1);
}

TEST_CASE("a task's own budget larger than what remains is refused with the figures",
          "[budget]") {
  budget_ledger b(10000, 1000);
  auto a = b.admit(20000);
  REQUIRE(a);
  CHECK(a->code == "task_budget_exceeds_remaining");
  CHECK(a->requested == 20000);
  CHECK_THAT(a->message(), Catch::Contains("$0.020000") && Catch::Contains("$0.010000 cap"));
  CHECK_FALSE(b.admit(10000));
  b.reserve(t("x"), 9000);
  b.settle(t("x"), 9000);
  auto g = b.reserve(t("y"), 2000);
  REQUIRE(g.what == budget_grant::refused);
  CHECK(g.refusal->code == "task_budget_exceeds_remaining");
  CHECK(b.reserve(t("z"), 1000).allowance == 1000);
}

TEST_CASE("with reserve_observed, the reservation rises above the costliest execution seen",
          "[budget]") {
  budget_ledger b(100000, 1000, true);
  CHECK(b.expected_cost() == 1000);
  b.reserve(t("a"), std::nullopt);
  b.settle(t("a"), 4000); // overshot its allowance by one turn
  CHECK(b.expected_cost() == 5000); // 25 % headroom: the CLI stops at the allowance
  CHECK(b.reserve(t("b"), std::nullopt).allowance == 5000);
  b.settle(t("b"), 2000); // cheaper ones do not lower it
  CHECK(b.expected_cost() == 5000);
  budget_ledger fixed(100000, 1000, false);
  fixed.reserve(t("a"), std::nullopt);
  fixed.settle(t("a"), 4000);
  CHECK(fixed.expected_cost() == 1000);
}

TEST_CASE("warnings fire once each at 50, 80 and 100 percent of the cap", "[budget]") {
  budget_ledger b(1000, 100);
  for (int i = 0; i < 4; ++i)
    b.reserve(task_id{std::to_string(i)}, 100);
  CHECK(b.settle(task_id{"0"}, 400).empty());
  CHECK(b.settle(task_id{"1"}, 100) == std::vector<int>{50});
  CHECK(b.settle(task_id{"2"}, 500) == std::vector<int>{80, 100});
  CHECK(b.settle(task_id{"3"}, 50).empty()); // over the cap by a turn: no repeat warning
  CHECK(b.spent() == 1050);                  // 400 + 100 + 500 + 50
  CHECK(b.available() == 0);
  CHECK(b.status().warnings == std::vector<int>{50, 80, 100});
}

TEST_CASE("a reservation given back unused frees its room", "[budget]") {
  budget_ledger b(1000, 600);
  b.reserve(t("a"), std::nullopt);
  CHECK(b.reserve(t("b"), std::nullopt).what == budget_grant::wait);
  b.settle(t("a"), 0);
  CHECK(b.reserved() == 0);
  CHECK(b.available() == 1000);
  CHECK(b.reserve(t("b"), std::nullopt).what == budget_grant::granted);
}

TEST_CASE("learn: the first execution runs alone with everything unspent, then each holds "
          "the costliest seen and may use all that is free",
          "[budget][learn]") {
  budget_ledger b(3150000, 200000, true, budget_policy::learn);
  CHECK_FALSE(b.admit(std::nullopt)); // nothing seen: anything unspent will do
  auto first = b.reserve(t("a"), std::nullopt);
  REQUIRE(first.what == budget_grant::granted);
  CHECK(first.reservation == 3150000); // no guess: the whole budget, for one
  CHECK(first.allowance == 3150000);
  CHECK(b.reserve(t("b"), std::nullopt).what == budget_grant::wait); // slow start
  b.settle(t("a"), 300000);
  CHECK(b.expected_cost() == 300000);
  // Now each reserves $0.30 and its CLI may spend what is free when it starts.
  auto second = b.reserve(t("b"), std::nullopt);
  REQUIRE(second.what == budget_grant::granted);
  CHECK(second.reservation == 300000);
  CHECK(second.allowance == 2850000);
  std::size_t granted = 1;
  for (int i = 0; i < 20; ++i)
    granted += b.reserve(task_id{"c" + std::to_string(i)}, std::nullopt).what
               == budget_grant::granted;
  // $3.15 − $0.30 spent = $2.85 holds 9 reservations of $0.30 strictly below it.
  CHECK(granted == 9);
  CHECK(b.reserved() == 9 * 300000);
  auto st = b.status();
  CHECK(st.policy == "learn");
  CHECK(st.reservations.size() == 9);
  CHECK(st.remaining_microdollars == std::optional<std::uint64_t>(3150000 - 300000 - 2700000));
}

TEST_CASE("learn: costs within the observed range never pass the cap, and a refusal says "
          "what a task needs and what is left",
          "[budget][learn]") {
  budget_ledger b(3150000, 200000, true, budget_policy::learn);
  std::uint64_t completed = 0;
  int n = 0;
  // 30 tasks of $0.30 each, as many at once as the ledger grants.
  std::vector<task_id> running;
  while (true) {
    auto id = task_id{"t" + std::to_string(n)};
    auto g = b.reserve(id, std::nullopt);
    if (g.what == budget_grant::granted) {
      CHECK(g.allowance > 300000 - 1); // never a hard stop below what a task costs
      running.push_back(id);
      ++n;
      continue;
    }
    if (g.what == budget_grant::refused) {
      REQUIRE(g.refusal);
      CHECK_THAT(g.refusal->message(), Catch::Contains("$3.000000 spent")
                                         && Catch::Contains("$0.150000")
                                         && Catch::Contains("$0.300001 a task needs"));
      break;
    }
    REQUIRE_FALSE(running.empty());
    for (auto& r : running) {
      CHECK(b.track(r, 300000).empty()); // within its reservation: never stopped
      b.settle(r, 300000);
      ++completed;
    }
    running.clear();
  }
  CHECK(completed == 10);
  CHECK(b.spent() <= 3150000);
}

TEST_CASE("learn: an execution that outruns its reservation holds its cost, and is stopped "
          "only when the budget cannot hold it",
          "[budget][learn]") {
  budget_ledger b(1000000, 200000, true, budget_policy::learn);
  b.reserve(t("seed"), std::nullopt);
  b.settle(t("seed"), 100000); // the costliest so far: $0.10
  for (auto name : {"a", "b", "c"})
    REQUIRE(b.reserve(t(name), std::nullopt).what == budget_grant::granted);
  CHECK(b.reserved() == 300000);
  // a is dearer than anything seen: while the budget has room it goes on, holding more.
  CHECK(b.track(t("a"), 250000).empty());
  CHECK(b.reserved() == 250000 + 200000);
  CHECK(b.expected_cost() == 250000); // new grants reserve what a is known to cost
  CHECK(b.track(t("a"), 600000).empty()); // 100000 + 600000 + 200000 = 900000 ≤ cap
  // Another turn takes it past what the budget can hold: it must stop, saying why.
  auto why = b.track(t("a"), 750000);
  CHECK_THAT(why, Catch::Contains("stopped after its cost reached $0.750000")
                    && Catch::Contains("the budget cannot take another turn"));
  CHECK(b.status().stopped == 1);
  // b and c stay within their reservations: never stopped, whatever a did.
  CHECK(b.track(t("b"), 100000).empty());
}

TEST_CASE("learn: an execution lost without a cost is booked at what it held", "[budget][learn]") {
  budget_ledger b(1000000, 200000, true, budget_policy::learn);
  b.reserve(t("seed"), std::nullopt);
  b.settle(t("seed"), 100000);
  b.reserve(t("a"), std::nullopt);
  CHECK(b.unknown_cost(t("a")) == 100000);
  b.track(t("a"), 180000);
  CHECK(b.unknown_cost(t("a")) == 180000);
}

TEST_CASE("a tag's cap holds while tasks of other tags keep running", "[budget][scopes]") {
  budget_ledger b(std::nullopt, 100, false, budget_policy::fixed);
  budget_scope_caps caps;
  caps.per_tag = {{"research", 250}};
  b.set_scopes(caps);
  const std::vector<std::string> research{"research"}, other{"ci"};
  CHECK(b.reserve(t("r1"), std::nullopt, research).what == budget_grant::granted);
  CHECK(b.reserve(t("r2"), std::nullopt, research).what == budget_grant::granted);
  // 200 of 250 held for research: a third waits; untagged and other tags are not bound.
  CHECK(b.reserve(t("r3"), std::nullopt, research).what == budget_grant::wait);
  for (int i = 0; i < 5; ++i)
    CHECK(b.reserve(task_id{"c" + std::to_string(i)}, std::nullopt, other).what
          == budget_grant::granted);
  b.settle(t("r1"), 100);
  b.settle(t("r2"), 100);
  auto refused = b.reserve(t("r3"), std::nullopt, research);
  REQUIRE(refused.what == budget_grant::refused);
  CHECK_THAT(refused.refusal->message(), Catch::Contains("budget exhausted for tag \"research\"")
                                           && Catch::Contains("$0.000250 cap"));
  auto admitted = b.admit(std::nullopt, research);
  REQUIRE(admitted);
  CHECK(admitted->scope == "tag:research");
  CHECK_FALSE(b.admit(std::nullopt, other));
  auto st = b.status();
  REQUIRE(st.scopes.size() == 1);
  CHECK(st.scopes[0].name == "tag:research");
  CHECK(st.scopes[0].spent_microdollars == 200);
}

TEST_CASE("each chain has its own cap", "[budget][scopes]") {
  budget_ledger b(10000, 100, false, budget_policy::fixed);
  budget_scope_caps caps;
  caps.per_chain = 150;
  b.set_scopes(caps);
  const std::vector<std::string> one{"chain:c-1", "step:plan"}, two{"chain:c-2"};
  CHECK(b.reserve(t("a"), std::nullopt, one).what == budget_grant::granted);
  CHECK(b.reserve(t("b"), std::nullopt, one).what == budget_grant::wait);
  CHECK(b.reserve(t("c"), std::nullopt, two).what == budget_grant::granted);
  b.settle(t("a"), 100);
  auto g = b.reserve(t("b"), std::nullopt, one);
  REQUIRE(g.what == budget_grant::refused);
  CHECK_THAT(g.refusal->message(), Catch::Contains("for chain c-1"));
}

TEST_CASE("the daily cap makes tasks wait for its reset, then they run", "[budget][scopes]") {
  std::uint64_t now = 10 * 24 * 3600 * 1000ull + 3600 * 1000ull; // day 10, 01:00 UTC
  budget_ledger b(std::nullopt, 100, false, budget_policy::fixed);
  budget_scope_caps caps;
  caps.daily = 250;
  caps.daily_reset_secs = 2 * 3600; // 02:00 UTC
  b.set_scopes(caps, [&] { return now; });
  CHECK(b.reserve(t("a"), std::nullopt).what == budget_grant::granted);
  CHECK(b.reserve(t("b"), std::nullopt).what == budget_grant::granted);
  b.settle(t("a"), 100);
  b.settle(t("b"), 100);
  CHECK_FALSE(b.admit(std::nullopt)); // the day's cap resets: admitted, it will wait
  auto g = b.reserve(t("c"), std::nullopt);
  REQUIRE(g.what == budget_grant::wait); // never refused for the day: it resets
  CHECK(g.retry_at_ms == std::optional<std::uint64_t>(10 * 24 * 3600 * 1000ull + 7200 * 1000ull));
  now += 3600 * 1000ull; // 02:00: a new day for the budget
  CHECK(b.reserve(t("c"), std::nullopt).what == budget_grant::granted);
  auto st = b.status();
  REQUIRE(st.scopes.size() == 1);
  CHECK(st.scopes[0].name == "daily");
  CHECK(st.scopes[0].spent_microdollars == 0);
  CHECK(st.scopes[0].reserved_microdollars == 100);
  CHECK(st.spent_microdollars == 200); // the pool's own total keeps counting
}

TEST_CASE("learn: scopes hold under the learning policy too", "[budget][scopes][learn]") {
  budget_ledger b(std::nullopt, 100, true, budget_policy::learn);
  budget_scope_caps caps;
  caps.per_tag = {{"x", 1000}};
  b.set_scopes(caps);
  const std::vector<std::string> x{"x"};
  auto first = b.reserve(t("a"), std::nullopt, x);
  REQUIRE(first.what == budget_grant::granted);
  CHECK(first.allowance == 1000); // slow start within the tag's cap
  b.settle(t("a"), 300);
  auto second = b.reserve(t("b"), std::nullopt, x);
  REQUIRE(second.what == budget_grant::granted);
  CHECK(second.reservation == 300);
  CHECK(second.allowance == 700);
  CHECK(b.reserve(t("c"), std::nullopt, x).what == budget_grant::granted); // 400 free > 300
  CHECK(b.reserve(t("d"), std::nullopt, x).what == budget_grant::wait);    // 100 free
  CHECK(b.track(t("b"), 350).empty()); // 300 spent + 350 + 300 held ≤ 1000: goes on
  // Another turn: 300 + 500 + 300 > 1000, and b outran its reservation: it must stop.
  CHECK_THAT(b.track(t("b"), 500),
             Catch::Contains("the budget for tag \"x\" cannot take another turn"));
  CHECK(b.track(t("c"), 300).empty()); // within its reservation: never stopped
}
