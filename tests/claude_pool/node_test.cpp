// A node lets in only peers with credentials, and then only the pool's client protocol, as
// their role allows. Played as an attacker would: a plain CAF peer without a token, a wrong
// token, raw bytes, a peer with a valid token that sends the pool's internal messages anyway
// (a hand-written CAF peer can cast any handle), a submit-role peer that scales.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"
#include "runtime/node/node_tokens.hpp"
#include "runtime/node/node_transport.hpp"
#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"
#include "../support/temp_dir.hpp"

using namespace claude_pool;

namespace {

struct served_pool {
  testing::temp_dir tokens{"claude-pool-node-test"};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::unique_ptr<claude_pool::pool> p;
  std::unique_ptr<published_pool> published;
  std::uint16_t port = 0;

  std::string admin_token() const { return read_token_file(tokens / "admin.token"); }
  std::string submit_token() const { return read_token_file(tokens / "submit.token"); }

  std::shared_ptr<testing::scripted_executor> executor;

  explicit served_pool(bool automatic = true, std::uint64_t max_pending = 64) {
    configure_node(cfg, tls_options{});
    sys = std::make_unique<caf::actor_system>(cfg);
    pool_config pc;
    pc.initial_slots = 1;
    pc.scaling.min_slots = 0;
    pc.scaling.max_slots = 4;
    pc.remote.max_pending_per_client = max_pending;
    pool_options o;
    executor = std::make_shared<testing::scripted_executor>(automatic);
    o.executor = executor;
    // What the gates and the listener report, visible when a test fails.
    o.on_event = [](const pool_event& ev) {
      std::fprintf(stderr, "pool event %s: %s\n", ev.kind.c_str(), ev.message.c_str());
    };
    p = std::make_unique<claude_pool::pool>(*sys, pc, o);
    node_options node;
    node.token_dir = tokens.path;
    published = publish_pool(*sys, *p, node);
    port = published->port();
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
  auto remote = connect_pool(*client.sys, "127.0.0.1", server.port,
                             node_credentials{{}, server.admin_token()});
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

namespace {

/// The pool error a call threw, or none.
template <class F>
std::optional<pool_errc> thrown(F f, std::string* message = nullptr) {
  try {
    f();
  } catch (const pool_error& e) {
    if (message)
      *message = e.what();
    return e.code;
  }
  return std::nullopt;
}

bool has_event(claude_pool::pool& p, const std::string& kind, const std::string& part) {
  for (auto& ev : p.status().events)
    if (ev.kind == kind && ev.message.find(part) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("a peer without a token reaches nothing: the connection is dropped and logged",
          "[node][auth]") {
  served_pool server;
  client_node client;
  // A plain CAF peer, as any program linked with CAF can be: no credentials at all.
  auto handle = client.sys->middleman().remote_actor<pool_client_actor>("127.0.0.1", server.port);
  CHECK_FALSE(handle);
  CHECK(testing::eventually([&] { return server.published->refused() >= 1; }));
  // "presented no token" or "closed the connection before presenting a token": CAF gives up
  // on a silent server after its own timeout.
  CHECK(testing::eventually([&] { return has_event(*server.p, "client_refused", "token"); }));
  CHECK(server.p->list().empty());
  // Through the library without a token: a clear error that names the way in.
  std::string why;
  CHECK(thrown([&] { connect_pool(*client.sys, "127.0.0.1", server.port, {}); }, &why)
        == pool_errc::node_unreachable);
  CHECK_THAT(why, Catch::Contains("--token-file"));
}

TEST_CASE("a wrong token is refused by name and changes nothing", "[node][auth]") {
  served_pool server;
  client_node client;
  std::string why;
  auto code = thrown(
    [&] {
      connect_pool(*client.sys, "127.0.0.1", server.port, node_credentials{{}, generate_token()});
    },
    &why);
  CHECK(code == pool_errc::not_authenticated);
  CHECK_THAT(why, Catch::Contains("refused the token"));
  CHECK(testing::eventually([&] { return has_event(*server.p, "client_refused", "wrong token"); }));
  CHECK(server.p->list().empty());
  CHECK(server.p->status().slots.size() == 1);
}

TEST_CASE("raw bytes instead of credentials get the connection closed", "[node][auth]") {
  served_pool server;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string junk(200, 'x');
  ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  pollfd pfd{fd, POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 30000) == 1);
  char buf[64];
  auto n = ::recv(fd, buf, sizeof buf, 0);
  CHECK(n <= 0); // closed without a byte of BASP
  ::close(fd);
  CHECK(testing::eventually([&] { return server.published->refused() >= 1; }));
}

TEST_CASE("a submit-role client submits and reads its own tasks, and nothing more",
          "[node][auth]") {
  served_pool server;
  client_node admin_side;
  client_node submit_side;
  auto admin = connect_pool(*admin_side.sys, "127.0.0.1", server.port,
                            node_credentials{{}, server.admin_token()});
  auto submitter = connect_pool(*submit_side.sys, "127.0.0.1", server.port,
                                node_credentials{{}, server.submit_token()});
  caf::scoped_actor as{*admin_side.sys};
  caf::scoped_actor ss{*submit_side.sys};
  auto ask_id = [](caf::scoped_actor& self, const pool_client_actor& to, std::string prompt) {
    task_id id;
    self->request(to, std::chrono::seconds(30), submit_atom_v,
                  task_submission{std::move(prompt), {}, {}})
      .receive([&](task_id& x) { id = x; }, [](caf::error& e) { FAIL(to_string(e)); });
    return id;
  };
  auto mine = ask_id(ss, submitter, "mine");
  auto theirs = ask_id(as, admin, "the admin's");
  // A remote task that sets no budget gets the policy's ceiling as its own.
  auto rec = server.p->result(mine);
  REQUIRE(rec.config);
  CHECK(rec.config->max_budget_usd == Approx(server.p->config().remote.max_task_budget_usd));

  // Its own task: readable. The admin's: not, neither read nor cancelled.
  auto raw = caf::actor_cast<caf::actor>(submitter);
  bool read_own = false;
  ss->request(submitter, std::chrono::seconds(30), result_atom_v, mine)
    .receive([&](task_record& rec) { read_own = rec.id == mine; },
             [](caf::error& e) { FAIL(to_string(e)); });
  CHECK(read_own);
  CHECK(answer_to(ss, raw, result_atom_v, theirs) == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, wait_atom_v, theirs) == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, cancel_atom_v, theirs) == pool_errc::not_permitted);
  std::vector<task_record> listed;
  ss->request(submitter, std::chrono::seconds(30), list_atom_v, task_filter{})
    .receive([&](std::vector<task_record>& l) { listed = std::move(l); },
             [](caf::error& e) { FAIL(to_string(e)); });
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == mine);

  // Admin calls: refused, and the pool is as it was.
  CHECK(answer_to(ss, raw, set_target_atom_v, std::uint64_t{0}, true) == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, scale_up_atom_v, std::uint64_t{2}) == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, drain_atom_v, std::uint64_t{0}) == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, approve_atom_v, theirs) == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, metrics_atom_v, metrics_filter{}) == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, join_atom_v, std::string("intruder"), std::uint64_t{1},
                  std::uint64_t{1})
        == pool_errc::not_permitted);
  CHECK(answer_to(ss, raw, add_slots_atom_v, std::uint64_t{3}) == caf::sec::unexpected_message);
  auto st = server.p->status();
  CHECK(st.slots.size() == 1);
  CHECK(st.draining == false);
  // Audit lines are rate-limited per principal: the first refusal is there.
  CHECK(has_event(*server.p, "client_refused", "submit: task"));
  // The admin may do all of it.
  std::uint64_t target = 0;
  as->request(admin, std::chrono::seconds(30), scale_up_atom_v, std::uint64_t{1})
    .receive([&](std::uint64_t t) { target = t; }, [](caf::error& e) { FAIL(to_string(e)); });
  CHECK(target == 2);
}

TEST_CASE("a forbidden override is refused by name before anything runs", "[node][auth]") {
  served_pool server;
  client_node client;
  auto submitter = connect_pool(*client.sys, "127.0.0.1", server.port,
                                node_credentials{{}, server.submit_token()});
  caf::scoped_actor self{*client.sys};
  task_submission sub{"run my server", {}, task_overrides{}};
  sub.config->mcp_servers = mcp_server_map{{"evil", {{"command", "touch"}, {"args", {"/tmp/x"}}}}};
  caf::error err;
  self->request(submitter, std::chrono::seconds(30), submit_atom_v, sub)
    .receive([](task_id&) { FAIL("accepted"); }, [&](caf::error& e) { err = std::move(e); });
  CHECK(err == pool_errc::not_permitted);
  CHECK_THAT(error_context(err).value_or(""), Catch::Contains("mcp_servers"));
  CHECK(server.p->list().empty());
  CHECK(testing::eventually([&] { return has_event(*server.p, "override_refused", "mcp_servers"); }));
}

TEST_CASE("a client flooding submissions hits its limit while another client's tasks run",
          "[node][auth]") {
  served_pool server(false, 3);
  write_token_file(server.tokens / "alice.submit.token", generate_token());
  client_node flood_side;
  client_node other_side;
  auto flooder = connect_pool(*flood_side.sys, "127.0.0.1", server.port,
                              node_credentials{{}, read_token_file(server.tokens / "alice.submit.token")});
  auto other = connect_pool(*other_side.sys, "127.0.0.1", server.port,
                            node_credentials{{}, server.submit_token()});
  caf::scoped_actor fs{*flood_side.sys};
  caf::scoped_actor os{*other_side.sys};
  int accepted = 0;
  caf::error last;
  for (int i = 0; i < 20; ++i)
    fs->request(flooder, std::chrono::seconds(30), submit_atom_v,
                task_submission{"flood " + std::to_string(i), {}, {}})
      .receive([&](task_id&) { ++accepted; }, [&](caf::error& e) { last = std::move(e); });
  CHECK(accepted == 3);
  CHECK(last == pool_errc::not_permitted);
  CHECK_THAT(error_context(last).value_or(""), Catch::Contains("max_pending_per_client"));
  // The other client still gets in, and its task runs to the end.
  task_id id;
  os->request(other, std::chrono::seconds(30), submit_atom_v, task_submission{"mine", {}, {}})
    .receive([&](task_id& x) { id = x; }, [](caf::error& e) { FAIL(to_string(e)); });
  REQUIRE(!id.value.empty());
  // One slot: finish what is ahead of it, then it.
  CHECK(testing::eventually([&] {
    for (auto& rec : server.p->list())
      if (rec.state == task_state::running)
        server.executor->finish(rec.id);
    return server.p->result(id).state == task_state::completed;
  }));
  // Once its tasks ended, the flooder may submit again.
  CHECK(testing::eventually([&] {
    bool ok = false;
    fs->request(flooder, std::chrono::seconds(30), submit_atom_v, task_submission{"again", {}, {}})
      .receive([&](task_id&) { ok = true; }, [](caf::error&) {});
    return ok;
  }));
}

TEST_CASE("a token file added to the directory counts at once, and a deleted one no more",
          "[node][auth]") {
  served_pool server;
  client_node client;
  auto token = generate_token();
  CHECK(thrown([&] {
          connect_pool(*client.sys, "127.0.0.1", server.port, node_credentials{{}, token});
        }) == pool_errc::not_authenticated);
  write_token_file(server.tokens / "bob.admin.token", token);
  client_node again;
  CHECK_FALSE(thrown([&] {
    connect_pool(*again.sys, "127.0.0.1", server.port, node_credentials{{}, token});
  }));
}

TEST_CASE("a submit-role client's status hides other principals' tasks, progress and events",
          "[node][auth]") {
  served_pool server(false); // tasks run until the test finishes them
  client_node admin_side;
  client_node submit_side;
  auto admin = connect_pool(*admin_side.sys, "127.0.0.1", server.port,
                            node_credentials{{}, server.admin_token()});
  auto submitter = connect_pool(*submit_side.sys, "127.0.0.1", server.port,
                                node_credentials{{}, server.submit_token()});
  caf::scoped_actor as{*admin_side.sys};
  caf::scoped_actor ss{*submit_side.sys};
  task_submission theirs_sub{"the admin's", {}, {}};
  theirs_sub.live_progress = true;
  task_id theirs;
  as->request(admin, std::chrono::seconds(30), submit_atom_v, theirs_sub)
    .receive([&](task_id& x) { theirs = x; }, [](caf::error& e) { FAIL(to_string(e)); });
  REQUIRE(server.executor->wait_for_live(1));
  server.p->record_event(pool_event{now_ms(), "budget_warning", std::nullopt, "an event"});
  auto status_of = [](caf::scoped_actor& self, const pool_client_actor& gate) {
    pool_status st;
    self->request(gate, std::chrono::seconds(30), status_atom_v)
      .receive([&](pool_status& s) { st = std::move(s); }, [](caf::error& e) { FAIL(to_string(e)); });
    return st;
  };
  auto seen_by_admin = status_of(as, admin);
  REQUIRE(seen_by_admin.slots.size() == 1);
  CHECK(seen_by_admin.slots[0].current_task == std::optional<task_id>(theirs));
  CHECK_FALSE(seen_by_admin.events.empty());
  auto seen_by_submitter = status_of(ss, submitter);
  REQUIRE(seen_by_submitter.slots.size() == 1);
  CHECK(seen_by_submitter.running == 1); // the shape of the pool stays
  CHECK_FALSE(seen_by_submitter.slots[0].current_task);
  CHECK(seen_by_submitter.progress.empty());
  CHECK(seen_by_submitter.events.empty());
  server.executor->finish(theirs);
}

TEST_CASE("a submit-role client's pages hold only its own tasks, across the pool's pages",
          "[node][auth]") {
  served_pool server;
  client_node submit_side;
  auto submitter = connect_pool(*submit_side.sys, "127.0.0.1", server.port,
                                node_credentials{{}, server.submit_token()});
  caf::scoped_actor ss{*submit_side.sys};
  auto foreign = [&](int n) { // the node's own submissions, not the client's
    std::vector<task_submission> subs(n, task_submission{"foreign", {}, {}});
    for (auto& answer : server.p->submit_all(subs))
      REQUIRE(answer.id);
  };
  std::vector<task_id> mine;
  auto submit_mine = [&] {
    ss->request(submitter, std::chrono::seconds(30), submit_atom_v,
                task_submission{"mine", {}, {}})
      .receive([&](task_id& id) { mine.push_back(id); },
               [](caf::error& e) { FAIL(to_string(e)); });
  };
  // More foreign records between the client's than the gate reads from the pool at once
  // (512), so a page must be filled from several of the pool's pages.
  foreign(700);
  submit_mine();
  foreign(700);
  submit_mine();
  submit_mine();
  foreign(30);
  auto page = [&](std::optional<std::uint64_t> limit, std::optional<task_id> after) {
    task_filter f;
    f.limit = limit;
    f.after = after;
    std::vector<task_record> out;
    ss->request(submitter, std::chrono::seconds(30), list_atom_v, f)
      .receive([&](std::vector<task_record>& l) { out = std::move(l); },
               [](caf::error& e) { FAIL(to_string(e)); });
    return out;
  };
  auto first = page(2, std::nullopt);
  REQUIRE(first.size() == 2);
  CHECK(first[0].id == mine[0]);
  CHECK(first[1].id == mine[1]);
  auto rest = page(2, first[1].id);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].id == mine[2]);
  CHECK(page(2, mine[2]).empty());
  CHECK(page(std::nullopt, std::nullopt).size() == 3);
}
