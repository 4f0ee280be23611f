// What does a cluster node cost? (issue 8's figures)
//
//   1. Round trips: `submit()` and `status()` through the local facade vs through a
//      `remote_pool` over loopback TCP, to the same published pool (instant executor, no
//      CLI); interleaved rounds, median and p99 per call, the remote/local ratio.
//   2. Throughput: a batch on four slots (real CLI, each node's bundled mock API) with the
//      slots in the serving process, on one slot host, or split over two slot hosts; fresh
//      `claude-pool serve` processes per run, interleaved rounds, medians.
// Prints tables and writes a JSON report. Never asserts anything about time.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "benchmarks/cluster/round_trip.hpp"
#include "benchmarks/cluster/split_slots.hpp"
#include "benchmarks/common/stats.hpp"

using namespace claude_pool::bench;
using nlohmann::json;

namespace {

void progress(const std::string& line) { std::cerr << line << std::endl; }

void print_round_trips(std::ostream& out, const round_trip_figures& f) {
  out << "\n1. Round trip per call, µs (" << f.plan.rounds << " rounds × "
      << f.plan.calls_per_round << " calls each side, interleaved; pool with "
      << f.plan.slots << " slots, instant executor)\n";
  char line2[240];
  std::snprintf(line2, sizeof line2, "  %-14s %10s %10s %11s %11s %13s %10s %12s %10s %10s\n",
                "call", "local p50", "local p99", "remote p50", "remote p99", "remote/local",
                "open p50", "token/open", "tls p50", "tls/open");
  out << line2;
  for (auto& c : f.calls) {
    std::snprintf(line2, sizeof line2,
                  "  %-14s %10.1f %10.1f %11.1f %11.1f %12.1fx %10.1f %11.3fx %10.1f %9.3fx\n",
                  c.call.c_str(), c.local.median_us, c.local.p99_us, c.remote.median_us,
                  c.remote.p99_us, c.ratio, c.open.median_us, c.auth_ratio, c.tls.median_us,
                  c.tls_ratio);
    out << line2;
  }
  out << "  (remote: through the node's authenticated port with a token; open: the same pool\n"
      << "   published with --allow-insecure; token/open: what the credential checks cost;\n"
      << "   tls: the same pool behind mutual TLS, tls/open: what TLS and its checks cost)\n";
  out << "  (remote/local: median of the per-round ratios of medians; status_loaded: the pool\n"
      << "   holds " << f.tasks_held << " finished tasks, which status() counts one by one)\n";
}

void print_split_slots(std::ostream& out, const std::vector<layout_figures>& figs,
                       const split_slots_plan& plan) {
  char line[200];
  out << "\n2. Batch of " << plan.tasks << " tasks on 4 slots, real CLI + mock API ("
      << plan.delay_ms << " ms per request), median of " << plan.rounds << " rounds\n"
      << "  (wall: first submit → last completion; task: a task's start → end on its slot,\n"
      << "   median; vs local: median of per-round ratios; CPU s/task: every node process\n"
      << "   with its CLI processes, start to exit, over the batch's tasks)\n";
  std::snprintf(line, sizeof line, "  %-10s %8s %9s %7s %7s %10s %-9s %s\n", "layout",
                "tasks/s", "vs local", "wall s", "task s", "CPU s/task", "all done",
                "tasks per host (last run)");
  out << line;
  for (auto& f : figs) {
    std::string hosts;
    std::vector<double> cpu, task;
    for (auto& r : f.runs)
      if (r.error.empty()) {
        cpu.push_back(r.nodes_cpu_s / plan.tasks);
        task.push_back(r.task_s_median);
      }
    if (!f.runs.empty())
      for (auto& [h, n] : f.runs.back().tasks_per_host)
        hosts += h + "=" + std::to_string(n) + " ";
    std::snprintf(line, sizeof line, "  %-10s %8.2f %8.2fx %7.2f %7.2f %10.2f %-9s %s%s\n",
                  f.layout.name.c_str(), f.median_tasks_per_s, f.ratio_to_local,
                  f.median_wall_s, median(task),
                  median(cpu),
                  f.all_completed ? "yes" : "NO", hosts.c_str(),
                  f.used_every_host ? "" : "(not every host used!)");
    out << line;
  }
  for (auto& f : figs)
    for (auto& r : f.runs) {
      if (!r.error.empty())
        out << "  " << f.layout.name << ": run failed: " << r.error << "\n";
      else if (!r.first_failure.empty())
        out << "  " << f.layout.name << ": " << r.not_completed
            << " tasks not completed, e.g. " << r.first_failure << "\n";
      else if (!r.stopped_cleanly)
        out << "  " << f.layout.name << ": a node did not exit 0 after SIGTERM\n";
    }
  for (auto& f : figs) {
    int stuck = 0;
    for (auto& r : f.runs)
      stuck += r.error.empty() && !r.hosts_left_alone ? 1 : 0;
    if (stuck > 0)
      out << "  " << f.layout.name << ": in " << stuck << " of " << f.runs.size()
          << " runs a slot host did not exit within 5 s of SIGTERM while the coordinator ran\n"
          << "    (it exited once the coordinator stopped)\n";
  }
  for (auto& f : figs)
    out << "  " << f.layout.name << ": " << f.layout.description << "\n";
}

json latency_json(const call_latency& c) {
  return {{"median_us", c.median_us}, {"p99_us", c.p99_us}, {"round_medians_us", c.round_medians}};
}

json to_json(const round_trip_figures& f) {
  json calls = json::object();
  for (auto& c : f.calls)
    calls[c.call] = {{"local", latency_json(c.local)},
                     {"remote", latency_json(c.remote)},
                     {"remote_over_local_round_ratios", c.round_ratios},
                     {"remote_over_local_median_ratio", c.ratio},
                     {"open", latency_json(c.open)},
                     {"token_over_open_round_ratios", c.auth_round_ratios},
                     {"token_over_open_median_ratio", c.auth_ratio},
                     {"tls", latency_json(c.tls)},
                     {"tls_over_open_round_ratios", c.tls_round_ratios},
                     {"tls_over_open_median_ratio", c.tls_ratio}};
  return {{"rounds", f.plan.rounds}, {"calls_per_round", f.plan.calls_per_round},
          {"warm_up_calls", f.plan.warm_up_calls}, {"slots", f.plan.slots}, {"tasks_held_for_status_loaded", f.tasks_held},
          {"calls", calls}};
}

json to_json(const std::vector<layout_figures>& figs, const split_slots_plan& plan) {
  json layouts = json::object();
  for (auto& f : figs) {
    json runs = json::array();
    for (auto& r : f.runs)
      runs.push_back({{"wall_s", r.wall_s}, {"tasks_per_s", r.tasks_per_s},
                      {"startup_s", r.startup_s}, {"client_cpu_s", r.client_cpu_s},
                      {"nodes_cpu_s", r.nodes_cpu_s},
                      {"task_s_median", r.task_s_median}, {"task_s_max", r.task_s_max},
                      {"completed", r.completed},
                      {"not_completed", r.not_completed}, {"first_failure", r.first_failure},
                      {"tasks_per_host", r.tasks_per_host},
                      {"stopped_cleanly", r.stopped_cleanly},
                      {"hosts_left_alone", f.layout.hosts.empty() ? json(nullptr)
                                                                  : json(r.hosts_left_alone)},
                      {"error", r.error}});
    layouts[f.layout.name] = {{"description", f.layout.description},
                              {"median_tasks_per_s", f.median_tasks_per_s},
                              {"median_wall_s", f.median_wall_s},
                              {"ratio_to_local", f.ratio_to_local},
                              {"round_ratios_to_local", f.round_ratios_to_local},
                              {"all_completed", f.all_completed},
                              {"used_every_host", f.used_every_host},
                              {"runs", runs}};
  }
  return {{"tasks", plan.tasks}, {"rounds", plan.rounds}, {"mock_delay_ms", plan.delay_ms},
          {"slots", 4}, {"layouts", layouts}};
}

bool succeeded(const std::vector<layout_figures>& figs) {
  for (auto& f : figs)
    for (auto& r : f.runs)
      if (!r.error.empty())
        return false;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"claude-pool benchmark: the cost of a cluster node (round trips, split slots)"};
  round_trip_plan rt;
  split_slots_plan sp;
#ifdef CLAUDE_POOL_APP
  sp.app = CLAUDE_POOL_APP;
#endif
  bool skip_throughput = false;
  std::string json_out = "benchmarks/results/cluster.json";
  app.add_option("--tasks", sp.tasks, "tasks per batch in the throughput part (default 24)")
    ->check(CLI::PositiveNumber);
  app.add_option("--rounds", sp.rounds, "throughput rounds per layout (default 2)")
    ->check(CLI::PositiveNumber);
  app.add_option("--delay-ms", sp.delay_ms, "mock API latency per request (default 300)")
    ->check(CLI::NonNegativeNumber);
  app.add_option("--calls", rt.calls_per_round,
                 "round-trip calls per round and side (default 1000)")
    ->check(CLI::PositiveNumber);
  app.add_option("--latency-rounds", rt.rounds, "round-trip rounds (default 5)")
    ->check(CLI::PositiveNumber);
  app.add_option("--app", sp.app, "the claude-pool program (default: the one built with this)");
  app.add_flag("--skip-throughput", skip_throughput, "only the round trips (no CLI)");
  app.add_option("--json-out", json_out, "JSON report (default benchmarks/results/cluster.json)");
  CLI11_PARSE(app, argc, argv);
  rt.progress = sp.progress = progress;

  json report = {{"cores", ::sysconf(_SC_NPROCESSORS_ONLN)}};
  int status = 0;
  try {
    auto trips = measure_round_trips(rt);
    print_round_trips(std::cout, trips);
    report["round_trips"] = to_json(trips);
  } catch (const std::exception& e) {
    std::cerr << "round trips failed: " << e.what() << "\n";
    report["round_trips"] = {{"error", e.what()}};
    status = 1;
  }
  if (skip_throughput) {
    report["throughput"] = {{"skipped", "--skip-throughput"}};
  } else if (sp.app.empty()) {
    std::cerr << "throughput skipped: no claude-pool program (give --app)\n";
    report["throughput"] = {{"skipped", "no claude-pool program"}};
  } else {
    auto figs = measure_split_slots(sp);
    print_split_slots(std::cout, figs, sp);
    report["throughput"] = to_json(figs, sp);
    if (!succeeded(figs))
      status = 1;
  }

  std::error_code ignored;
  auto parent = std::filesystem::path(json_out).parent_path();
  if (!parent.empty())
    std::filesystem::create_directories(parent, ignored);
  std::ofstream(json_out) << report.dump(2) << "\n";
  std::cout << "\nreport: " << json_out << "\n";
  return status;
}
