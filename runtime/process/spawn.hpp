#pragma once
// The one way the tree starts a child process: the process runner's CLI children (under a
// guardian, child_spawn.hpp), git for worktrees, the benchmarks' steps and nodes, and the
// tests' background programs. No shell ever: argv goes to execve as it is.
//
// Built on fork + execve rather than posix_spawn, because posix_spawn cannot ask for a
// parent-death signal, and so that every failure before the exec comes back as a stage and
// an errno (through a close-on-exec status pipe) instead of a bare exit code 127. Everything
// the child needs is prepared before the fork; between fork and exec the child makes only
// async-signal-safe calls. spawn() returns once the command was exec'd or failed, so a
// failure leaves nothing running.
//
// Every child starts as a fresh process would: an empty signal mask and every disposition
// SIG_DFL (a SIG_IGN of the parent's, such as SIGPIPE, would otherwise survive the exec;
// with SIGCHLD ignored, git could not wait for its own hooks).
//
// The process runner starts its children through a long-lived spawner instead (spawner_link.hpp)
// and uses this function only without one; the other callers (git, tests, benchmarks) start a
// few children each, where a fork of the caller costs nothing that matters.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace claude_pool::runtime {

/// Where one of a child's standard streams goes.
struct spawn_stream {
  enum class kind {
    inherit,     ///< the caller's own stream
    null_device, ///< /dev/null
    descriptor,  ///< the caller's `fd` (it stays the caller's; spawn does not close it)
    file,        ///< `path`, created (0600) or truncated, opened by the caller's process
    same_as_out, ///< stderr only: the very file description stdout gets (2>&1)
  };
  kind what = kind::inherit;
  int fd = -1;
  std::string path;

  static spawn_stream inherit() { return {}; }
  static spawn_stream null_device() { return {kind::null_device, -1, {}}; }
  static spawn_stream descriptor(int fd) { return {kind::descriptor, fd, {}}; }
  static spawn_stream file(std::string path) { return {kind::file, -1, std::move(path)}; }
  static spawn_stream same_as_out() { return {kind::same_as_out, -1, {}}; }
};

/// What to start and how.
struct spawn_spec {
  /// A path (relative ones are taken from the caller's working directory, not
  /// `working_dir`), or a bare name searched in the child's PATH (env_set may override it).
  std::string executable;
  /// argv[1..]; argv[0] is `executable` as given.
  std::vector<std::string> args;
  /// The child's environment is the caller's, minus `env_unset`, plus `env_set` (which
  /// replaces an inherited value of the same name).
  std::vector<std::string> env_unset;
  std::vector<std::pair<std::string, std::string>> env_set;
  /// Where the child starts; empty: the caller's working directory.
  std::string working_dir;
  spawn_stream in, out, err;
  /// The child leads a new process group (its pid), so it can be killed with everything it
  /// started: kill(-pid, ...).
  bool new_process_group = false;
  /// Sent to the child when the thread that called spawn() ends (PR_SET_PDEATHSIG); 0: none.
  /// A child whose parent is gone before it could ask exits with 127 instead of running.
  int parent_death_signal = 0;
  /// Close every other inherited descriptor, not only the close-on-exec ones (a caller whose
  /// descriptors are not all close-on-exec, e.g. sockets of a library).
  bool close_other_descriptors = false;
  /// Non-empty ("NAME=value"): start the command under a guardian (child_spawn.hpp), which
  /// leads a new process group, gives the command this run token (it wins over env_set and
  /// inherited values), sweeps its carriers when the command ends or the caller's process
  /// dies, and hands the command's exit status on unchanged. The guardian decides group and
  /// parent-death handling itself: new_process_group and parent_death_signal are not used,
  /// and it always closes every other descriptor.
  std::string guardian_token;
};

/// A started child, or why it could not start.
struct spawn_result {
  /// The child's pid (with a guardian: the guardian's, the leader of the child's group); 0
  /// when it could not start.
  pid_t pid = 0;
  /// When pid is 0: a sentence naming the executable and the cause (then nothing is left
  /// running).
  std::string error;
  explicit operator bool() const { return pid > 0; }
};

/// Starts `spec`; blocks only until the command was exec'd or failed. The caller reaps the
/// child (waitpid/wait4 on the pid) and owns everything about its life from then on.
spawn_result spawn(const spawn_spec& spec);

} // namespace claude_pool::runtime
