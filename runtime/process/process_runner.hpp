#pragma once

// Spawns and watches child processes without ever blocking the caller. One background thread
// runs one I/O loop that owns every child: it forks them, feeds their stdin, drains their
// stdout/stderr, notices their exit and enforces timeouts. Deliberately free of Boost headers
// (pimpl): CAF translation units include this one and are slow enough to compile already.
//
// No orphans, as far as Linux lets an unprivileged process guarantee it:
// - Children are started by the runner's spawner (spawner_link.hpp, spawner/), a small
//   helper process that is PR_SET_CHILD_SUBREAPER for its own descendants: each command in
//   its own process group, and whatever escapes a command (new session, cleared environment)
//   comes back to the spawner when its parent dies and is killed once its command has ended.
//   The rest of this comment is the fallback without a spawner (CLAUDE_POOL_SPAWNER=none, or
//   none found), which the spawner path also keeps where it says "run token":
// - Each child runs under a small guardian process that leads the child's process group and
//   reports the command's exit code or signal unchanged (runtime/process/child_spawn.hpp).
// - Each child's environment holds CLAUDE_POOL_RUN_TOKEN=<runner instance>-<child id>, which
//   its descendants inherit whatever their session or process group. When the command ends,
//   is stopped, or this process dies (even by SIGKILL: the guardian gets a parent-death
//   signal), every process carrying the token and every member of the group is SIGKILLed.
// - Guaranteed: the command, its process group, and every descendant that still carries the
//   token (setsid()'d tools such as the CLI's Bash tool, daemonised ones, processes ignoring
//   SIGTERM/SIGINT) are sent SIGKILL by the time the child is reported (the runner's second
//   sweep follows just after the report), and within moments of this
//   process being SIGKILLed — also when this process itself runs under another runner.
// - Not guaranteed: a descendant that exec'd with an environment lacking the token (`env -i`,
//   sudo's env_reset) and is outside the group — e.g. one that daemonised AND cleared its
//   environment; one running as another user; one in another PID namespace; work handed to a
//   daemon that is not our descendant (systemd-run, docker). A guardian SIGKILLed by the
//   runner's escalation or by anyone else cannot sweep; the runner's sweep after reaping it
//   still runs, but not if this process dies in that same instant. Details:
//   runtime/process/descendant_sweep.hpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace claude_pool::runtime {

/// The environment variable that marks a child and all its descendants (see above). Set on
/// every child, overriding env_set and any inherited value.
inline constexpr const char* run_token_variable = "CLAUDE_POOL_RUN_TOKEN";

/// What to run and how. Nothing here goes through a shell.
struct process_request {
  /// A path (relative ones are resolved against this process's working directory, not
  /// `working_dir`), or a bare name searched in the child's PATH (env_set may override it).
  std::string executable;
  /// argv[1..]; argv[0] is `executable` as given.
  std::vector<std::string> args;
  /// Written to the child's stdin, which is then closed (empty: closed at once).
  std::string stdin_data;
  /// Added or overridden on top of this process's environment.
  std::vector<std::pair<std::string, std::string>> env_set;
  /// Removed from the child's environment (e.g. CLAUDECODE). Applied before env_set.
  std::vector<std::string> env_unset;
  /// Empty: inherit this process's working directory.
  std::string working_dir;
  /// 0: none. On expiry the process group is stopped (SIGINT, kill_grace, SIGKILL).
  std::chrono::milliseconds timeout{0};
  /// Bytes kept; the rest is read and discarded and the *_truncated flag set.
  std::size_t stdout_limit = 64u << 20;
  std::size_t stderr_limit = 64u << 10;
  /// Time between SIGINT and SIGKILL to the process group on timeout or cancel.
  std::chrono::milliseconds kill_grace{2000};
  /// A conversational child: stdin stays open after `stdin_data`; more is written with
  /// `process_runner::write()` until `close_stdin()`.
  bool keep_stdin_open = false;
  /// When set, stdout is handed over as it arrives, chunk by chunk, on the runner's thread
  /// (must not block), instead of being collected into `stdout_data`.
  std::function<void(std::string_view)> on_stdout;
};

/// How a child ended.
enum class process_end { exited, signaled, timed_out, cancelled, spawn_failed };

/// Everything known about a finished child.
struct process_outcome {
  process_end end = process_end::spawn_failed;
  /// The exit status when the child exited (also after a timeout or cancel that it answered
  /// by exiting); -1 otherwise, or when the status could not be collected.
  int exit_code = -1;
  /// The signal that ended the child, whatever `end` is; 0 if it exited.
  int signal = 0;
  /// When spawn_failed: a sentence naming the executable and the cause.
  std::string spawn_error;
  std::string stdout_data;
  bool stdout_truncated = false;
  std::string stderr_data;
  bool stderr_truncated = false;
  /// From just before the fork to the report.
  std::chrono::milliseconds elapsed{0};
  /// The command's pid, which is also its process group id (without a spawner: the guardian's,
  /// the command being the guardian's child). 0 when no process was created.
  int pid = 0;
};

/// "exited", "signaled", "timed_out", "cancelled" or "spawn_failed".
const char* to_string(process_end);

/// Runs child processes, each in its own process group under a guardian, on one I/O thread.
///
/// A child is reported once it was reaped and its stdout/stderr reached EOF. When the command
/// exits, whatever is left of its process group and every process carrying its run token is
/// SIGKILLed; pipes still held open after that (by a descendant that escaped both, see above)
/// are closed after a short bound (500 ms).
class process_runner {
public:
  /// Runs on the runner's I/O thread: must not block, should not throw (exceptions are
  /// swallowed), may call start() and cancel(), must not destroy the runner.
  using completion = std::function<void(process_outcome)>;

  process_runner();
  /// Stops every running child (SIGKILL to its group; their completions run with
  /// end == cancelled, or timed_out if the timeout had already fired), waits for them, joins
  /// the I/O thread. Requests still queued are reported cancelled without being spawned.
  ~process_runner();
  process_runner(const process_runner&) = delete;
  process_runner& operator=(const process_runner&) = delete;

  /// Thread-safe; returns an id at once. `done` is called exactly once, also for spawn
  /// failures (never an exception for those).
  std::uint64_t start(process_request req, completion done);

  /// Thread-safe. Stops the child's group gracefully (SIGINT, kill_grace, SIGKILL) and reports
  /// end == cancelled. False if the id is unknown or already reported. True means it was
  /// running when asked; it may still have ended on its own just before the stop arrived.
  bool cancel(std::uint64_t id);

  /// Thread-safe. Appends `data` to the stdin of a child started with `keep_stdin_open`;
  /// writes go out in call order. False if the id is unknown or already reported.
  bool write(std::uint64_t id, std::string data);

  /// Thread-safe. Closes that stdin once everything written so far has gone out.
  bool close_stdin(std::uint64_t id);

  /// Requests started whose completion has not run yet.
  std::size_t running() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claude_pool::runtime
