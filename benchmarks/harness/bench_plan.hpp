#pragma once
/// Which steps a run makes, with what sizes: the quick mode (CI smoke test, under a minute)
/// and the full mode. A step is one child process.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace claude_pool::bench {

struct bench_options;

/// What this machine offers for the comparisons.
struct bench_tools {
  std::string claude_bin;
  std::string fake_cli;
  std::string python_runner;
  bool have_claude = false;
  bool have_fake = false;
  bool have_xargs = false;
  bool have_parallel = false;
  bool have_python = false;
};

struct bench_step {
  std::string scenario; ///< routing, process, real_cli, scale, durability
  std::string label;    ///< for progress lines: "process c=4"
  nlohmann::json spec;  ///< the child's parameters (see scenarios.hpp)
  double timeout_s = 0; ///< the child is killed after this long
};

/// The steps for `opts`; scenarios that cannot run here are left out and explained in
/// `skipped` (scenario → reason).
std::vector<bench_step> plan_steps(const bench_options& opts, const bench_tools& tools,
                                   nlohmann::json& skipped);

} // namespace claude_pool::bench
