#pragma once
/// One CLI run exactly as the pool's `cli_executor` starts it — the same executable, argv,
/// environment changes and working directory — so a benchmark can run the very same command
/// without the pool (directly, or through xargs, GNU parallel or Python) and compare fairly.
/// The environment and directory come from the executor's own `cli_base_request`; the
/// argv from `build_cli_args` for a task without overrides.

#include <string>
#include <utility>
#include <vector>

#include "messages/config.hpp"
#include "runtime/process/process_runner.hpp"

namespace claude_pool::bench {

struct cli_invocation {
  std::string executable;
  std::vector<std::string> args; ///< argv[1..]; the prompt is not among them (it goes to stdin)
  std::vector<std::pair<std::string, std::string>> env_set;
  std::vector<std::string> env_unset;
  std::string working_dir; ///< empty: inherit

  /// A request for the library's process runner with `prompt` on stdin.
  runtime::process_request process_request(std::string prompt) const;

  /// This process's environment with `env_unset` removed and `env_set` applied, as
  /// `NAME=value` strings (for posix_spawn and for external runners).
  std::vector<std::string> environment() const;
};

/// What the pool's executor runs for a task without overrides on a fresh (ephemeral) slot.
cli_invocation invocation_for(const pool_config& cfg, const std::string& default_claude_bin);

/// The pool the process-level benchmarks run a CLI through: `slots` ephemeral slots (no
/// session to resume) running `claude_bin` in `working_dir`.
pool_config cli_pool_config(const std::string& claude_bin, const std::string& working_dir,
                            std::uint64_t slots);

} // namespace claude_pool::bench
