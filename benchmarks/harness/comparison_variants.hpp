#pragma once
/// The variants the process-level and real-CLI scenarios share: the pool itself, the raw
/// spawn loop and the library's runner alone, all running one `cli_invocation`.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchmarks/common/cli_invocation.hpp"
#include "benchmarks/harness/interleaved_rounds.hpp"
#include "messages/config.hpp"

namespace claude_pool::bench {

/// The pool's per-task latencies over the timed rounds (the warm-up is left out).
struct pool_latencies {
  bool measuring = false;
  std::vector<double> start_us, done_us;
  /// {"submit_to_start", "submit_to_done"} in milliseconds.
  nlohmann::json to_json() const;
};

/// A fresh pool per batch, built from `cfg` (slots = concurrency) with the real CLI
/// executor running `claude_bin`; task i gets "<prompt> <i>".
variant pool_variant(const pool_config& cfg, const std::string& claude_bin,
                     const std::string& prompt, pool_latencies& latencies,
                     std::string name = "pool");

variant raw_spawn_variant(const cli_invocation& inv, std::size_t concurrency,
                          const std::string& prompt);

variant process_runner_variant(const cli_invocation& inv, std::size_t concurrency,
                               const std::string& prompt);

/// The variants of `all` whose names `wanted` lists, in `all`'s order.
std::vector<variant> select(const std::vector<variant>& all, const std::vector<std::string>& wanted);

/// interleaved_rounds' `on_run` for a step: progress line, and latencies only from timed
/// rounds.
std::function<void(int, const std::string&)>
round_progress(const nlohmann::json& spec, int rounds, pool_latencies& latencies);

} // namespace claude_pool::bench
