#pragma once
/// The real executor: builds the argv, runs `claude` through the process runner with the
/// prompt on stdin, and parses its JSON result. Slots in `warm` execution mode get one
/// long-lived stream-json process each instead (runtime/cli/warm_process.hpp).

#include <map>
#include <memory>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "messages/config.hpp"
#include "runtime/cli/mcp_config_files.hpp"
#include "runtime/cli/task_executor.hpp"

namespace claude_pool {

namespace runtime {
class process_runner;
class timer_thread;
struct process_request;
}
class warm_process;
class stall_watchdog;

/// The process every CLI run starts from — executable, environment changes (`cli_env`,
/// `CLAUDE_CODE_MAX_RETRIES`, the variables the CLI must not inherit), working directory
/// (`working_dir` if given, else the config's), output cap — before argv and stdin are
/// added. Public so that benchmarks run exactly what the executor runs.
runtime::process_request cli_base_request(const pool_config& cfg, const std::string& claude_bin,
                                          const std::optional<std::string>& working_dir);

class cli_executor : public task_executor {
public:
  /// Process settings come from the pool config: `claude_bin`, `working_dir`,
  /// `task_timeout_secs`, `cli_env`, `cli_max_retries`, `max_output_bytes`,
  /// `detect_permission_prompts`, `slot_mode`, `warm_max_tasks`, `warm_max_rss_mb`.
  /// `default_claude_bin` is used when `claude_bin` is unset.
  cli_executor(const pool_config& cfg, std::string default_claude_bin);
  ~cli_executor() override;

  std::uint64_t start(execution_request req, completion done) override;
  void cancel(std::uint64_t execution) override;
  void release_slot(const slot_id& slot) override;

  /// The executable this executor runs.
  const std::string& claude_bin() const { return claude_bin_; }

  /// Warm processes started so far (for tests and benchmarks).
  std::uint64_t warm_processes_started() const;

private:
  std::uint64_t start_warm(execution_request req, completion done);
  /// A watchdog that stops the one-shot run `*run_id` (0 until it is known) after
  /// `stall_secs` without output; none when stall_secs is 0.
  std::shared_ptr<stall_watchdog>
  start_stall_watchdog(std::shared_ptr<std::atomic<std::uint64_t>> run_id);
  /// Executable, environment, limits; the task's working dir, else the pool's; the slot's
  /// credential's login variables. `problem` says why that credential cannot log in.
  runtime::process_request base_request(const std::optional<std::string>& working_dir,
                                        const std::optional<credential_profile>& credential,
                                        const slot_id& slot, std::string& problem) const;

  /// Puts the task's MCP servers in the slot's 0600 file (not on the command line).
  void use_mcp_file(execution_request& req);

  std::string claude_bin_;
  pool_config cfg_;
  mcp_config_files mcp_files_;
  std::unique_ptr<runtime::timer_thread> timers_;
  /// Stall watchdogs stop runs through runner_: not once the executor is going away.
  std::mutex stopping_mutex_;
  bool stopping_ = false;
  std::unique_ptr<runtime::process_runner> runner_;

  mutable std::mutex warm_mutex_;
  std::map<slot_id, std::shared_ptr<warm_process>> warm_;            ///< one per warm slot
  std::map<std::uint64_t, std::shared_ptr<warm_process>> warm_runs_; ///< execution → process
  /// Per slot: the session of its last successful task and that task's last message, where
  /// a replacement process of a persistent slot resumes.
  std::map<slot_id, std::pair<std::string, std::string>> resume_points_;
  std::uint64_t warm_next_ = 0;
  std::uint64_t warm_started_ = 0;
};

/// With `cli_telemetry.slot_attributes`: puts the slot and its credential first in the
/// child's `OTEL_RESOURCE_ATTRIBUTES` (`claude_pool.slot=…,claude_pool.credential=…`),
/// keeping what the config or the pool's environment gave after them.
void add_telemetry_attributes(runtime::process_request& proc, const slot_id& slot,
                              const std::string& credential);

/// The environment variables the pool removes from every CLI child: set by an outer Claude
/// Code session, they would make the child believe it is nested inside one.
extern const char* const stripped_cli_env[2];

/// The argv of a warm process: a one-shot argv (either output) with stream-json input and
/// output. The executor passes the event-stream argv, so warm processes print partial
/// messages too: live progress needs them, and the lines cost the others next to nothing.
std::vector<std::string> warm_cli_args(std::vector<std::string> one_shot_args);

/// Everything that a CLI process fixes for its whole life — the resolved config but the
/// model, which `set_model` changes, and the working directory (`working_dir`, as the child
/// gets it; empty: the executor's own): two tasks with different keys need different
/// processes. (Going back from a named model to the CLI's default also takes a new process.)
std::string warm_process_key(const resolved_config& cfg, const std::string& working_dir = {});

} // namespace claude_pool
