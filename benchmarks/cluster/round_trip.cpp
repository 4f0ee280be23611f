#include "benchmarks/cluster/round_trip.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <chrono>
#include <memory>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "benchmarks/common/stats.hpp"
#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"
#include "claude_pool/remote_pool.hpp"
#include "runtime/node/node_tokens.hpp"
#include "runtime/cli/task_executor.hpp"

namespace claude_pool::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// Completes every task successfully inside start(), at no cost: the figures are the
/// requests' own, never a task's.
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
  std::atomic<std::uint64_t> next_{0}; // slots call start() from several threads
};

/// Times `n` calls of `call`, one by one; appends µs per call to `out` and returns this
/// round's median.
template <class Call>
double time_calls(int n, Call call, std::vector<double>& out) {
  std::vector<double> round;
  round.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto t0 = clock_type::now();
    call(i);
    round.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  out.insert(out.end(), round.begin(), round.end());
  return median(round);
}

void summarize(call_latency& side) {
  side.median_us = median(side.us);
  side.p99_us = percentile(side.us, 99);
}

task_submission numbered(const char* side, int i) {
  return task_submission{std::string(side) + " task " + std::to_string(i), {}, {}};
}

} // namespace

round_trip_figures measure_round_trips(const round_trip_plan& plan) {
  round_trip_figures out;
  out.plan = plan;
  auto say = [&](const std::string& line) {
    if (plan.progress)
      plan.progress(line);
  };

  // The node as `claude-pool serve` builds it: node settings, the sharing scheduler.
  caf::actor_system_config cfg;
  configure_node(cfg, tls_options{});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};
  pool_config pc;
  pc.initial_slots = static_cast<std::uint64_t>(plan.slots);
  // Thousands of remote submissions in a row: no per-client cap in the way.
  pc.remote.max_pending_per_client = 1ull << 40;
  pool_options po;
  po.executor = std::make_shared<instant_executor>();
  claude_pool::pool local(sys, pc, std::move(po));
  // The same pool twice: behind tokens (as `serve` runs by default) and open.
  char dir_pattern[] = "/tmp/claude-pool-bench-tokens-XXXXXX";
  std::string token_dir = ::mkdtemp(dir_pattern) ? dir_pattern : "";
  node_options secured;
  secured.token_dir = token_dir + "/node";
  auto published = publish_pool(sys, local, secured);
  out.port = published->port();
  node_options insecure;
  insecure.allow_insecure = true;
  auto published_open = publish_pool(sys, local, insecure);
  remote_pool remote("127.0.0.1", out.port,
                     node_credentials{{}, read_token_file(secured.token_dir + "/admin.token")});
  remote_pool open("127.0.0.1", published_open->port());
  // And behind mutual TLS, with throwaway certificates (admin role for the client).
  auto pki = token_dir + "/pki";
  auto certs = std::string(CLAUDE_POOL_MAKE_CERTS) + " " + pki + " node client >/dev/null";
  if (std::system(certs.c_str()) != 0)
    throw std::runtime_error("bench_cluster: " + certs + " failed");
  node_options with_tls;
  with_tls.tls = tls_options{pki + "/node.pem", pki + "/node.key", pki + "/ca.pem", ""};
  auto published_tls = publish_pool(sys, local, with_tls);
  remote_pool tls_remote("127.0.0.1", published_tls->port(),
                         node_credentials{tls_options{pki + "/client.pem", pki + "/client.key",
                                                      pki + "/ca.pem", ""},
                                          {}});
  struct cleanup {
    std::string dir;
    ~cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_tokens{token_dir};

  using side_call = std::function<void(int)>;
  struct kind {
    const char* name;
    side_call local, remote, open, tls;
  };
  // One kind after the other: status() scans every task the pool holds, so it is timed
  // first on a pool without tasks, then again once the submissions left ~10k behind.
  auto status_local = [&](int) { local.status(); };
  auto status_remote = [&](int) { remote.status(); };
  auto status_open = [&](int) { open.status(); };
  auto status_tls = [&](int) { tls_remote.status(); };
  std::vector<kind> kinds = {
    {"status", status_local, status_remote, status_open, status_tls},
    {"submit", [&](int i) { local.submit(numbered("local", i)); },
     [&](int i) { remote.submit(numbered("remote", i)); },
     [&](int i) { open.submit(numbered("open", i)); },
     [&](int i) { tls_remote.submit(numbered("tls", i)); }},
    {"status_loaded", status_local, status_remote, status_open, status_tls},
  };

  for (auto& k : kinds) {
    call_comparison c;
    c.call = k.name;
    say(std::string("round trips: ") + k.name);
    std::vector<double> ignored;
    time_calls(plan.warm_up_calls, k.local, ignored);
    time_calls(plan.warm_up_calls, k.remote, ignored);
    time_calls(plan.warm_up_calls, k.open, ignored);
    time_calls(plan.warm_up_calls, k.tls, ignored);
    for (int r = 0; r < plan.rounds; ++r) {
      // Rotate which side goes first, so none always runs right after another.
      double l = 0, rm = 0, op = 0, tl = 0;
      auto run_local = [&] { l = time_calls(plan.calls_per_round, k.local, c.local.us); };
      auto run_remote = [&] { rm = time_calls(plan.calls_per_round, k.remote, c.remote.us); };
      auto run_open = [&] { op = time_calls(plan.calls_per_round, k.open, c.open.us); };
      auto run_tls = [&] { tl = time_calls(plan.calls_per_round, k.tls, c.tls.us); };
      std::function<void()> order[4] = {run_local, run_remote, run_open, run_tls};
      for (int i = 0; i < 4; ++i)
        order[(r + i) % 4]();
      c.local.round_medians.push_back(l);
      c.remote.round_medians.push_back(rm);
      c.open.round_medians.push_back(op);
      c.tls.round_medians.push_back(tl);
      c.round_ratios.push_back(l > 0 ? rm / l : 0);
      c.auth_round_ratios.push_back(op > 0 ? rm / op : 0);
      c.tls_round_ratios.push_back(op > 0 ? tl / op : 0);
    }
    out.calls.push_back(std::move(c));
  }
  out.tasks_held = local.status().completed;
  for (auto& c : out.calls) {
    summarize(c.local);
    summarize(c.remote);
    summarize(c.open);
    summarize(c.tls);
    c.ratio = median(c.round_ratios);
    c.auth_ratio = median(c.auth_round_ratios);
    c.tls_ratio = median(c.tls_round_ratios);
  }
  return out;
}

} // namespace claude_pool::bench
