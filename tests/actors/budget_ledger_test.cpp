#include <catch2/catch.hpp>

#include "actors/budget_ledger.hpp"

using namespace claude_pool;

TEST_CASE("without a cap every task is admitted and spend is counted", "[budget]") {
  budget_ledger b(std::nullopt, 1000);
  CHECK_FALSE(b.reserve(task_id{"a"}, std::nullopt));
  CHECK(b.allowance(task_id{"a"}) == 1000);
  CHECK(b.settle(task_id{"a"}, 1234).empty());
  CHECK(b.spent() == 1234);
  CHECK(b.reserved() == 0);
}

TEST_CASE("reservations keep concurrent tasks inside the cap", "[budget]") {
  budget_ledger b(10000, 3000);
  CHECK_FALSE(b.reserve(task_id{"a"}, std::nullopt));
  CHECK_FALSE(b.reserve(task_id{"b"}, std::nullopt));
  CHECK_FALSE(b.reserve(task_id{"c"}, std::nullopt));
  // 1000 left: the default reservation shrinks to fit, then nothing is left.
  CHECK_FALSE(b.reserve(task_id{"d"}, std::nullopt));
  CHECK(b.allowance(task_id{"d"}) == 1000);
  auto refused = b.reserve(task_id{"e"}, std::nullopt);
  REQUIRE(refused);
  CHECK(refused->code == "budget_exhausted");
  CHECK_THAT(refused->message(), Catch::Contains("$0.010000 cap"));
  // A task that spent less than reserved gives the rest back.
  b.settle(task_id{"a"}, 500);
  CHECK(b.available() == 2500);
  CHECK_FALSE(b.reserve(task_id{"e"}, std::nullopt));
}

TEST_CASE("a task's own budget larger than what remains is refused with the figures",
          "[budget]") {
  budget_ledger b(10000, 1000);
  b.reserve(task_id{"a"}, 9000);
  auto refused = b.reserve(task_id{"b"}, 2000);
  REQUIRE(refused);
  CHECK(refused->code == "task_budget_exceeds_remaining");
  CHECK(refused->requested == 2000);
  CHECK(refused->reserved == 9000);
  CHECK_THAT(refused->message(), Catch::Contains("$0.002000"));
  CHECK_FALSE(b.reserve(task_id{"c"}, 1000));
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
}

TEST_CASE("a released reservation is available again", "[budget]") {
  budget_ledger b(1000, 600);
  b.reserve(task_id{"a"}, std::nullopt);
  b.release(task_id{"a"});
  CHECK(b.reserved() == 0);
  CHECK(b.available() == 1000);
}
