// The supervisor on its own, with children that are not slots: trivial actors that stop with
// whatever error they are sent. It restarts, gives up, disables, names, retires and stops
// them from its child spec alone, which proves it generic.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "supervision/supervisor_actor.hpp"

using namespace claude_pool;

namespace {

/// A child that is not a slot: it stops with the error it is sent. (It takes its id: CAF 0.17
/// dereferences a null argument tuple when a function actor is spawned without arguments.)
caf::behavior stoppable(caf::event_based_actor* self, slot_id) {
  return {[self](caf::error& reason) { self->quit(std::move(reason)); }};
}

/// What the child spec saw, written from the supervisor's thread and read by the test.
struct recorder {
  struct start {
    slot_record record;
    caf::actor handle;
    bool added;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<start> starts;
  std::vector<std::pair<slot_record, pool_event>> events;

  bool wait_until(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(30), pred);
  }
  bool wait_for_starts(std::size_t n) {
    return wait_until([&] { return starts.size() >= n; });
  }
  bool wait_for_event(const std::string& kind) {
    return wait_until([&] {
      for (auto& e : events)
        if (e.second.kind == kind)
          return true;
      return false;
    });
  }
  std::size_t count(const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex);
    std::size_t n = 0;
    for (auto& e : events)
      n += e.second.kind == kind;
    return n;
  }
  start nth_start(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    return starts.at(i);
  }
};

supervisor_setup trivial_children(std::shared_ptr<recorder> rec, std::size_t initial) {
  supervisor_setup setup;
  setup.spec.start = [rec](supervisor_actor::pointer self, const slot_record& r, bool added) {
    auto child = self->spawn(stoppable, r.id);
    {
      std::lock_guard<std::mutex> lock(rec->mutex);
      rec->starts.push_back({r, child, added});
    }
    rec->changed.notify_all();
    return child;
  };
  setup.spec.report = [rec](supervisor_actor::pointer, const slot_record& r, pool_event ev) {
    {
      std::lock_guard<std::mutex> lock(rec->mutex);
      rec->events.emplace_back(r, std::move(ev));
    }
    rec->changed.notify_all();
  };
  setup.policy.max_restarts = 1;
  setup.policy.backoff_min = std::chrono::milliseconds(10);
  setup.policy.backoff_max = std::chrono::milliseconds(40);
  setup.initial.resize(initial);
  return setup;
}

struct system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  system_fixture() {
    cfg.add_message_types<caf::id_block::claude_pool>();
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

} // namespace

TEST_CASE("the supervisor restarts a child that is not a slot, then gives up past max_restarts",
          "[supervision][supervisor]") {
  system_fixture f;
  auto rec = std::make_shared<recorder>();
  auto sup = f.sys->spawn(supervisor_behavior, trivial_children(rec, 1));
  REQUIRE(rec->wait_for_starts(1));
  auto first = rec->nth_start(0);
  CHECK(first.record.id.value == "slot-0");
  CHECK(first.record.restart_count == 0);
  CHECK_FALSE(first.added);

  caf::anon_send(first.handle, caf::make_error(pool_errc::slot_unhealthy, "crash: boom"));
  REQUIRE(rec->wait_for_starts(2));
  auto second = rec->nth_start(1);
  CHECK(second.record.id.value == "slot-0");
  CHECK(second.record.restart_count == 1);
  CHECK(rec->count("slot_restarting") == 1);
  CHECK(rec->count("slot_restarted") == 1);

  caf::anon_send(second.handle, caf::make_error(pool_errc::slot_unhealthy, "crash: again"));
  REQUIRE(rec->wait_for_event("slot_errored"));
  {
    std::lock_guard<std::mutex> lock(rec->mutex);
    auto& [record, ev] = rec->events.back();
    CHECK(record.state == slot_state::errored);
    REQUIRE(record.last_error);
    CHECK_THAT(*record.last_error, Catch::Contains("max_restarts 1"));
    CHECK(ev.slot_id == slot_id{"slot-0"});
    CHECK(rec->starts.size() == 2);
  }
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE("the supervisor never restarts a disabled child, names added ones and retires them",
          "[supervision][supervisor]") {
  system_fixture f;
  auto rec = std::make_shared<recorder>();
  auto setup = trivial_children(rec, 1);
  setup.spec.node = "n";
  auto sup = f.sys->spawn(supervisor_behavior, std::move(setup));
  REQUIRE(rec->wait_for_starts(1));
  auto first = rec->nth_start(0);
  CHECK(first.record.id.value == "n/slot-0");
  CHECK(first.record.node == std::optional<std::string>("n"));

  caf::anon_send(first.handle,
                 caf::make_error(pool_errc::slot_disabled, "authentication failed: 401"));
  REQUIRE(rec->wait_for_event("auth_failed"));
  CHECK(rec->count("slot_restarting") == 0);

  // Messages to the supervisor are handled in order: once the added child is up, a restart
  // of the disabled one would already have been announced.
  caf::anon_send(sup, add_slots_atom_v, std::uint64_t{1});
  REQUIRE(rec->wait_for_starts(2));
  auto added = rec->nth_start(1);
  CHECK(added.record.id.value == "n/slot-1");
  CHECK(added.added);
  CHECK(rec->count("slot_restarting") == 0);

  caf::scoped_actor self{*f.sys};
  self->monitor(added.handle);
  caf::anon_send(sup, retire_atom_v, slot_id{"n/slot-1"});
  bool down = false;
  self->receive([&](const caf::down_msg& dm) { down = dm.reason == caf::exit_reason::user_shutdown; },
                caf::after(std::chrono::seconds(30)) >> [] {});
  CHECK(down);
  // A retired child is not restarted: the next child gets the next name.
  caf::anon_send(sup, add_slots_atom_v, std::uint64_t{1});
  REQUIRE(rec->wait_for_starts(3));
  CHECK(rec->nth_start(2).record.id.value == "n/slot-2");
  CHECK(rec->count("slot_restarted") == 0);
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
}

TEST_CASE("the supervisor's children stop with its owner", "[supervision][supervisor]") {
  system_fixture f;
  auto rec = std::make_shared<recorder>();
  auto owner = f.sys->spawn(
    [](caf::event_based_actor*, int) -> caf::behavior { return {[](int) {}}; }, 0);
  auto setup = trivial_children(rec, 2);
  setup.owner = owner;
  auto sup = f.sys->spawn(supervisor_behavior, std::move(setup));
  REQUIRE(rec->wait_for_starts(2));
  caf::scoped_actor self{*f.sys};
  self->monitor(rec->nth_start(0).handle);
  self->monitor(rec->nth_start(1).handle);
  self->monitor(sup);
  caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  int downs = 0;
  for (int i = 0; i < 3; ++i)
    self->receive([&](const caf::down_msg&) { ++downs; },
                  caf::after(std::chrono::seconds(30)) >> [] {});
  CHECK(downs == 3);
  CHECK(rec->count("slot_restarting") == 0); // stopped, not failed
}
