// Chains on a served pool from another host (`claude-pool chain --node`, remote_pool): over
// mutual TLS and over tokens, the chain runs under the client's principal — every step is its
// submission, checked by the node's policy — and a principal sees its own chains (an admin
// also the node's). A scripted executor on the node; no processes besides make-certs.
#include <catch2/catch.hpp>

#include <cstdlib>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"
#include "claude_pool/remote_pool.hpp"
#include "runtime/node/node_tokens.hpp"
#include "../support/chain_helpers.hpp"
#include "../support/scripted_executor.hpp"
#include "../support/temp_dir.hpp"

using namespace claude_pool;
using claude_pool::testing::make_step;

namespace {

/// A node serving a pool with an instant scripted executor: with TLS files, or with tokens.
struct chain_node {
  testing::temp_dir dir{"claude-pool-remote-chain"};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<testing::scripted_executor> executor =
    std::make_shared<testing::scripted_executor>(true);
  std::unique_ptr<claude_pool::pool> p;
  std::unique_ptr<published_pool> published;

  explicit chain_node(bool tls) {
    if (tls)
      REQUIRE(std::system((std::string(CLAUDE_POOL_MAKE_CERTS) + " " + dir / "pki"
                           + " node-a client-c:submit >/dev/null 2>&1")
                            .c_str())
              == 0);
    configure_node(cfg, tls ? files("node-a") : tls_options{});
    sys = std::make_unique<caf::actor_system>(cfg);
    pool_config pc;
    pc.initial_slots = 2;
    pool_options o;
    o.executor = executor;
    p = std::make_unique<claude_pool::pool>(*sys, pc, o);
    node_options node;
    if (tls)
      node.tls = files("node-a");
    else
      node.token_dir = dir / "tokens";
    published = publish_pool(*sys, *p, node);
  }

  tls_options files(const std::string& who) const {
    auto pki = dir / "pki";
    return {pki + "/" + who + ".pem", pki + "/" + who + ".key", pki + "/ca.pem", ""};
  }
  std::string token(const std::string& role) const {
    return read_token_file(dir / ("tokens/" + role + ".token"));
  }
  remote_pool client(const node_credentials& creds) const {
    return remote_pool("127.0.0.1", published->port(), creds);
  }
};

chain_definition two_steps() {
  chain_definition def;
  def.live_progress = false;
  def.steps = {make_step("one", "first"), make_step("two", "second after {previous_output}")};
  return def;
}

} // namespace

TEST_CASE("a chain runs on a served pool over mutual TLS under the client's principal",
          "[node][chain][tls]") {
  chain_node node(true);
  auto client = node.client(node_credentials{node.files("client-c"), ""});
  auto id = client.start_chain(two_steps());
  auto rec = client.wait_chain(id);
  CHECK(rec.state == chain_state::completed);
  CHECK(rec.final_output == std::optional<std::string>("done: second after done: first"));
  // Each step was the client's own submission (a submit-role principal reads only its own).
  for (auto& step : rec.steps) {
    REQUIRE(step.task_ids.size() == 1);
    auto task = client.result(step.task_ids[0]);
    CHECK(task.state == task_state::completed);
    CHECK(std::find(task.tags.begin(), task.tags.end(), "chain:" + id.value) != task.tags.end());
  }
  CHECK(client.chain_status(id).state == chain_state::completed);
  auto mine = client.list_chains();
  REQUIRE(mine.size() == 1);
  CHECK(mine[0].id == id);
}

TEST_CASE("a remote chain's step meets the node's policy like any submission",
          "[node][chain][auth]") {
  chain_node node(false);
  auto client = node.client(node_credentials{{}, node.token("submit")});
  auto def = two_steps();
  def.steps[1].config = task_overrides{};
  def.steps[1].config->mcp_servers =
    mcp_server_map{{"evil", {{"command", "touch"}, {"args", {"/tmp/x"}}}}};
  auto rec = client.wait_chain(client.start_chain(def));
  CHECK(rec.state == chain_state::failed);
  CHECK(rec.steps[0].state == step_state::completed);
  CHECK(rec.steps[1].state == step_state::failed);
  CHECK_THAT(rec.steps[1].error.value_or(""), Catch::Contains("mcp_servers"));
  for (auto& r : node.executor->requests())
    CHECK(r.prompt.rfind("second", 0) != 0); // the refused step never ran
}

TEST_CASE("a principal sees its own chains and an admin also the node's", "[node][chain][auth]") {
  chain_node node(false);
  auto submitter = node.client(node_credentials{{}, node.token("submit")});
  auto admin = node.client(node_credentials{{}, node.token("admin")});
  auto theirs = submitter.wait_chain(submitter.start_chain(two_steps())).id;
  auto nodes_own = node.p->run_chain(two_steps()).id;
  // The submitter reaches neither the node's chain nor (through its id) anyone else's.
  CHECK_THROWS_AS(submitter.chain_status(nodes_own), pool_error);
  CHECK(admin.chain_status(nodes_own).state == chain_state::completed);
  CHECK_THROWS_AS(admin.chain_status(chain_id{"chain-none"}), pool_error);
  auto listed = admin.list_chains();
  CHECK(std::any_of(listed.begin(), listed.end(), [&](auto& c) { return c.id == nodes_own; }));
  CHECK(submitter.list_chains().size() == 1);
  CHECK(submitter.list_chains()[0].id == theirs);
}
