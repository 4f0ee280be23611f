// bench_http_api: the HTTP/JSON API against the CAF client, in the same run. One node (an
// instant executor, so the figures are the requests' own) published twice, as `serve
// --http` does: its CAF port behind tokens and its HTTP API behind the same tokens. Each
// round submits through both, in alternating order:
//   - sequential: one client, one submission after the other (µs per call: p50, p99);
//   - concurrent: C clients at once, each its own connection (submissions per second, and
//     the p99 of a call under that load).
// Prints the figures and their HTTP/CAF ratios (medians over rounds); writes a JSON report
// with --json. Figures only: nothing here asserts.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "benchmarks/common/stats.hpp"
#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"
#include "claude_pool/remote_pool.hpp"
#include "http_api/http_api_server.hpp"
#include "runtime/cli/task_executor.hpp"
#include "runtime/node/node_tokens.hpp"

using namespace claude_pool;
using clock_type = std::chrono::steady_clock;

namespace {

/// Completes every task at once, at no cost.
class instant_executor : public task_executor {
public:
  std::uint64_t start(execution_request, completion done) override {
    task_result r;
    r.success = true;
    r.output = "ok";
    r.subtype = "success";
    done(std::move(r));
    return next_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  void cancel(std::uint64_t) override {}

private:
  std::atomic<std::uint64_t> next_{0};
};

double micros_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
}

/// One side's submit call, for one client (each client has its own connection).
using submit_fn = std::function<void(int)>;
using client_factory = std::function<submit_fn()>;

struct side_figures {
  std::vector<double> sequential_us;       ///< every sequential call
  std::vector<double> concurrent_us;       ///< every call under load
  std::vector<double> round_throughput;    ///< submissions per second, per round
  std::vector<double> round_sequential_p50;
};

/// `calls` submissions one after the other through one client.
void sequential(const client_factory& make, int calls, side_figures& f) {
  auto submit = make();
  std::vector<double> round;
  for (int i = 0; i < calls; ++i) {
    auto t0 = clock_type::now();
    submit(i);
    round.push_back(micros_since(t0));
  }
  f.round_sequential_p50.push_back(bench::median(round));
  f.sequential_us.insert(f.sequential_us.end(), round.begin(), round.end());
}

/// `clients` threads, each with its own client, `calls` submissions each, all at once.
void concurrent(const client_factory& make, int clients, int calls, side_figures& f) {
  std::vector<submit_fn> fns;
  for (int c = 0; c < clients; ++c)
    fns.push_back(make()); // connections made before the clock starts
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(clients));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      ++ready;
      while (!go.load())
        std::this_thread::yield();
      for (int i = 0; i < calls; ++i) {
        auto t0 = clock_type::now();
        fns[static_cast<std::size_t>(c)](c * calls + i);
        lat[static_cast<std::size_t>(c)].push_back(micros_since(t0));
      }
    });
  while (ready.load() < clients)
    std::this_thread::yield();
  auto t0 = clock_type::now();
  go = true;
  for (auto& t : threads)
    t.join();
  double secs = micros_since(t0) / 1e6;
  f.round_throughput.push_back(static_cast<double>(clients) * calls / secs);
  for (auto& l : lat)
    f.concurrent_us.insert(f.concurrent_us.end(), l.begin(), l.end());
}

nlohmann::json report_of(const side_figures& f) {
  auto seq = bench::summarize(f.sequential_us);
  auto con = bench::summarize(f.concurrent_us);
  return {{"sequential_p50_us", seq.p50}, {"sequential_p99_us", seq.p99},
          {"concurrent_p50_us", con.p50}, {"concurrent_p99_us", con.p99},
          {"submits_per_second", bench::median(f.round_throughput)},
          {"round_submits_per_second", f.round_throughput}};
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_http_api: HTTP API vs CAF client submissions, same run"};
  int rounds = 5, sequential_calls = 500, clients = 8, concurrent_calls = 250;
  std::string json_path;
  app.add_option("--rounds", rounds, "interleaved rounds (5)");
  app.add_option("--sequential", sequential_calls, "sequential submissions per round and side (500)");
  app.add_option("--clients", clients, "concurrent clients (8)");
  app.add_option("--calls", concurrent_calls, "submissions per concurrent client per round (250)");
  app.add_option("--json", json_path, "write the figures to this file");
  CLI11_PARSE(app, argc, argv);

  caf::actor_system_config cfg;
  configure_node(cfg, tls_options{});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};
  pool_config pc;
  pc.initial_slots = 2;
  pc.remote.max_pending_per_client = 1ull << 40; // no per-client cap in the way
  pool_options po;
  po.executor = std::make_shared<instant_executor>();
  claude_pool::pool local(sys, pc, std::move(po));
  char dir_pattern[] = "/tmp/claude-pool-bench-http-XXXXXX";
  std::string dir = ::mkdtemp(dir_pattern) ? dir_pattern : "";
  node_options node;
  node.token_dir = dir + "/node";
  auto published = publish_pool(sys, local, node);
  http_api::options ho;
  ho.token_dir = node.token_dir;
  http_api::server http(sys,
                        http_api::target{local.handle(), local.config(), [](pool_event) {}}, ho);
  auto token = read_token_file(node.token_dir + "/admin.token");
  const auto caf_port = published->port();
  const auto http_port = http.port();

  client_factory caf_client = [&] {
    auto remote = std::make_shared<remote_pool>("127.0.0.1", caf_port,
                                                node_credentials{{}, token});
    return submit_fn([remote](int i) {
      remote->submit(task_submission{"caf task " + std::to_string(i), {}, {}});
    });
  };
  client_factory http_client = [&] {
    auto client = std::make_shared<httplib::Client>("127.0.0.1", http_port);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    client->set_bearer_token_auth(token.c_str());
    return submit_fn([client](int i) {
      nlohmann::json body{{"prompt", "http task " + std::to_string(i)}};
      auto res = client->Post("/v1/tasks", body.dump(), "application/json");
      if (!res || res->status != 201)
        throw std::runtime_error("HTTP submit failed: "
                                 + (res ? std::to_string(res->status) + " " + res->body
                                        : httplib::to_string(res.error())));
    });
  };

  side_figures caf_side, http_side;
  // Warm up both paths (connections, the gates, the allocators).
  sequential(caf_client, 100, caf_side);
  sequential(http_client, 100, http_side);
  caf_side = {};
  http_side = {};
  for (int r = 0; r < rounds; ++r) {
    std::cerr << "round " << r + 1 << " of " << rounds << "\n";
    bool http_first = r % 2 == 1; // alternate, so neither always runs right after the other
    for (int k = 0; k < 2; ++k) {
      bool use_http = (k == 0) == http_first;
      auto& side = use_http ? http_side : caf_side;
      auto& make = use_http ? http_client : caf_client;
      sequential(make, sequential_calls, side);
      concurrent(make, clients, concurrent_calls, side);
    }
  }
  auto caf_r = report_of(caf_side), http_r = report_of(http_side);
  std::vector<double> seq_ratios, tput_ratios;
  for (int r = 0; r < rounds; ++r) {
    seq_ratios.push_back(http_side.round_sequential_p50[r] / caf_side.round_sequential_p50[r]);
    tput_ratios.push_back(http_side.round_throughput[r] / caf_side.round_throughput[r]);
  }
  nlohmann::json report{{"rounds", rounds},
                        {"sequential_calls", sequential_calls},
                        {"clients", clients},
                        {"calls_per_client", concurrent_calls},
                        {"caf", caf_r},
                        {"http", http_r},
                        {"http_vs_caf_sequential_p50", bench::median(seq_ratios)},
                        {"http_vs_caf_throughput", bench::median(tput_ratios)},
                        {"tasks_held", local.status().completed}};
  auto line = [](const char* name, const nlohmann::json& s) {
    std::cout << "  " << name << ": sequential p50 " << s["sequential_p50_us"].get<double>()
              << " us, p99 " << s["sequential_p99_us"].get<double>() << " us; "
              << "concurrent " << s["submits_per_second"].get<double>() << " submits/s, p50 "
              << s["concurrent_p50_us"].get<double>() << " us, p99 "
              << s["concurrent_p99_us"].get<double>() << " us\n";
  };
  std::cout << "submissions through the HTTP API and the CAF client (" << rounds << " rounds; "
            << sequential_calls << " sequential, " << clients << " clients x "
            << concurrent_calls << " concurrent per round and side)\n";
  line("CAF ", caf_r);
  line("HTTP", http_r);
  std::cout << "  HTTP/CAF: sequential p50 " << report["http_vs_caf_sequential_p50"].get<double>()
            << "x, throughput " << report["http_vs_caf_throughput"].get<double>() << "x\n";
  if (!json_path.empty())
    std::ofstream(json_path) << report.dump(2) << '\n';
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}
