#pragma once

// Finds and SIGKILLs processes by an environment entry they inherited, whatever their session,
// process group or parent. The process runner gives every child a unique
// CLAUDE_POOL_RUN_TOKEN=<runner>-<child> entry; descendants inherit it, so this one /proc pass
// reaches the CLI's tools even after they called setsid() and were reparented to init.
//
// What a pass reaches, and what it does not:
// - It reads /proc/<pid>/environ, which is the environment a process was *exec'd* with.
//   unsetenv()/setenv() inside a running process do not hide it; a descendant that execs with
//   an environment lacking the entry (`env -i`, sudo's env_reset, a login shell that rebuilds
//   its environment) escapes, and so does everything it starts afterwards.
// - Processes of other users (setuid programs, sudo) cannot be read nor killed: skipped.
// - Processes in another PID namespace are not visible in our /proc: not reached.
// - Work handed to a daemon that is not our descendant (systemd-run, docker run, at) never
//   carried the entry: not reached.
// - One pass, no retry: a process that forks while the pass runs may leave a child that the
//   pass has already gone by (new pids are usually larger and still get visited). The runner
//   therefore sweeps twice per child (guardian, then the runner after reaping).
// - PID reuse: a matching pid is pinned with a pidfd and re-checked before the signal, so a pid
//   recycled between the check and the kill is never hit.
//
// The core (`sweep_pass`) is async-signal-safe: raw system calls and caller-provided buffers
// only (it runs in the forked guardian of a multi-threaded parent).

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace claude_pool::runtime {

/// What one pass kills: every process other than the caller and `except` whose environment
/// holds one of `entries` exactly (a whole `NAME=value` string, not a prefix), or, when
/// `pgid` > 0, that belongs to process group `pgid`.
struct sweep_target {
  const char* const* entries = nullptr;
  std::size_t entry_count = 0;  // at most sweep_max_entries are considered
  pid_t pgid = 0;
  pid_t except = 0;
};
inline constexpr std::size_t sweep_max_entries = 32;
/// Longer entries never match (the pass compares in a fixed buffer).
inline constexpr std::size_t sweep_max_entry_length = 255;

/// One pass over /proc. Returns how many processes were sent SIGKILL. Async-signal-safe; never
/// allocates; errno is preserved.
std::size_t sweep_pass(const sweep_target& target) noexcept;

/// SIGKILLs every process (except the caller and `except`; 0: none) whose environment contains
/// `entry` (`NAME=value`) exactly. Returns how many were signalled. Does not wait for them.
/// Throws std::invalid_argument for an entry without '=' or longer than sweep_max_entry_length.
std::size_t kill_processes_with_env(const std::string& entry, pid_t except);

/// The same for several entries in as few passes as possible.
std::size_t kill_processes_with_env(const std::vector<std::string>& entries, pid_t except);

} // namespace claude_pool::runtime
