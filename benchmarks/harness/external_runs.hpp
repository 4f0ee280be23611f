#pragma once
/// The ways of running N commands at concurrency C that the pool is compared with.
/// - The raw loop is the physical limit: C threads, each posix_spawn → write the prompt to
///   stdin → read stdout to EOF → waitpid, nothing else.
/// - External runners (xargs, GNU parallel, the Python runner) run as one process each,
///   started through the library's process runner so that nothing they start can outlive
///   the benchmark (guardian + run-token sweep, see runtime/process/process_runner.hpp).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/common/cli_invocation.hpp"

namespace claude_pool::bench {

/// How one batch of runs went.
struct batch_outcome {
  double wall_s = 0;
  std::size_t failed = 0; ///< runs that exited non-zero or printed nothing (raw loop only)
  std::string error;      ///< set when the batch as a whole failed
};

/// Runs `tasks` copies of `inv` with at most `concurrency` at once; task i gets
/// "<prompt> <i>" on stdin, its stdout is read to EOF, its stderr goes to /dev/null.
batch_outcome run_raw_spawn_loop(const cli_invocation& inv, std::size_t tasks,
                                 std::size_t concurrency, const std::string& prompt);

/// The same through the library's process runner alone (no actors): `concurrency` requests
/// outstanding, the next started from the previous one's completion. Tells apart what the
/// runner (guardian, sweeps, one I/O thread) costs from what the actors cost.
batch_outcome run_process_runner_loop(const cli_invocation& inv, std::size_t tasks,
                                      std::size_t concurrency, const std::string& prompt);

/// Runs `argv` (argv[0] searched in PATH) once with the environment changes and working
/// directory of `inv` and `stdin_data` on its stdin; the batch failed unless it exits 0.
/// Its output is read and thrown away (the first KiB of stderr is kept for `error`).
batch_outcome run_external(const std::vector<std::string>& argv, const cli_invocation& inv,
                           std::string stdin_data = {});

/// The full path of `name` in PATH, if it is an executable there.
std::optional<std::string> find_in_path(const std::string& name);

/// The first line `argv` prints on stdout (for version strings); empty if it cannot run.
std::string first_output_line(const std::vector<std::string>& argv);

} // namespace claude_pool::bench
