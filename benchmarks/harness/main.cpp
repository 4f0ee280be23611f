// bench_harness: the benchmark harness as a program of its own; `claude-pool bench` runs
// the same code (benchmarks/harness/bench_command.hpp).
#include <CLI/CLI.hpp>

#include "benchmarks/harness/bench_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"claude-pool benchmark harness: the pool against the physical limit and against "
               "xargs, GNU parallel and Python, in one run; writes a JSON report and an SVG chart"};
  claude_pool::bench::bench_options opts;
  claude_pool::bench::add_bench_options(app, opts);
  CLI11_PARSE(app, argc, argv);
  return claude_pool::bench::run_bench(opts);
}
