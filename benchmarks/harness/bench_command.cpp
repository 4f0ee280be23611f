#include "benchmarks/harness/bench_command.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "benchmarks/common/temp_dir.hpp"
#include "benchmarks/harness/bench_plan.hpp"
#include "benchmarks/harness/child_process.hpp"
#include "benchmarks/harness/external_runs.hpp"
#include "benchmarks/harness/machine_info.hpp"
#include "benchmarks/harness/report_chart.hpp"
#include "benchmarks/harness/report_summary.hpp"
#include "benchmarks/harness/step_child.hpp"

namespace claude_pool::bench {

using json = nlohmann::json;

void add_bench_options(CLI::App& cmd, bench_options& o) {
  cmd.add_flag("--quick", o.quick, "small sizes and few rounds: under a minute (smoke test)");
  cmd.add_option("--only", o.only,
                 "scenarios to run: routing,process,real_cli,scale,durability (default all)")
    ->delimiter(',')
    ->check(CLI::IsMember({"routing", "process", "real_cli", "scale", "durability"}));
  cmd.add_option("--rounds", o.rounds, "rounds of each interleaved comparison (default: 1-2 quick, "
                                       "3-5 full)");
  cmd.add_option("--report", o.report_path, "the JSON report (default bench_report.json)");
  cmd.add_option("--chart", o.chart_path, "the SVG chart (default: the report's path, .svg)");
  cmd.add_option("--claude-bin", o.claude_bin, "the real claude CLI (default: the one installed "
                                               "by scripts/setup)");
  cmd.add_option("--fake-cli", o.fake_cli, "the minimal fake CLI (default: the one built with "
                                           "the harness)");
  cmd.add_option("--python-runner", o.python_runner, "the Python concurrent.futures runner");
  // A step in a child process; not for people.
  cmd.add_option("--step-spec", o.step_spec)->group("");
  cmd.add_option("--step-result", o.step_result)->group("");
  o.reexec_args.clear();
  for (auto* app = &cmd; app->get_parent() != nullptr; app = app->get_parent())
    o.reexec_args.insert(o.reexec_args.begin(), app->get_name());
}

namespace {

bench_tools find_tools(const bench_options& o) {
  bench_tools t;
  t.claude_bin = o.claude_bin.empty() ? CLAUDE_POOL_BUNDLED_CLI : o.claude_bin;
  t.fake_cli = o.fake_cli.empty() ? CLAUDE_POOL_BENCH_FAKE_CLI : o.fake_cli;
  t.python_runner = o.python_runner.empty() ? CLAUDE_POOL_BENCH_PYTHON_RUNNER : o.python_runner;
  t.have_claude = ::access(t.claude_bin.c_str(), X_OK) == 0;
  t.have_fake = ::access(t.fake_cli.c_str(), X_OK) == 0;
  t.have_xargs = find_in_path("xargs").has_value();
  t.have_parallel = find_in_path("parallel").has_value();
  t.have_python = find_in_path("python3").has_value() && ::access(t.python_runner.c_str(), R_OK) == 0;
  return t;
}

std::string utc_now() {
  auto t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

/// One line saying what a finished step found, for the progress display.
std::string step_summary(const bench_step& step, const json& r) {
  if (r.contains("error"))
    return "FAILED: " + r["error"].get<std::string>();
  if (step.scenario == "routing")
    return fixed(r.value("throughput", 0.0), 0) + " tasks/s";
  if (step.scenario == "process" || step.scenario == "real_cli") {
    auto base = step.scenario == "process" ? "raw_spawn" : "xargs";
    std::string out;
    for (auto& [name, v] : r["variants"].items())
      out += (out.empty() ? "" : ", ") + name + " " + rate(v.value("throughput", 0.0))
             + (name == base ? "" : " (" + fixed(v.value(std::string("ratio_to_") + base, 0.0), 2) + ")");
    return out;
  }
  auto measure = r.value("measure", std::string());
  if (measure == "idle_slots")
    return fixed(r.value("heap_bytes_per_slot", 0.0), 0) + " B heap, "
           + fixed(r.value("rss_bytes_per_slot", 0.0), 0) + " B RSS per idle slot";
  if (measure == "task_records")
    return fixed(r.value("heap_bytes_per_record", 0.0), 0) + " B heap, "
           + fixed(r.value("rss_bytes_per_record", 0.0), 0) + " B RSS per task record";
  if (measure == "submission")
    return fixed(r.value("rate_with_queue", 0.0), 0) + " submissions/s with "
           + std::to_string(r.value("queued", 0)) + " queued (facade submit(): "
           + fixed(r.value("facade_rate_with_queue", 0.0), 0) + "/s, submit_all(): "
           + fixed(r.value("facade_batch_rate_with_queue", 0.0), 0) + "/s)";
  if (step.scenario == "durability")
    return "none " + rate(r.value("/variants/none/throughput"_json_pointer, 0.0)) + ", memory "
           + rate(r.value("/variants/memory/throughput"_json_pointer, 0.0)) + ", sqlite "
           + rate(r.value("/variants/sqlite/throughput"_json_pointer, 0.0)) + " ("
           + fixed(r.value("/variants/sqlite/ratio_to_none"_json_pointer, 0.0), 3) + " of none, "
           + fixed(r.value("sqlite_to_memory", 0.0), 3) + " of memory; "
           + fixed(r.value("sqlite_cost_us_per_task", 0.0), 1) + " us more per task)";
  return r.dump().substr(0, 160);
}

json run_step(const bench_step& step, const bench_options& o, const std::string& scratch,
              std::size_t index, std::size_t count, bool tty) {
  auto label = "[" + std::to_string(index) + "/" + std::to_string(count) + "] " + step.label;
  if (!tty)
    std::cerr << label << " ..." << std::endl;
  auto spec = step.spec;
  spec["scenario"] = step.scenario;
  spec["label"] = label;
  spec["tty"] = tty;
  auto result_path = scratch + "/step-" + std::to_string(index) + ".json";
  auto args = o.reexec_args;
  args.insert(args.end(), {"--step-spec", spec.dump(), "--step-result", result_path});
  auto busy_before = machine_busy_cpu_s();
  auto child = run_self(args, scratch, step.timeout_s);
  // wait4 counts every descendant the step reaped, so the rest of the busy time is others'.
  auto foreign_cpu_s =
    std::max(0.0, machine_busy_cpu_s() - busy_before - child.user_s - child.sys_s);
  auto cores = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  auto foreign_share = child.wall_s > 0 ? foreign_cpu_s / (child.wall_s * cores) : 0;

  json r;
  try {
    std::ifstream in(result_path);
    r = json::parse(in);
  } catch (const std::exception&) {
    r = {{"error", child.error.empty() ? "the step wrote no result" : child.error}};
  }
  if (child.interrupted_by != 0)
    r["error"] = "interrupted by signal " + std::to_string(child.interrupted_by);
  else if (child.timed_out)
    r["error"] = "the step did not finish within " + fixed(step.timeout_s, 0) + " s";
  else if (child.signal != 0)
    r["error"] = "the step was killed by signal " + std::to_string(child.signal);
  r["step"] = {{"label", step.label},
               {"wall_s", child.wall_s},
               // wait4 counts the CPU of every descendant the step waited for, too.
               {"cpu_user_s_with_children", child.user_s},
               {"cpu_sys_s_with_children", child.sys_s},
               {"maxrss_kib_with_children", child.maxrss_kib},
               {"exit_code", child.exit_code}};
  if (child.interrupted_by != 0)
    r["step"]["interrupted_by"] = child.interrupted_by;
  r["step"]["load_average_after"] = load_average();
  r["step"]["other_processes_cpu_s"] = foreign_cpu_s;
  r["step"]["other_processes_cpu_share"] = foreign_share;
  std::cerr << (tty ? "\r\033[K" : "  ") << (tty ? label + ": " : "") << step_summary(step, r)
            << " [" << fixed(child.wall_s, 1) << " s"
            << (foreign_share > 0.05 ? ", other processes took " + fixed(foreign_share * 100, 0)
                                         + "% of the CPU: figures disturbed"
                                     : "")
            << "]" << std::endl;
  return r;
}

std::string chart_path_for(const bench_options& o) {
  if (!o.chart_path.empty())
    return o.chart_path;
  auto p = o.report_path;
  auto dot = p.rfind(".json");
  return (dot != std::string::npos && dot + 5 == p.size() ? p.substr(0, dot) : p) + ".svg";
}

int run_parent(const bench_options& o) {
  auto t0 = std::chrono::steady_clock::now();
  bool tty = ::isatty(STDERR_FILENO) != 0;
  auto tools = find_tools(o);
  json skipped = json::object();
  auto steps = plan_steps(o, tools, skipped);

  json report = {{"report", "claude-pool benchmark"},
                 {"mode", o.quick ? "quick" : "full"},
                 {"started_at", utc_now()},
                 {"machine", machine_info()},
                 {"versions", version_info(tools)},
                 {"skipped", skipped}};
  json parameters = json::array();
  for (auto& s : steps)
    parameters.push_back({{"scenario", s.scenario}, {"label", s.label}, {"spec", s.spec}});
  report["parameters"] = parameters;
  for (auto& [what, why] : skipped.items())
    std::cerr << "skipped " << what << ": " << why.get<std::string>() << std::endl;

  temp_dir scratch("claude-pool-bench-run");
  json scenarios = {{"routing", json::array()},
                    {"process", json::array()},
                    {"real_cli", json::array()},
                    {"scale", json::object()},
                    {"durability", json::object()}};
  bool all_ok = true;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto r = run_step(steps[i], o, scratch.path(), i + 1, steps.size(), tty);
    if (r["step"].value("interrupted_by", 0) != 0) {
      std::cerr << "bench: interrupted; no report written" << std::endl;
      return 130; // the scratch directory goes with `scratch`
    }
    all_ok = all_ok && !r.contains("error");
    if (steps[i].scenario == "scale")
      scenarios["scale"][steps[i].spec.value("measure", "unknown")] = r;
    else if (steps[i].scenario == "durability")
      scenarios["durability"] = r;
    else
      scenarios[steps[i].scenario].push_back(r);
  }
  report["scenarios"] = scenarios;
  report["targets"] = evaluate_targets(scenarios);
  report["machine"]["load_average_at_end"] = load_average();
  report["elapsed_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  auto chart = chart_path_for(o);
  std::ofstream report_out(o.report_path, std::ios::trunc);
  report_out << report.dump(2) << "\n";
  std::ofstream chart_out(chart, std::ios::trunc);
  chart_out << render_chart(report);
  if (!report_out.flush() || !chart_out.flush()) {
    std::cerr << "bench: cannot write " << o.report_path << " or " << chart << std::endl;
    return 2;
  }
  std::cout << summary_text(report) << "report: " << o.report_path << "\nchart:  " << chart << "\n";
  return all_ok ? 0 : 1;
}

} // namespace

int run_bench(const bench_options& o) {
  // claude-pool blocks SIGINT/SIGTERM for its drain thread; the benchmark has none: let
  // Ctrl-C end it (its steps die with it). A child that closes its stdin early must not
  // kill the step that writes to it.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  ::pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  if (!o.step_spec.empty())
    return run_step_child(o.step_spec, o.step_result);
  try {
    return run_parent(o);
  } catch (const std::exception& e) {
    std::cerr << "bench: " << e.what() << std::endl;
    return 2;
  }
}

} // namespace claude_pool::bench
