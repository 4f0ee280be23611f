#include <catch2/catch.hpp>

#include "supervision/restart_policy.hpp"

using namespace claude_pool;
using namespace std::chrono_literals;

namespace {

restart_policy policy(std::uint32_t max, std::optional<std::chrono::milliseconds> window = {}) {
  restart_policy p;
  p.max_restarts = max;
  p.window = window;
  p.backoff_min = 100ms;
  p.backoff_max = 1000ms;
  p.reset_after = 60000ms;
  return p;
}

} // namespace

TEST_CASE("restart policy defaults follow the pool config", "[restart_policy]") {
  pool_config cfg;
  auto p = restart_policy::from(cfg);
  CHECK(p.max_restarts == 3);
  CHECK_FALSE(p.window);
  cfg.restart_window_secs = 60;
  cfg.max_restarts = 5;
  p = restart_policy::from(cfg);
  CHECK(p.max_restarts == 5);
  CHECK(p.window == std::chrono::milliseconds(60000));
}

TEST_CASE("a slot is restarted at most max_restarts times over its lifetime", "[restart_policy]") {
  auto p = policy(3);
  restart_history h;
  std::uint64_t t = 1000;
  for (int i = 0; i < 3; ++i)
    CHECK(decide_restart(p, h, t += 10, 0.5).restart);
  auto last = decide_restart(p, h, t += 10, 0.5);
  CHECK_FALSE(last.restart);
  CHECK_THAT(last.reason, Catch::Contains("max_restarts 3"));
  CHECK_FALSE(may_retry(p, h, t + 1000000)); // lifetime: never retried by the periodic pass
}

TEST_CASE("backoff doubles per consecutive restart, with jitter, within min and max",
          "[restart_policy]") {
  auto p = policy(10);
  restart_history h;
  std::uint64_t t = 0;
  // Jitter 1.0 gives the full exponential delay, 0.0 half of it.
  CHECK(decide_restart(p, h, ++t, 1.0).delay == 100ms);
  CHECK(decide_restart(p, h, ++t, 1.0).delay == 200ms);
  CHECK(decide_restart(p, h, ++t, 1.0).delay == 400ms);
  CHECK(decide_restart(p, h, ++t, 0.0).delay == 400ms); // 800 ms, half fixed
  CHECK(decide_restart(p, h, ++t, 1.0).delay == 1000ms); // capped at max
  CHECK(decide_restart(p, h, ++t, 1.0).delay == 1000ms);
  for (double j : {0.0, 0.3, 0.99}) {
    restart_history fresh;
    auto d = decide_restart(p, fresh, 1, j).delay;
    CHECK(d >= 50ms);
    CHECK(d <= 100ms);
  }
}

TEST_CASE("restarts older than the window no longer count", "[restart_policy]") {
  auto p = policy(2, std::chrono::milliseconds(10000));
  restart_history h;
  CHECK(decide_restart(p, h, 1000, 0.5).restart);
  CHECK(decide_restart(p, h, 2000, 0.5).restart);
  CHECK_FALSE(decide_restart(p, h, 3000, 0.5).restart);
  CHECK_FALSE(may_retry(p, h, 5000));
  CHECK(counted_restarts(p, h, 11500) == 1);
  CHECK(may_retry(p, h, 11500));
  CHECK(decide_restart(p, h, 11500, 0.5).restart);
}

TEST_CASE("a slot healthy for reset_after since its last restart starts a clean history",
          "[restart_policy]") {
  auto p = policy(2);
  restart_history h;
  CHECK(decide_restart(p, h, 1000, 1.0).restart);
  CHECK(decide_restart(p, h, 2000, 1.0).delay == 200ms);
  // 60 s of health later: counted from zero again, and the backoff starts over.
  auto d = decide_restart(p, h, 2000 + 60000, 1.0);
  CHECK(d.restart);
  CHECK(d.delay == 100ms);
  CHECK(h.restarts_ms.size() == 1);
}
