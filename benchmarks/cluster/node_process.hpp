#pragma once
/// A `claude-pool serve` started by the benchmark: its pid, so that exactly this process is
/// signalled, and its output in a log file. It dies with the benchmark (PR_SET_PDEATHSIG,
/// SIGKILL), and a node_process destroyed while its process still runs kills it, so no
/// error path leaves one behind.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

struct rusage;

namespace claude_pool::bench {

class node_process {
public:
  /// Starts `argv` with the benchmark's environment minus `unset`; stdout and stderr go to
  /// `log`. Throws std::runtime_error when it cannot start.
  node_process(const std::vector<std::string>& argv, std::string log,
               const std::vector<std::string>& unset);
  ~node_process();

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  /// False once it has exited (reaps it).
  bool running();

  /// Waits until the program wrote its port to `file` (`serve --port-file`). Throws
  /// std::runtime_error, with the log's end, when it exits or `bound` passes first.
  std::uint16_t wait_for_port(const std::string& file, std::chrono::seconds bound);

  /// Sends SIGTERM (when it still runs).
  void terminate();

  /// Waits until it has exited or `until` passes; true when it has exited.
  bool wait_until(std::chrono::steady_clock::time_point until);

  /// SIGTERM, then SIGKILL after `grace`; the exit code, or 128 + signal.
  int stop(std::chrono::milliseconds grace);

  /// The exit code (128 + signal), or -1 while it runs.
  int exit_code() const { return exit_; }

  /// CPU seconds (user + system) it used, with every descendant it waited for (its CLI
  /// processes); known once it has exited.
  double cpu_s() const { return cpu_s_; }

  /// The last `bytes` of its output.
  std::string log_tail(std::size_t bytes = 800) const;

private:
  void reaped(int status, const ::rusage& ru);

  std::string log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_ = -1;
  double cpu_s_ = 0;
};

} // namespace claude_pool::bench
