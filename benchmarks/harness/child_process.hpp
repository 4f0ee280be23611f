#pragma once
/// Runs this very program again as a child (one benchmark step per child), so each step's
/// memory, threads and peak RSS are its own. The child dies with its parent
/// (PR_SET_PDEATHSIG): a killed benchmark leaves no step behind, and each step's own
/// children are guarded by the library's process runner.

#include <string>
#include <vector>

namespace claude_pool::bench {

struct child_outcome {
  int exit_code = -1; ///< -1 unless it exited
  int signal = 0;     ///< the signal that ended it, if one did
  bool timed_out = false;
  double wall_s = 0;
  double user_s = 0, sys_s = 0;
  /// wait4's ru_maxrss: the larger of the child's own peak RSS and that of the largest
  /// process it waited for (the kernel folds reaped descendants in).
  long maxrss_kib = 0;
  /// SIGINT or SIGTERM arrived while waiting: the child was killed, the caller should stop.
  int interrupted_by = 0;
  std::string error; ///< set when the child could not be started
};

/// Runs /proc/self/exe with `args` (argv[1..]), the caller's stdin/stdout/stderr and its
/// environment with `tmpdir` as TMPDIR (so everything the step leaves in temporary
/// directories lives under one directory the caller removes). Kills it (SIGKILL) after
/// `timeout_s`, or when this process gets SIGINT or SIGTERM meanwhile.
child_outcome run_self(const std::vector<std::string>& args, const std::string& tmpdir,
                       double timeout_s);

} // namespace claude_pool::bench
