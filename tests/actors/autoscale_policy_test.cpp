#include <catch2/catch.hpp>

#include "actors/autoscale_policy.hpp"

using namespace claude_pool;

namespace {

scaling_config bounds(std::uint64_t min, std::uint64_t max) {
  scaling_config s;
  s.min_slots = min;
  s.max_slots = max;
  s.autoscale.emplace();
  s.autoscale->scale_down_idle_secs = 10;
  return s;
}

pool_load load(std::uint64_t slots, std::uint64_t busy, std::uint64_t pending,
               std::vector<std::uint64_t> idle_since = {}) {
  return pool_load{slots, busy, pending, std::move(idle_since)};
}

} // namespace

TEST_CASE("autoscale grows by every waiting task at once, up to max_slots", "[autoscale]") {
  auto s = bounds(1, 8);
  CHECK(decide_autoscale(s, 2, load(2, 2, 3), 0).delta == 3);
  CHECK(decide_autoscale(s, 2, load(2, 2, 30), 0).delta == 6); // capped at max_slots
  CHECK(decide_autoscale(s, 8, load(8, 8, 30), 0).delta == 0);
  s.autoscale->scale_up_step = 2;
  CHECK(decide_autoscale(s, 2, load(2, 2, 30), 0).delta == 2);
}

TEST_CASE("autoscale does not grow while a slot is idle or slots are still starting",
          "[autoscale]") {
  auto s = bounds(1, 8);
  CHECK(decide_autoscale(s, 2, load(2, 1, 3, {100}), 1000).delta == 0);
  // Asked for 5, only 2 up yet: 3 are coming for the 3 waiting tasks.
  CHECK(decide_autoscale(s, 5, load(2, 2, 3), 0).delta == 0);
  CHECK(decide_autoscale(s, 5, load(2, 2, 4), 0).delta == 1);
}

TEST_CASE("autoscale shrinks slowly, only slots idle long enough, never below min_slots",
          "[autoscale]") {
  auto s = bounds(2, 8);
  std::uint64_t now = 100000;
  // Three slots idle for 20 s, one for 1 s: one slot per look (scale_down_step 1).
  auto d = decide_autoscale(s, 6, load(6, 2, 0, {now - 20000, now - 20000, now - 20000,
                                                  now - 1000}), now);
  CHECK(d.delta == -1);
  CHECK_THAT(d.why, Catch::Contains("3 slot(s) idle"));
  s.autoscale->scale_down_step = 5;
  CHECK(decide_autoscale(s, 6, load(6, 2, 0, {now - 20000, now - 20000, now - 20000}), now)
          .delta
        == -3);
  CHECK(decide_autoscale(s, 3, load(3, 0, 0, {now - 20000, now - 20000, now - 20000}), now)
          .delta
        == -1); // min_slots 2
  CHECK(decide_autoscale(s, 6, load(6, 2, 0, {now - 1000}), now).delta == 0);
  // Waiting tasks: never shrink.
  CHECK(decide_autoscale(s, 6, load(6, 5, 1, {now - 20000}), now).delta == 0);
}

TEST_CASE("without scaling.autoscale the policy never acts", "[autoscale]") {
  scaling_config s;
  s.max_slots = 8;
  CHECK(decide_autoscale(s, 1, load(1, 1, 10), 0).delta == 0);
}
