#pragma once
/// `claude-pool bench` (and the `bench_harness` program): measures the pool against the
/// physical limit of this machine and against what users would run instead, and writes a
/// JSON report and an SVG chart. Scenarios: routing, process, real_cli, scale, durability.
/// See benchmarks/README.md.
///
/// Each step runs in a child process: run_bench re-executes the running program
/// (/proc/self/exe) with `reexec_args` followed by the hidden `--step-spec`/`--step-result`
/// options, and the child's run_bench runs that one step. So whichever program calls
/// run_bench must route those options back to it — add_bench_options does that.

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace claude_pool::bench {

struct bench_options {
  /// Small sizes, few rounds: the whole run takes under a minute (CI smoke test).
  bool quick = false;
  /// Scenarios to run (routing, process, real_cli, scale, durability); empty: all.
  std::vector<std::string> only;
  /// Rounds of each interleaved comparison; 0: the mode's default.
  int rounds = 0;
  std::string report_path = "bench_report.json";
  /// Empty: the report's path with `.svg` instead of `.json`.
  std::string chart_path;
  /// Empty: the defaults compiled in (the CLI installed by scripts/setup, the fake CLI built
  /// with the harness, benchmarks/runners/python_runner.py in the source tree).
  std::string claude_bin;
  std::string fake_cli;
  std::string python_runner;

  // -- internal: one step in a child process ---------------------------------------------
  std::string step_spec;   ///< the step as JSON; set: run only this step
  std::string step_result; ///< where the child writes the step's figures
  /// Arguments that lead from the program to these options (e.g. {"bench"} for a
  /// subcommand); add_bench_options fills it from the subcommand chain.
  std::vector<std::string> reexec_args;
};

/// Adds the bench options to `cmd` (a subcommand, or a program's top-level App).
void add_bench_options(CLI::App& cmd, bench_options& opts);

/// Runs the benchmark, or one step of it in child mode. Returns 0 when every step ran and
/// the report was written, 1 when a step failed (the report is still written, with the
/// error), 2 for bad options.
int run_bench(const bench_options& opts);

} // namespace claude_pool::bench
