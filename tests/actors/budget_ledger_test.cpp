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
  CHECK(g.allowance == 1000);
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
                                     && Catch::Contains("$0.003000 a task reserves"));
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
