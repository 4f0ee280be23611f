// A slot host in the same actor system as its pool (the network is CAF's business; the
// cluster integration tests cover it): scaling places slots on the host and takes them
// away, a leaving host finishes its running task first, a lost host's task fails node_lost
// and its placed slots are placed again. Scripted executors, no processes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/slot_host_actor.hpp"
#include "claude_pool/pool.hpp"
#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;
using claude_pool::testing::eventually;
using claude_pool::testing::scripted_executor;

namespace {

pool_config scalable(std::uint64_t max) {
  pool_config cfg;
  cfg.scaling.min_slots = 0;
  cfg.initial_slots = 0;
  cfg.scaling.max_slots = max;
  return cfg;
}

struct host_fixture {
  std::shared_ptr<scripted_executor> pool_exec = std::make_shared<scripted_executor>(true);
  std::shared_ptr<scripted_executor> host_exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p;
  caf::actor host;
  std::shared_ptr<std::atomic<int>> ends = std::make_shared<std::atomic<int>>(0);
  /// Why the host ended (written before `ends` counts it).
  std::shared_ptr<std::string> end_reason = std::make_shared<std::string>();

  host_fixture(std::uint64_t own, std::uint64_t capacity, pool_config cfg = scalable(4))
    : p(std::move(cfg), [this] {
        pool_options o;
        o.executor = pool_exec;
        return o;
      }()) {
    slot_host_deps deps;
    deps.pool = p.handle();
    deps.node = "h";
    deps.slots = own;
    deps.capacity = capacity;
    deps.executor = host_exec;
    deps.on_end = [ends = ends, reason = end_reason](const std::string& why) {
      *reason = why;
      ++*ends;
    };
    host = p.system().spawn(slot_host_behavior, std::move(deps));
  }

  std::size_t on_host() {
    auto slots = p.status().slots;
    return static_cast<std::size_t>(std::count_if(slots.begin(), slots.end(), [](auto& s) {
      return s.node == std::optional<std::string>("h");
    }));
  }
  std::size_t local() { return p.status().slots.size() - on_host(); }
};

/// The pool's events about one slot, oldest first.
std::vector<pool_event> events_of(claude_pool::pool& p, const std::string& slot) {
  std::vector<pool_event> out;
  for (auto& e : p.status().events)
    if (e.slot_id && e.slot_id->value == slot)
      out.push_back(e);
  return out;
}

std::vector<pool_event> of_kind(const std::vector<pool_event>& events, const std::string& kind) {
  std::vector<pool_event> out;
  std::copy_if(events.begin(), events.end(), std::back_inserter(out),
               [&](auto& e) { return e.kind == kind; });
  return out;
}

task_result scripted_failure(std::string subtype, std::optional<int> api = {}) {
  auto r = task_result::failure("scripted " + subtype, std::move(subtype));
  r.api_error_status = api;
  return r;
}

bool has_slot(claude_pool::pool& p, const std::string& id) {
  auto slots = p.status().slots;
  return std::any_of(slots.begin(), slots.end(), [&](auto& s) { return s.id.value == id; });
}

} // namespace

TEST_CASE("scaling places slots on a slot host with room and takes them away again",
          "[cluster][scaling]") {
  host_fixture f(1, 3);
  REQUIRE(eventually([&] { return f.on_host() == 1; }));
  CHECK(f.p.set_target(3) == 3); // the host has room for 2 more, the third is local
  REQUIRE(eventually([&] { return f.on_host() == 3 && f.local() == 1; }));

  // The host's slots run tasks like the pool's own.
  auto id = f.p.submit("on any slot");
  if (!f.host_exec->wait_for_started(1) || f.host_exec->live() == 0) {
    // routed to the local slot (automatic): fine, it completed
  } else {
    f.host_exec->finish(id);
  }
  CHECK(f.p.wait(id).state == task_state::completed);

  // Scaling down takes away the slots it added (placed or local), never the host's own.
  CHECK(f.p.set_target(0) == 0);
  REQUIRE(eventually([&] { return f.on_host() == 1 && f.local() == 0; }));
  CHECK(has_slot(f.p, "h/slot-0"));
  // …and the host has room again.
  CHECK(f.p.set_target(2) == 2);
  REQUIRE(eventually([&] { return f.on_host() == 3; }));
  CHECK(f.local() == 0);
  CHECK(*f.ends == 0);
}

TEST_CASE("a leaving slot host finishes its running task, its placed slots go elsewhere",
          "[cluster][scaling]") {
  host_fixture f(1, 2);
  REQUIRE(eventually([&] { return f.on_host() == 1; }));
  CHECK(f.p.set_target(1) == 1);
  REQUIRE(eventually([&] { return f.on_host() == 2; }));
  auto running = f.p.submit("long one");
  REQUIRE(f.host_exec->wait_for_live(1));

  caf::scoped_actor self{f.p.system()};
  self->monitor(f.host);
  caf::anon_send(f.host, leave_atom_v, std::uint64_t{60000});
  // The idle slot stops at once; the placed one is placed again, here (no other host).
  REQUIRE(eventually([&] { return f.on_host() == 1 && f.local() == 1; }));
  auto next = f.p.submit("after the leave");
  CHECK(f.p.wait(next).state == task_state::completed);
  CHECK(f.host_exec->requests().size() == 1); // nothing more was routed to the host

  REQUIRE(f.host_exec->finish(running));
  CHECK(f.p.wait(running).state == task_state::completed);
  bool down = false;
  self->receive([&](const caf::down_msg&) { down = true; },
                caf::after(std::chrono::seconds(30)) >> [] {});
  CHECK(down);
  CHECK(eventually([&] { return f.on_host() == 0; }));
  CHECK(*f.ends == 0); // a leave that completes is no error
  CHECK(f.p.status().target_slots == 1);
}

TEST_CASE("a leaving slot host stops what still runs at its deadline", "[cluster]") {
  host_fixture f(1, 1);
  REQUIRE(eventually([&] { return f.on_host() == 1; }));
  auto running = f.p.submit("never finishes");
  REQUIRE(f.host_exec->wait_for_live(1));
  caf::anon_send(f.host, leave_atom_v, std::uint64_t{50});
  REQUIRE(f.host_exec->wait_for_cancels(1)); // its process is stopped, not left behind
  auto rec = f.p.wait(running);
  CHECK(rec.state == task_state::failed);
  REQUIRE(rec.result);
  CHECK(rec.result->subtype == "node_lost");
}

TEST_CASE("a lost slot host: its task fails node_lost, its placed slots are placed again",
          "[cluster][scaling]") {
  host_fixture f(0, 2);
  // A host with no slots of its own shows up only in the events: scale once it has joined,
  // or the slots go to the pool itself.
  REQUIRE(eventually([&] {
    auto events = f.p.status().events;
    return std::any_of(events.begin(), events.end(),
                       [](auto& e) { return e.kind == "node_joined"; });
  }));
  CHECK(f.p.set_target(2) == 2);
  REQUIRE(eventually([&] { return f.on_host() == 2; }));
  auto running = f.p.submit("lost with its node");
  REQUIRE(f.host_exec->wait_for_live(1));
  caf::anon_send_exit(f.host, caf::exit_reason::user_shutdown);
  REQUIRE(f.host_exec->wait_for_cancels(1));
  auto rec = f.p.wait(running);
  CHECK(rec.state == task_state::failed);
  REQUIRE(rec.result);
  CHECK(rec.result->subtype == "node_lost");
  REQUIRE(eventually([&] { return f.on_host() == 0 && f.local() == 2; }));
  CHECK(f.p.status().target_slots == 2);
  auto next = f.p.submit("runs here now");
  CHECK(f.p.wait(next).state == task_state::completed);
}

TEST_CASE("a slot host's refused login opens the pool's breaker and the slot is not restarted",
          "[cluster][supervision]") {
  auto cfg = scalable(4);
  cfg.restart_backoff_min_ms = 10;
  cfg.restart_backoff_max_ms = 40;
  cfg.auth_probe_secs = 3600;
  host_fixture f(1, 1, cfg);
  f.host_exec->answer = [](const execution_request&) { return scripted_failure("success", 401); };
  REQUIRE(eventually([&] { return f.on_host() == 1; }));
  auto id = f.p.submit("with a bad key");
  REQUIRE(f.host_exec->wait_for_live(1));
  REQUIRE(f.host_exec->finish(id));
  CHECK(f.p.wait(id).state == task_state::failed);

  // The host reported the refusal upward with its result: the pool stops routing to every
  // slot of the credential, and names the host's slot in the event.
  REQUIRE(eventually([&] { return !of_kind(events_of(f.p, "h/slot-0"), "auth_failed").empty(); }));
  auto next = f.p.wait(f.p.submit("would be refused too"));
  CHECK(next.state == task_state::failed);
  CHECK(next.result->subtype == "auth_failed");
  // No restart loop: the slot stays, and no further request reached the host's CLI.
  auto events = events_of(f.p, "h/slot-0");
  CHECK(of_kind(events, "slot_restarting").empty());
  CHECK(of_kind(events, "slot_restarted").empty());
  CHECK(f.host_exec->requests().size() == 1);
  CHECK(f.on_host() == 1);
  CHECK(*f.ends == 0);
}

TEST_CASE("a slot host restarts a crashing slot with backoff and gives up after max_restarts",
          "[cluster][supervision]") {
  auto cfg = scalable(4);
  cfg.max_restarts = 2;
  cfg.restart_backoff_min_ms = 100;
  cfg.restart_backoff_max_ms = 400;
  host_fixture f(1, 1, cfg);
  f.host_exec->answer = [](const execution_request&) { return scripted_failure("crashed"); };
  REQUIRE(eventually([&] { return f.on_host() == 1; }));
  // Each crash stops the slot; the next task waits in the queue for its restart.
  for (std::size_t i = 0; i < 3; ++i) {
    auto id = f.p.submit("crash " + std::to_string(i));
    REQUIRE(f.host_exec->wait_for_started(i + 1));
    REQUIRE(f.host_exec->finish(id));
    CHECK(f.p.wait(id).result->subtype == "crashed");
  }
  REQUIRE(eventually([&] { return *f.ends == 1; }));
  CHECK_THAT(*f.end_reason, Catch::Contains("max_restarts 2"));

  REQUIRE(eventually([&] { return !of_kind(events_of(f.p, "h/slot-0"), "slot_errored").empty(); }));
  auto events = events_of(f.p, "h/slot-0");
  auto restarting = of_kind(events, "slot_restarting");
  auto restarted = of_kind(events, "slot_restarted");
  REQUIRE(restarting.size() == 2);
  REQUIRE(restarted.size() == 2);
  CHECK_THAT(restarted[0].message, Catch::Contains("restart 1 of at most 2"));
  CHECK_THAT(restarted[1].message, Catch::Contains("restart 2 of at most 2"));
  // Backoff with "equal jitter": the first wait is at least half of backoff_min, the second
  // (doubled) at least backoff_min. Timers never fire early, so these bounds are safe.
  CHECK(restarted[0].at_ms - restarting[0].at_ms >= 50);
  CHECK(restarted[1].at_ms - restarting[1].at_ms >= 100);
  auto errored = of_kind(events, "slot_errored");
  REQUIRE(errored.size() == 1);
  CHECK_THAT(errored[0].message, Catch::Contains("max_restarts 2"));
  CHECK(f.host_exec->requests().size() == 3);
}
