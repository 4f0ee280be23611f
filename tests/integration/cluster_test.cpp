// claude-pool as a cluster node, with separate processes on 127.0.0.1 and the real CLI
// against each node's bundled mock API: a served pool and its clients, a coordinator with two
// slot hosts, losing a slot host (SIGKILL) and losing the pool node, and mutual TLS.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fstream>
#include <future>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "messages/json.hpp"
#include "real_cli_fixture.hpp"
#include "claude_pool/remote_pool.hpp"
#include "../support/child_process.hpp"
#include "../support/temp_dir.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;
namespace fs = std::filesystem;

namespace {

std::string random_marker() {
  std::random_device rd;
  return "CLAUDE_POOL_TEST_MARKER=" + std::to_string(rd()) + std::to_string(rd());
}

/// The port a `serve --port-file` wrote, once it is there.
std::uint16_t wait_for_port(const std::string& file, child_process& server) {
  std::uint16_t port = 0;
  bool ok = eventually([&] {
    std::ifstream in(file);
    return static_cast<bool>(in >> port) && port != 0;
  });
  INFO(server.log());
  REQUIRE(ok);
  return port;
}

/// The nodes these tests serve keep their tokens here, and every client the tests start
/// (a child inherits the variable) presents the admin token: one directory per test process.
struct node_tokens {
  std::string dir;
  node_tokens() {
    char pattern[] = "/tmp/claude-pool-cluster-tokens-XXXXXX";
    if (::mkdtemp(pattern) != nullptr) {
      dir = pattern;
      ::setenv("CLAUDE_POOL_TOKEN_FILE", (dir + "/admin.token").c_str(), 1);
    }
  }
  ~node_tokens() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};
const node_tokens tokens;

std::unique_ptr<child_process> serve(const temp_dir& dir, const std::string& name,
                                     std::vector<std::string> args,
                                     const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {CLAUDE_POOL_APP, "serve"};
  argv.insert(argv.end(), args.begin(), args.end());
  // With TLS the certificate is the credential; else the node asks for a token.
  if (std::find(args.begin(), args.end(), "--tls-cert") == args.end()
      && std::find(args.begin(), args.end(), "--join") == args.end())
    argv.insert(argv.end(), {"--token-dir", tokens.dir});
  return std::make_unique<child_process>(argv, dir / (name + ".log"), no_api, env);
}

/// Runs `f` on its own thread and gives up after a generous bound, so that a hang fails the
/// test instead of stopping the whole run.
template <class F>
std::optional<std::string> within(std::chrono::seconds bound, F f) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto result = done->get_future();
  std::thread([done, f]() mutable { done->set_value(f()); }).detach();
  if (result.wait_for(bound) != std::future_status::ready)
    return std::nullopt;
  return result.get();
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("a client submits to a served pool and reads results, status and metrics",
          "[integration][cluster]") {
  temp_dir dir{"claude-pool-cluster"};
  auto server = serve(dir, "server", {"--slots", "1", "--port-file", dir / "port"});
  auto port = wait_for_port(dir / "port", *server);

  remote_pool client("127.0.0.1", port);
  auto id = client.submit(task_submission{"remote hello [[mock:reply=hi from afar]]", {"r"}, {}});
  auto rec = client.wait(id);
  INFO(nlohmann::json(rec).dump());
  CHECK(rec.state == task_state::completed);
  CHECK(rec.result->output == "hi from afar");
  CHECK(rec.result->session_id);
  CHECK(client.result(id).state == task_state::completed);
  CHECK(client.status().completed == 1);
  CHECK(client.metrics().completed_tasks == 1);
  CHECK(client.list().size() == 1);
  try {
    client.result(task_id{"task-none"});
    FAIL("an unknown id was answered");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::unknown_task);
  }

  // The program's thin client speaks the same messages.
  auto where = "127.0.0.1:" + std::to_string(port);
  child_process submit({CLAUDE_POOL_APP, "submit", "--node", where, "--wait", "--json",
                        "from the cli [[mock:reply=cli answer]]"},
                       dir / "submit.log", no_api);
  CHECK(submit.wait() == 0);
  auto out = submit.log();
  INFO(out);
  auto line = out.substr(out.find('{'));
  CHECK(nlohmann::json::parse(line)["result"]["output"] == "cli answer");
  child_process status({CLAUDE_POOL_APP, "status", "--node", where, "--json"}, dir / "st.log",
                       no_api);
  CHECK(status.wait() == 0);
  auto st = status.log();
  CHECK(nlohmann::json::parse(st.substr(st.find('{')))["completed"] == 2);

  // `list` pages: one record a page, the cursor for the next on stderr; the last page says
  // no more; a bad state is named.
  auto records_in = [](const std::string& log) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(log);
    for (std::string l; std::getline(lines, l);)
      if (!l.empty() && l[0] == '{')
        out.push_back(nlohmann::json::parse(l));
    return out;
  };
  child_process first({CLAUDE_POOL_APP, "list", "--node", where, "--limit", "1"},
                      dir / "list1.log", no_api);
  CHECK(first.wait() == 0);
  auto page1 = records_in(first.log());
  INFO(first.log());
  REQUIRE(page1.size() == 1);
  CHECK(page1[0]["id"] == id.value);
  CHECK(first.log().find("next page: --after " + id.value) != std::string::npos);
  child_process second({CLAUDE_POOL_APP, "list", "--node", where, "--limit", "5", "--after",
                        id.value},
                       dir / "list2.log", no_api);
  CHECK(second.wait() == 0);
  auto page2 = records_in(second.log());
  INFO(second.log());
  REQUIRE(page2.size() == 1);
  CHECK(page2[0]["result"]["output"] == "cli answer");
  CHECK(second.log().find("next page") == std::string::npos);
  child_process bad_state({CLAUDE_POOL_APP, "list", "--node", where, "--state", "sleeping"},
                          dir / "list3.log", no_api);
  CHECK(bad_state.wait() == 2);
  CHECK(bad_state.log().find("\"sleeping\" is not a task state") != std::string::npos);

  // SIGTERM drains and stops the node.
  server->signal(SIGTERM);
  CHECK(server->wait() == 0);
  CHECK(server->log().find("drained: 2 completed") != std::string::npos);
}

TEST_CASE("a coordinator runs a batch over two slot hosts and survives losing one",
          "[integration][cluster]") {
  temp_dir dir{"claude-pool-cluster"};
  auto coordinator = serve(dir, "coordinator", {"--slots", "0", "--port-file", dir / "port"});
  auto port = wait_for_port(dir / "port", *coordinator);
  auto where = "127.0.0.1:" + std::to_string(port);
  auto marker_a = random_marker();
  auto marker_b = random_marker();
  auto host_a = serve(dir, "hostA", {"--join", where, "--slots", "2", "--name", "hostA"},
                      {marker_a});
  auto host_b = serve(dir, "hostB", {"--join", where, "--slots", "2", "--name", "hostB"},
                      {marker_b});

  remote_pool client("127.0.0.1", port);
  REQUIRE(eventually([&] { return client.status().slots.size() == 4; }));
  std::vector<task_id> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(client.submit(
      task_submission{"task " + std::to_string(i) + " [[mock:delay_ms=2500]]", {}, {}}));
  // Kill host A while it runs tasks (its slots take tasks as soon as they are idle).
  REQUIRE(eventually([&] {
    for (auto& t : client.list(task_filter{task_state::running, std::nullopt, std::nullopt, std::nullopt, std::nullopt}))
      if (t.slot_id && starts_with(t.slot_id->value, "hostA/"))
        return true;
    return false;
  }));
  host_a->signal(SIGKILL);
  host_a->wait();

  std::set<std::string> hosts;
  int lost = 0, completed = 0;
  for (auto& id : ids) {
    auto rec = client.wait(id);
    INFO(nlohmann::json(rec).dump());
    REQUIRE(is_terminal(rec.state));
    REQUIRE(rec.slot_id);
    auto host = rec.slot_id->value.substr(0, rec.slot_id->value.find('/'));
    hosts.insert(host);
    if (rec.state == task_state::completed) {
      ++completed;
    } else {
      // Only host A's tasks may fail, and only because host A was lost.
      CHECK(host == "hostA");
      CHECK(rec.state == task_state::failed);
      CHECK(rec.result->subtype == "node_lost");
      ++lost;
    }
  }
  CHECK(hosts == std::set<std::string>{"hostA", "hostB"});
  CHECK(lost >= 1);
  CHECK(completed + lost == 12);
  // Host A's slots left routing; its CLI processes died with it (no orphans).
  auto st = client.status();
  CHECK(st.slots.size() == 2);
  for (auto& s : st.slots)
    CHECK(starts_with(s.id.value, "hostB/"));
  auto marker_a_value = marker_a.substr(marker_a.find('=') + 1);
  CHECK(eventually([&] { return processes_with_marker(marker_a_value) == 0; }));
  CHECK(processes_with_marker(marker_b.substr(marker_b.find('=') + 1)) > 0); // B still serves
}

TEST_CASE("a client whose pool node dies gets an error, not a hang", "[integration][cluster]") {
  temp_dir dir{"claude-pool-cluster"};
  auto marker = random_marker();
  auto server = serve(dir, "server", {"--slots", "1", "--port-file", dir / "port"}, {marker});
  auto port = wait_for_port(dir / "port", *server);
  remote_pool client("127.0.0.1", port);
  auto id = client.submit(task_submission{"long [[mock:delay_ms=60000]]", {}, {}});
  REQUIRE(eventually([&] { return client.result(id).state == task_state::running; }));
  auto waited = std::async(std::launch::async, [&]() -> std::string {
    try {
      client.wait(id);
      return "answered";
    } catch (const pool_error& e) {
      return to_string(e.code) + ": " + e.what();
    }
  });
  server->signal(SIGKILL);
  server->wait();
  REQUIRE(waited.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  auto what = waited.get();
  INFO(what);
  CHECK(starts_with(what, "node_lost"));
  // Later calls fail the same way, at once.
  CHECK_THROWS_AS(client.status(), pool_error);
  // The killed node's CLI went with it.
  CHECK(eventually([&] { return processes_with_marker(marker.substr(marker.find('=') + 1)) == 0; }));
}

TEST_CASE("with TLS a node serves peers of its CA and refuses every other peer",
          "[integration][cluster][tls]") {
  temp_dir dir{"claude-pool-cluster"};
  child_process certs({CLAUDE_POOL_MAKE_CERTS, dir / "pki", "server", "client",
                       "submitter:submit"},
                      dir / "certs.log");
  REQUIRE(certs.wait() == 0);
  child_process rogue({CLAUDE_POOL_MAKE_CERTS, dir / "rogue", "client"}, dir / "rogue.log");
  REQUIRE(rogue.wait() == 0);
  auto server = serve(dir, "server",
                      {"--slots", "1", "--port-file", dir / "port", "--tls-cert",
                       dir / "pki/server.pem", "--tls-key", dir / "pki/server.key", "--tls-ca",
                       dir / "pki/ca.pem"});
  auto port = wait_for_port(dir / "port", *server);

  tls_options good{dir / "pki/client.pem", dir / "pki/client.key", dir / "pki/ca.pem", ""};
  {
    remote_pool client("127.0.0.1", port, good);
    auto rec = client.wait(client.submit(task_submission{"over tls [[mock:reply=secret]]", {}, {}}));
    CHECK(rec.result->output == "secret");
  }
  auto attempt = [port](tls_options tls) {
    return within(std::chrono::seconds(60), [port, tls] {
      try {
        remote_pool client("127.0.0.1", port, node_credentials{tls, {}}); // no token
        client.status();
        return std::string("accepted");
      } catch (const pool_error& e) {
        return "refused: " + to_string(e.code) + ": " + e.what();
      } catch (const std::exception& e) {
        return std::string("refused: ") + e.what();
      }
    });
  };
  auto plain = attempt(tls_options{});
  REQUIRE(plain);
  INFO(*plain);
  CHECK(starts_with(*plain, "refused: node_unreachable"));
  tls_options other{dir / "rogue/client.pem", dir / "rogue/client.key", dir / "rogue/ca.pem", ""};
  auto foreign = attempt(other);
  REQUIRE(foreign);
  INFO(*foreign);
  CHECK(starts_with(*foreign, "refused: node_unreachable"));
  // A certificate with OU=submit submits and reads its own tasks, and nothing more.
  tls_options submitter{dir / "pki/submitter.pem", dir / "pki/submitter.key",
                        dir / "pki/ca.pem", ""};
  {
    remote_pool client("127.0.0.1", port, node_credentials{submitter, {}});
    auto rec = client.wait(client.submit(task_submission{"submit role [[mock:reply=mine]]", {}, {}}));
    CHECK(rec.result->output == "mine");
    CHECK(client.list().size() == 1); // the admin's task is not its to see
    try {
      client.metrics();
      FAIL("a submit-role certificate read the node's metrics");
    } catch (const pool_error& e) {
      CHECK(e.code == pool_errc::not_permitted);
    }
  }
  // The server still serves its own peers afterwards, and the admin sees both tasks.
  remote_pool again("127.0.0.1", port, good);
  CHECK(again.status().completed == 2);
  CHECK(again.list().size() == 2);
}

TEST_CASE("a node without TLS refuses to listen beyond loopback unless told to",
          "[integration][cluster][tls]") {
  temp_dir dir{"claude-pool-cluster"};
  child_process server({CLAUDE_POOL_APP, "serve", "--bind", "0.0.0.0", "--port", "0"},
                       dir / "s.log", no_api);
  CHECK(server.wait() == 2);
  CHECK(server.log().find("refusing to listen on 0.0.0.0 without TLS") != std::string::npos);
}

TEST_CASE("scaling places slots on a slot host with room, SIGTERM makes the host leave "
          "gracefully", "[integration][cluster][scaling]") {
  temp_dir dir{"claude-pool-cluster"};
  auto coordinator = serve(dir, "coordinator", {"--slots", "0", "--port-file", dir / "port"});
  auto port = wait_for_port(dir / "port", *coordinator);
  auto where = "127.0.0.1:" + std::to_string(port);
  auto marker = random_marker();
  auto host = serve(dir, "hostA",
                    {"--join", where, "--slots", "1", "--max-slots", "3", "--name", "hostA"},
                    {marker});
  remote_pool client("127.0.0.1", port);
  REQUIRE(eventually([&] { return client.status().slots.size() == 1; }));

  // The thin client scales the pool; both new slots go to the host, which has room for two.
  child_process scale({CLAUDE_POOL_APP, "scale", "--node", where, "2"}, dir / "scale.log",
                      no_api);
  CHECK(scale.wait() == 0);
  CHECK(scale.log().find('2') != std::string::npos);
  REQUIRE(eventually([&] { return client.status().slots.size() == 3; }));
  for (auto& s : client.status().slots)
    CHECK(starts_with(s.id.value, "hostA/"));
  child_process bad({CLAUDE_POOL_APP, "scale", "--node", where, "two"}, dir / "bad.log", no_api);
  CHECK(bad.wait() != 0);
  CHECK(bad.log().find("whole number") != std::string::npos);

  // A task runs on the host; SIGTERM: the host takes no new task, lets the running one
  // finish, and leaves; the coordinator places the two scaled slots again (locally: no other
  // host), so later tasks still run.
  auto running = client.submit(task_submission{"slow [[mock:delay_ms=3000]] [[mock:reply=kept]]",
                                               {}, {}});
  REQUIRE(eventually([&] { return client.result(running).state == task_state::running; }));
  host->signal(SIGTERM);
  CHECK(host->wait() == 0);
  INFO(host->log());
  CHECK(host->log().find("left the pool") != std::string::npos);
  auto rec = client.wait(running);
  CHECK(rec.state == task_state::completed);
  CHECK(rec.result->output == "kept");
  CHECK(eventually([&] {
    auto st = client.status();
    return st.slots.size() == 2
           && std::none_of(st.slots.begin(), st.slots.end(),
                           [](auto& s) { return starts_with(s.id.value, "hostA/"); });
  }));
  auto later = client.wait(client.submit(task_submission{"later [[mock:reply=here]]", {}, {}}));
  CHECK(later.state == task_state::completed);
  CHECK(eventually([&] { return processes_with_marker(marker.substr(marker.find('=') + 1)) == 0; }));
}

TEST_CASE("a slot host that hangs (SIGSTOP) is declared lost by the heartbeat timeout",
          "[integration][cluster]") {
  temp_dir dir{"claude-pool-cluster"};
  auto coordinator = serve(dir, "coordinator", {"--slots", "0", "--port-file", dir / "port"});
  auto port = wait_for_port(dir / "port", *coordinator);
  auto where = "127.0.0.1:" + std::to_string(port);
  auto marker = random_marker();
  auto host = serve(dir, "hostA", {"--join", where, "--slots", "1", "--name", "hostA"},
                    {marker});
  remote_pool client("127.0.0.1", port);
  REQUIRE(eventually([&] { return client.status().slots.size() == 1; }));
  auto id = client.submit(task_submission{"hangs with its host [[mock:delay_ms=120000]]", {}, {}});
  REQUIRE(eventually([&] { return client.result(id).state == task_state::running; }));

  host->signal(SIGSTOP); // the connection stays open; only the heartbeats stop
  auto rec = within(std::chrono::seconds(90), [&] {
    return nlohmann::json(client.wait(id)).dump();
  });
  host->signal(SIGCONT);
  REQUIRE(rec);
  INFO(*rec);
  auto j = nlohmann::json::parse(*rec);
  CHECK(j["state"] == "failed");
  CHECK(j["result"]["subtype"] == "node_lost");
  CHECK(client.status().slots.empty());
  // Woken up, the host finds its pool connection gone and ends, with its CLI process.
  CHECK(host->wait() != 0);
  CHECK(eventually([&] { return processes_with_marker(marker.substr(marker.find('=') + 1)) == 0; }));
}

TEST_CASE("the review gate works through the thin client", "[integration][cluster]") {
  temp_dir dir{"claude-pool-cluster"};
  auto server = serve(dir, "server", {"--slots", "1", "--port-file", dir / "port"});
  auto port = wait_for_port(dir / "port", *server);
  auto where = "127.0.0.1:" + std::to_string(port);
  auto client = [&](const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> argv = {CLAUDE_POOL_APP};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process p(argv, dir / (name + ".log"), no_api);
    int code = p.wait();
    auto out = p.log();
    return std::make_pair(code, out);
  };
  auto record_in = [](const std::string& out) {
    return nlohmann::json::parse(out.substr(out.find('{')));
  };

  auto [code, out] = client("submit", {"submit", "--node", where, "--review", "--wait", "--json",
                                       "draft it [[mock:echo]]"});
  INFO(out);
  REQUIRE(code == 0);
  auto rec = record_in(out);
  CHECK(rec["state"] == "pending_review");
  auto id = rec["id"].get<std::string>();

  std::tie(code, out) = client("reject", {"reject", "--node", where, id, "--feedback",
                                          "mention the sea"});
  INFO(out);
  CHECK(code == 0);
  std::tie(code, out) = client("wait", {"wait", "--node", where, id});
  rec = record_in(out);
  CHECK(rec["state"] == "pending_review");
  CHECK_THAT(rec["result"]["output"].get<std::string>(), Catch::Contains("mention the sea"));

  std::tie(code, out) = client("approve", {"approve", "--node", where, id});
  CHECK(code == 0);
  CHECK(record_in(out)["state"] == "completed");
  std::tie(code, out) = client("again", {"approve", "--node", where, id});
  CHECK(code != 0);
  CHECK(out.find("is completed, not pending_review") != std::string::npos);
  std::tie(code, out) = client("nofeedback", {"reject", "--node", where, id});
  CHECK(code != 0);
  CHECK(out.find("--feedback") != std::string::npos);
}

TEST_CASE("a slot host may offer only room, which scaling fills", "[integration][cluster][scaling]") {
  temp_dir dir{"claude-pool-cluster"};
  child_process nothing({CLAUDE_POOL_APP, "serve", "--join", "127.0.0.1:1", "--slots", "0"},
                        dir / "nothing.log", no_api);
  CHECK(nothing.wait() == 2);
  CHECK(nothing.log().find("--max-slots") != std::string::npos);
  child_process below({CLAUDE_POOL_APP, "serve", "--join", "127.0.0.1:1", "--slots", "3",
                       "--max-slots", "2"},
                      dir / "below.log", no_api);
  CHECK(below.wait() == 2);
  CHECK(below.log().find("--max-slots: 2 is below --slots (3)") != std::string::npos);

  auto coordinator = serve(dir, "coordinator", {"--slots", "0", "--port-file", dir / "port"});
  auto port = wait_for_port(dir / "port", *coordinator);
  auto where = "127.0.0.1:" + std::to_string(port);
  auto host = serve(dir, "hostA",
                    {"--join", where, "--slots", "0", "--max-slots", "2", "--name", "hostA"});
  remote_pool client("127.0.0.1", port);
  REQUIRE(eventually([&] {
    return coordinator->log().find("node hostA joins") != std::string::npos;
  }));
  CHECK(client.status().slots.empty());
  CHECK(client.set_target(2) == 2);
  REQUIRE(eventually([&] { return client.status().slots.size() == 2; }));
  for (auto& s : client.status().slots)
    CHECK(starts_with(s.id.value, "hostA/"));
  auto rec = client.wait(client.submit(task_submission{"placed [[mock:reply=there]]", {}, {}}));
  CHECK(rec.state == task_state::completed);
  CHECK(starts_with(rec.slot_id->value, "hostA/"));
}

TEST_CASE("a remote submitter's forbidden overrides are refused by name and nothing runs",
          "[integration][cluster][auth]") {
  temp_dir dir{"claude-pool-cluster"};
  auto server = serve(dir, "server", {"--slots", "1", "--port-file", dir / "port"});
  auto port = wait_for_port(dir / "port", *server);
  auto where = "127.0.0.1:" + std::to_string(port);
  auto submit_token = tokens.dir + "/submit.token";
  auto submit_with = [&](const std::string& name, const nlohmann::json& overrides) {
    std::ofstream(dir / (name + ".json")) << overrides.dump();
    child_process p({CLAUDE_POOL_APP, "submit", "--node", where, "--token-file", submit_token,
                     "--config", dir / (name + ".json"), "--wait", "--json",
                     "overrides [[mock:reply=ran]]"},
                    dir / (name + ".log"), no_api);
    int code = p.wait();
    return std::make_pair(code, p.log());
  };
  // An MCP "server" is a command the node would start: it would create this file.
  auto marker_file = dir / "pwned";
  auto [code, out] = submit_with(
    "mcp", {{"mcp_servers", {{"evil", {{"command", "touch"}, {"args", {marker_file}}}}}}});
  INFO(out);
  CHECK(code == 3);
  CHECK(out.find("mcp_servers") != std::string::npos);
  std::tie(code, out) = submit_with("perm", {{"permission_mode", "bypass_permissions"}});
  CHECK(code == 3);
  CHECK(out.find("permission_mode") != std::string::npos);
  std::tie(code, out) = submit_with("budget", {{"max_budget_usd", 500.0}});
  CHECK(code == 3);
  CHECK(out.find("max_budget_usd") != std::string::npos);
  // Allowed overrides run through the real CLI.
  std::tie(code, out) = submit_with("fine", {{"max_turns", 2}, {"effort", "low"}});
  CHECK(code == 0);
  CHECK(out.find("\"output\":\"ran\"") != std::string::npos);
  // Nothing of the refused ones ran or was recorded; the refusals are in the audit log.
  remote_pool admin("127.0.0.1", port);
  CHECK(admin.list().size() == 1);
  CHECK_FALSE(std::filesystem::exists(marker_file));
  int refused = 0;
  for (auto& ev : admin.status().events)
    refused += ev.kind == "override_refused";
  CHECK(refused >= 1); // audit lines are rate-limited per client
  CHECK(server->log().find("override_refused") != std::string::npos);
  // A submit-role token cannot join as a slot host, nor scale.
  auto host = serve(dir, "host", {"--join", where, "--slots", "1", "--name", "intruder",
                                  "--token-file", submit_token});
  CHECK(host->wait() != 0);
  INFO(host->log());
  CHECK(host->log().find("admin role") != std::string::npos);
  child_process scale({CLAUDE_POOL_APP, "scale", "--node", where, "--token-file", submit_token,
                       "3"},
                      dir / "scale.log", no_api);
  CHECK(scale.wait() == 3);
  CHECK(admin.status().slots.size() == 1);
  // No token at all: refused, named.
  child_process none({CLAUDE_POOL_APP, "status", "--node", where}, dir / "none.log",
                     {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_POOL_CLAUDE_BIN",
                      "CLAUDE_POOL_TOKEN_FILE"});
  CHECK(none.wait() != 0);
  CHECK(none.log().find("--token-file") != std::string::npos);
  server->signal(SIGTERM);
  CHECK(server->wait() == 0);
}
