// The stall watchdog (runtime/cli/stall_watchdog.hpp) with a real timer thread.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "../../support/eventually.hpp"
#include "runtime/cli/stall_watchdog.hpp"

using namespace claude_pool;
using namespace std::chrono_literals;

TEST_CASE("a run that prints nothing is stopped once", "[stall]") {
  runtime::timer_thread timers;
  std::atomic<int> stops{0};
  auto w = stall_watchdog::start(timers, 100ms, [&] { ++stops; });
  REQUIRE(claude_pool::testing::eventually([&] { return stops.load() == 1; }));
  CHECK(w->fired());
  w->finished();
  CHECK(stops.load() == 1);
}

TEST_CASE("output keeps a run alive and finishing ends the watch", "[stall]") {
  runtime::timer_thread timers;
  std::atomic<int> stops{0};
  auto w = stall_watchdog::start(timers, 400ms, [&] { ++stops; });
  // Output every 20 ms for well over the limit: never 400 ms of silence.
  auto until = std::chrono::steady_clock::now() + 1200ms;
  while (std::chrono::steady_clock::now() < until) {
    w->output();
    std::this_thread::sleep_for(20ms);
  }
  w->finished();
  CHECK_FALSE(w->fired());
  CHECK(stops.load() == 0);
}
