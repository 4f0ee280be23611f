// A node publishes only the pool's client protocol. A peer that connects with the client
// interface and then sends the pool's internal messages anyway (a hand-written CAF peer can
// cast any handle) meets the gate: an error for each, and the pool is untouched.
#include <catch2/catch.hpp>

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;

namespace {

struct served_pool {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<claude_pool::pool> p;
  std::uint16_t port = 0;

  served_pool() {
    configure_node(cfg, tls_options{});
    sys = std::make_unique<caf::actor_system>(cfg);
    pool_config pc;
    pc.initial_slots = 1;
    pc.scaling.min_slots = 0;
    pc.scaling.max_slots = 4;
    pool_options o;
    o.executor = std::make_shared<testing::scripted_executor>(true);
    p = std::make_unique<claude_pool::pool>(*sys, pc, o);
    port = publish_pool(*sys, p->handle(), node_options{});
  }
};

struct client_node {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  client_node() {
    configure_node(cfg, tls_options{});
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

/// Sends `xs` as a request and returns the error it met (none when it was accepted).
template <class... Ts>
caf::error answer_to(caf::scoped_actor& self, const caf::actor& dest, Ts... xs) {
  caf::error out;
  self->request(dest, std::chrono::seconds(30), xs...)
    .receive([] {}, [&](caf::error& err) { out = std::move(err); });
  return out;
}

} // namespace

TEST_CASE("a remote caller that sends the pool an internal message gets an error, not an effect",
          "[node]") {
  served_pool server;
  client_node client;
  auto remote = connect_pool(*client.sys, "127.0.0.1", server.port, tls_options{});
  auto raw = caf::actor_cast<caf::actor>(remote); // what a hand-written peer can always do
  caf::scoped_actor self{*client.sys};

  // Scaler, timer, supervisor and slot-host messages of the pool's own traffic.
  CHECK(answer_to(self, raw, add_slots_atom_v, std::uint64_t{3}) == caf::sec::unexpected_message);
  CHECK(answer_to(self, raw, retire_atom_v, std::uint64_t{1}, true)
        == caf::sec::unexpected_message);
  CHECK(answer_to(self, raw, expire_atom_v) == caf::sec::unexpected_message);
  CHECK(answer_to(self, raw, event_atom_v, pool_event{1, "forged", std::nullopt, "x"})
        == caf::sec::unexpected_message);
  CHECK(answer_to(self, raw, leave_atom_v, std::string("h")) == caf::sec::unexpected_message);

  // No effect: still the one slot, no forged event; the client protocol itself still works
  // through the very same handle.
  pool_status st;
  self->request(raw, std::chrono::seconds(30), status_atom_v)
    .receive([&](pool_status& s) { st = std::move(s); },
             [](caf::error& err) { FAIL("status failed: " << to_string(err)); });
  CHECK(st.slots.size() == 1);
  for (auto& ev : st.events)
    CHECK(ev.kind != "forged");
  CHECK(server.p->status().slots.size() == 1);
}

TEST_CASE("a typed connect that names the pool's internal interface is refused", "[node]") {
  served_pool server;
  client_node client;
  auto handle = client.sys->middleman().remote_actor<pool_actor>("127.0.0.1", server.port);
  CHECK_FALSE(handle);
}
