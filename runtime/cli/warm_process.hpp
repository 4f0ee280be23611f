#pragma once
/// One long-lived `claude` process in stream-json mode, fed one task at a time (a warm
/// slot's process). Each task's `result` event becomes the same `task_result` as one-shot
/// mode, with the cost, turns and model of that task alone (the CLI's figures are
/// cumulative per process). A process that saw a failed or interrupted task is marked
/// tainted: its conversation may hold the task's prompt, so the executor replaces it.
///
/// Thread-safe: `run`, `interrupt` and `stop` may be called from any thread; completions run
/// on the process runner's or the timer's thread and must not block.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "messages/records.hpp"
#include "runtime/cli/cli_result.hpp"
#include "runtime/process/process_runner.hpp"
#include "runtime/cli/limit_signals.hpp"
#include "runtime/cli/stream_json.hpp"
#include "runtime/cli/timer_thread.hpp"

namespace claude_pool {

/// How to start a warm process.
struct warm_launch {
  runtime::process_request proc;     ///< stream-json argv, env, working dir, kill grace
  std::string key;                   ///< the settings fixed for the process's life
  std::optional<std::string> model;  ///< the model it starts with
};

class warm_process : public std::enable_shared_from_this<warm_process> {
public:
  using completion = std::function<void(task_result)>;
  /// Receives the running task's stdout lines as they arrive (for live progress), and last
  /// its `result` event made per-task (cost of this task alone), before its completion.
  using event_sink = std::function<void(std::string_view line)>;

  /// Starts the process (it waits for its first task on stdin).
  static std::shared_ptr<warm_process> launch(runtime::process_runner& runner,
                                              runtime::timer_thread& timers, warm_launch how);
  ~warm_process();

  /// Runs one task; the process must be idle. `fresh`: a new conversation first (`/clear`).
  /// A model other than the process's current one is switched with `set_model`.
  /// `on_event` (optional) sees the task's events, none of a `/clear` before it.
  void run(const std::string& prompt, const std::optional<std::string>& model, bool fresh,
           cli_run_context ctx, completion done, event_sink on_event = {});

  /// Cancel: the control protocol's interrupt; if no result follows within `grace`, the
  /// process is killed. The task ends `cancelled` either way.
  void interrupt(std::chrono::milliseconds grace);

  /// Kills the process; a running task ends as `why` says (cancelled or timed_out).
  void kill(runtime::process_end why);

  /// Ends the process (closes stdin, then stops its group).
  void stop();

  bool usable() const;  ///< alive, not tainted, idle
  bool busy() const;
  const std::string& key() const { return key_; }
  /// The model set on the process (by `--model` or `set_model`); none: the CLI's default.
  std::optional<std::string> model() const;
  std::uint32_t tasks_run() const;
  /// The uuid of the last assistant message of the last successful task: where a
  /// replacement process resumes the conversation (`--resume-session-at`), so a failed or
  /// interrupted task after it stays out.
  std::optional<std::string> last_good_message() const;
  /// RSS of every process of this warm process (the CLI and its tools), in bytes.
  std::uint64_t rss_bytes() const;

private:
  warm_process(runtime::process_runner& runner, runtime::timer_thread& timers, std::string key,
               std::optional<std::string> model, std::string marker);
  void on_stdout(std::string_view chunk);
  void on_line(const std::string& line);
  void on_exit(runtime::process_outcome out);
  void write(std::string line);

  enum class phase { idle, clearing, running, interrupting };

  runtime::process_runner& runner_;
  runtime::timer_thread& timers_;
  const std::string key_;
  const std::string marker_;  ///< env entry that marks this process's members (for RSS)
  mutable std::mutex mutex_;
  std::uint64_t proc_ = 0;
  bool alive_ = true;
  bool tainted_ = false;
  phase phase_ = phase::idle;
  std::optional<std::string> model_;
  stream_json::line_splitter lines_;
  stream_json::cumulative_cost cost_;
  limit_signals signals_; ///< of the running task: retries, usage windows
  cli_run_context ctx_;
  completion done_;
  std::shared_ptr<const event_sink> sink_; ///< of the running task (shared: copied per line)
  std::optional<runtime::process_end> kill_reason_;
  std::optional<std::uint64_t> grace_timer_;
  std::uint32_t tasks_ = 0;
  std::optional<std::string> last_assistant_;  ///< of the running task
  std::optional<std::string> last_good_;
  std::chrono::steady_clock::time_point task_started_;
  std::uint64_t request_seq_ = 0;
};

} // namespace claude_pool
