#pragma once
// Internal to spawn.cpp and child_spawn.cpp: what both ways of starting a child share.
// A launch_plan holds everything the child needs, built before the fork, because after it
// a child of a threaded process may not allocate (another thread may have held the malloc
// lock). The functions under "after fork" are async-signal-safe; the rest run in the caller.

#include "runtime/process/descriptors.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace claude_pool::runtime {

struct spawn_spec;

namespace detail {

struct launch_plan {
  launch_plan() = default;
  launch_plan(const launch_plan&) = delete;  // argv, envp and token_entries point into it
  launch_plan& operator=(const launch_plan&) = delete;

  std::string executable;   // as given, for messages
  std::string path;         // what execve gets
  std::string working_dir;  // empty: the caller's
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;
  std::string token_entry;  // the guardian's run token, if any
  const char* token_entries[1] = {nullptr};
  pid_t parent = 0;  // the caller's process
  // The sources of the child's 0, 1 and 2, all >= 3; -1 keeps the inherited stream.
  int in = -1, out = -1, err = -1;
  bool err_to_out = false;  // 2>&1 after the others
  // spawn_spec's options for a child started without a guardian.
  bool new_process_group = false, close_other_descriptors = false;
  int parent_death_signal = 0;
  std::vector<unique_fd> opened;  // files and copies made for the child, closed after the fork
};

/// Fills `plan` from `spec`: environment, argv, the executable's path (PATH searched in the
/// child's environment), the stdio sources. False with `error` set (a sentence naming the
/// executable) on a problem found before forking.
bool prepare(const spawn_spec& spec, launch_plan& plan, std::string& error);

// ---- after fork: async-signal-safe only ------------------------------------------------------

/// Where a failure before the exec happened; travels back with its errno.
enum class child_stage : int { setup = 1, chdir = 2, exec = 3, fork = 4 };
struct child_failure {
  int stage;
  int error;
};

/// Writes (stage, err) to the status pipe and exits with 127.
[[noreturn]] void report_and_exit(int status_fd, child_stage stage, int err);

/// Every disposition back to SIG_DFL: a SIG_IGN (SIGPIPE; SIGCHLD would even auto-reap) or a
/// handler of the parent's must not survive into the child.
void reset_dispositions();

/// Puts plan.in/out/err on 0/1/2 (and 2>&1 when asked). False with errno set.
bool attach_stdio(const launch_plan& plan);

/// Closes every descriptor >= `low`, close-on-exec or not.
void close_from(int low);

/// Changes to the plan's working directory and execs; reports the stage that failed.
[[noreturn]] void exec_or_report(const launch_plan& plan, int status_fd);

// ---- back in the caller ----------------------------------------------------------------------

/// Blocks until the child exec'd (EOF on the close-on-exec status pipe, every other copy of
/// its write end closed) or reported a failure: true, with `failure` filled, then.
bool failed_before_exec(int status_read_end, child_failure& failure);

/// A sentence naming the executable and the cause.
std::string describe_failure(const launch_plan& plan, child_failure f);

} // namespace detail
} // namespace claude_pool::runtime
