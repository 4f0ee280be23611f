#pragma once
/// A/B/C… comparison on a noisy machine: every round runs each variant once (the starting
/// variant rotates, so none always runs right after the same neighbour), and the figures are
/// medians over rounds — of the throughputs, and of each round's ratio to the baseline, which
/// cancels drift that hits a whole round.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/harness/external_runs.hpp"

namespace claude_pool::bench {

struct variant {
  std::string name;
  /// Runs a batch of this many tasks once.
  std::function<batch_outcome(std::size_t tasks)> run;
};

/// Runs every variant once on a small batch (`warmup_tasks`, untimed: page cache, interpreter
/// start-up, mock connections), then `rounds` rounds on `tasks` tasks. Returns, per variant:
/// `throughput` (median tasks/s), `throughput_per_round`, `ratio_to_<baseline>` (median of
/// per-round ratios), `wall_s_per_round`, `failed` and the first `error`. `on_run` is called
/// before each run (progress display; round -1 is the warm-up).
nlohmann::json interleaved_rounds(
  const std::vector<variant>& variants, std::size_t warmup_tasks, std::size_t tasks, int rounds,
  const std::string& baseline,
  const std::function<void(int round, const std::string& variant)>& on_run);

} // namespace claude_pool::bench
