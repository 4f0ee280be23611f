// Scaling through the facade with a scripted executor: bounds, idle-first scale-down,
// busy slots finishing or force-cancelled, autoscaling. No processes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "claude_pool/pool.hpp"
#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;
using claude_pool::testing::eventually;
using claude_pool::testing::scripted_executor;

namespace {

pool_config bounded(std::uint64_t min, std::uint64_t initial, std::uint64_t max) {
  pool_config cfg;
  cfg.scaling.min_slots = min;
  cfg.scaling.max_slots = max;
  cfg.initial_slots = initial;
  return cfg;
}

pool_options with(std::shared_ptr<task_executor> exec) {
  pool_options o;
  o.executor = std::move(exec);
  return o;
}

std::vector<std::string> slot_names(claude_pool::pool& p) {
  std::vector<std::string> out;
  for (auto& s : p.status().slots)
    out.push_back(s.id.value);
  return out;
}

template <class F>
std::string refusal_of(F&& f) {
  try {
    f();
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::out_of_bounds);
    return e.what();
  }
  return "(not refused)";
}

} // namespace

TEST_CASE("scaling requests outside the bounds are refused, naming the bound", "[scaling]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(bounded(1, 2, 3), with(exec));
  CHECK_THAT(refusal_of([&] { p.scale_up(2); }), Catch::Contains("scaling.max_slots (3)"));
  CHECK_THAT(refusal_of([&] { p.scale_down(2); }), Catch::Contains("scaling.min_slots (1)"));
  CHECK_THAT(refusal_of([&] { p.set_target(9); }), Catch::Contains("scaling.max_slots"));
  CHECK(p.status().target_slots == 2);
  CHECK(p.set_target(3) == 3);
  REQUIRE(eventually([&] { return p.status().slots.size() == 3; }));
  CHECK(p.status().target_slots == 3);
  // The initial count is checked too.
  auto bad = bounded(2, 5, 4);
  CHECK_THROWS_WITH(claude_pool::pool(bad, with(exec)),
                    Catch::Contains("initial_slots") && Catch::Contains("2..4"));
}

TEST_CASE("new slots are supervised like the first ones and take tasks", "[scaling]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(bounded(1, 1, 4), with(exec));
  CHECK(p.scale_up(2) == 3);
  std::vector<task_id> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(p.submit("t" + std::to_string(i)));
  REQUIRE(exec->wait_for_live(3));
  auto names = slot_names(p);
  CHECK(names == std::vector<std::string>{"slot-0", "slot-1", "slot-2"});
  for (auto& id : ids)
    exec->finish(id);
  for (auto& id : ids)
    CHECK(p.wait(id).state == task_state::completed);
}

TEST_CASE("scale-down stops idle slots first, least recently used first", "[scaling]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(bounded(1, 3, 3), with(exec));
  // The most recently idle slot takes each task; the one that ran last is the freshest.
  auto last = p.run("warm up");
  REQUIRE(last.slot_id);
  CHECK(p.scale_down(2) == 1);
  REQUIRE(eventually([&] { return p.status().slots.size() == 1; }));
  CHECK(slot_names(p) == std::vector<std::string>{last.slot_id->value});
  CHECK(p.run("still works").state == task_state::completed);
}

TEST_CASE("a busy slot chosen for scale-down finishes its task, then stops", "[scaling]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(bounded(1, 2, 2), with(exec));
  auto a = p.submit("a");
  auto b = p.submit("b");
  REQUIRE(exec->wait_for_live(2));
  CHECK(p.scale_down(1) == 1);
  // Both still run; neither record is touched.
  CHECK(p.status().slots.size() == 2);
  CHECK(p.result(a).state == task_state::running);
  CHECK(p.result(b).state == task_state::running);
  exec->finish(a);
  exec->finish(b);
  CHECK(p.wait(a).state == task_state::completed);
  CHECK(p.wait(b).state == task_state::completed);
  REQUIRE(eventually([&] { return p.status().slots.size() == 1; }));
  auto st = p.status();
  CHECK(std::any_of(st.events.begin(), st.events.end(),
                    [](auto& ev) { return ev.kind == "slot_retired"; }));
}

TEST_CASE("a forced scale-down cancels the busy slot's task and stops it", "[scaling]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(bounded(1, 2, 2), with(exec));
  auto a = p.submit("a");
  auto b = p.submit("b");
  REQUIRE(exec->wait_for_live(2));
  CHECK(p.scale_down(1, true) == 1);
  REQUIRE(exec->wait_for_cancels(1));
  REQUIRE(eventually([&] {
    return p.result(a).state == task_state::cancelled || p.result(b).state == task_state::cancelled;
  }));
  bool a_cancelled = p.result(a).state == task_state::cancelled;
  auto cancelled = p.wait(a_cancelled ? a : b);
  auto other = a_cancelled ? b : a;
  CHECK(p.result(other).state == task_state::running);
  CHECK_THAT(cancelled.result->output, Catch::Contains("forced scale-down"));
  REQUIRE(eventually([&] { return p.status().slots.size() == 1; }));
  exec->finish(other);
  CHECK(p.wait(other).state == task_state::completed);
}

TEST_CASE("autoscaling grows while tasks wait and shrinks back when idle", "[scaling]") {
  auto exec = std::make_shared<scripted_executor>(false);
  auto cfg = bounded(1, 1, 4);
  cfg.scaling.autoscale.emplace();
  cfg.scaling.autoscale->interval_ms = 20;
  cfg.scaling.autoscale->scale_down_idle_secs = 0;
  claude_pool::pool p(cfg, with(exec));
  std::vector<task_id> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(p.submit("t" + std::to_string(i)));
  REQUIRE(exec->wait_for_live(4)); // grew to max_slots, not beyond
  CHECK(p.status().slots.size() == 4);
  CHECK(exec->max_running() == 4);
  // Finish whatever runs until every task has completed (the last two start only as slots
  // free up).
  REQUIRE(eventually([&] {
    for (auto& id : ids)
      exec->finish(id);
    return std::all_of(ids.begin(), ids.end(), [&](auto& id) {
      return p.result(id).state == task_state::completed;
    });
  }));
  REQUIRE(eventually([&] { return p.status().slots.size() == 1; }));
  auto st = p.status();
  CHECK(st.target_slots == 1);
  CHECK(std::any_of(st.events.begin(), st.events.end(),
                    [](auto& ev) { return ev.kind == "autoscaled"; }));
}
