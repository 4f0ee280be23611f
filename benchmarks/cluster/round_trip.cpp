#include "benchmarks/cluster/round_trip.hpp"

#include <atomic>
#include <chrono>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "benchmarks/common/stats.hpp"
#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"
#include "claude_pool/remote_pool.hpp"
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
  pool_options po;
  po.executor = std::make_shared<instant_executor>();
  claude_pool::pool local(sys, pc, std::move(po));
  out.port = publish_pool(sys, local.handle(), node_options{});
  remote_pool remote("127.0.0.1", out.port);

  using side_call = std::function<void(int)>;
  struct kind {
    const char* name;
    side_call local, remote;
  };
  // One kind after the other: status() scans every task the pool holds, so it is timed
  // first on a pool without tasks, then again once the submissions left ~10k behind.
  auto status_local = [&](int) { local.status(); };
  auto status_remote = [&](int) { remote.status(); };
  std::vector<kind> kinds = {
    {"status", status_local, status_remote},
    {"submit", [&](int i) { local.submit(numbered("local", i)); },
     [&](int i) { remote.submit(numbered("remote", i)); }},
    {"status_loaded", status_local, status_remote},
  };

  for (auto& k : kinds) {
    call_comparison c;
    c.call = k.name;
    say(std::string("round trips: ") + k.name);
    std::vector<double> ignored;
    time_calls(plan.warm_up_calls, k.local, ignored);
    time_calls(plan.warm_up_calls, k.remote, ignored);
    for (int r = 0; r < plan.rounds; ++r) {
      // Alternate which side goes first, so neither always runs right after the other.
      double l = 0, rm = 0;
      if (r % 2 == 0) {
        l = time_calls(plan.calls_per_round, k.local, c.local.us);
        rm = time_calls(plan.calls_per_round, k.remote, c.remote.us);
      } else {
        rm = time_calls(plan.calls_per_round, k.remote, c.remote.us);
        l = time_calls(plan.calls_per_round, k.local, c.local.us);
      }
      c.local.round_medians.push_back(l);
      c.remote.round_medians.push_back(rm);
      c.round_ratios.push_back(l > 0 ? rm / l : 0);
    }
    out.calls.push_back(std::move(c));
  }
  out.tasks_held = local.status().completed;
  for (auto& c : out.calls) {
    summarize(c.local);
    summarize(c.remote);
    c.ratio = median(c.round_ratios);
  }
  return out;
}

} // namespace claude_pool::bench
