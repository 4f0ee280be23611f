#pragma once
/// Records of the reference data model: `SlotRecord`, `TaskResult`, `TaskRecord`,
/// `TaskFilter`. Timestamps are milliseconds since the Unix epoch.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/boxed.hpp"
#include "messages/shared_value.hpp"
#include "messages/config.hpp"
#include "messages/enums.hpp"
#include "messages/ids.hpp"

namespace claude_pool {

/// A slot of the pool (reference `SlotRecord`).
struct slot_record {
  slot_id id;
  slot_state state = slot_state::idle;
  /// Shared (messages/shared_value.hpp): copies of a record share one configuration; change
  /// it with `config.edit()`.
  shared_value<slot_config> config;
  std::optional<task_id> current_task;
  std::optional<std::string> session_id;
  std::uint64_t tasks_completed = 0;
  std::uint64_t cost_microdollars = 0;
  std::uint32_t restart_count = 0;
  boxed<std::string> worktree_path; ///< boxed (messages/boxed.hpp): rarely set
  // -- extension (omitted when unset) -----------------------------------------------------
  /// Why the slot is errored or was last restarted.
  boxed<std::string> last_error;
  /// The node the slot runs on, for slots a slot host contributed (`serve --join`); unset
  /// for the pool's own slots.
  std::optional<std::string> node;
};

/// The outcome of one execution (reference `TaskResult`).
/// A usage window's state as the CLI reports it (`rate_limit_event`, OAuth logins only; see
/// ../shared/CLI_LIMITS_FACTS.md), extension.
struct rate_limit_info {
  std::string status;                        ///< allowed, allowed_warning, rejected
  std::optional<std::uint64_t> resets_at_ms; ///< when the window resets
  std::optional<std::string> window;         ///< five_hour, seven_day, … (`rateLimitType`)
  std::optional<double> utilization;         ///< 0..1, when reported
};

/// Tokens one execution used, as the CLI's result reports them (its `usage`; extension).
struct token_usage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cache_creation_input_tokens = 0;
  std::uint64_t cache_read_input_tokens = 0;
};

struct task_result {
  std::string output;
  bool success = false;
  std::uint64_t cost_microdollars = 0;
  std::uint32_t turns_used = 0;
  std::uint64_t elapsed_ms = 0;
  std::optional<std::string> model;
  std::optional<std::string> session_id;
  // Boxed (messages/boxed.hpp), here and below: set on failures only, or rarely.
  boxed<std::string> failed_command;
  std::optional<std::int32_t> exit_code;
  boxed<std::string> stderr_text; ///< JSON field `stderr`
  bool budget_exceeded = false;
  // -- extensions (omitted when unset) ----------------------------------------------------
  /// The CLI's `structured_output` when the task asked for `json_schema`.
  boxed<nlohmann::json> structured_output;
  /// The CLI's `subtype` (`success`, `error_max_turns`, …) or a pool-side reason
  /// (`cancelled`, `timeout`, `spawn_failed`, `unparsable_output`, …).
  std::optional<std::string> subtype;
  /// The CLI's `api_error_status` (401, 429, 529, …) when an API call failed.
  std::optional<std::int32_t> api_error_status;
  /// Retries the CLI made itself (`system/api_retry` events) and the delay it was told to
  /// wait before the last one (the server's `retry-after`, or its own backoff).
  std::uint32_t api_retries = 0;
  std::optional<std::uint64_t> retry_after_ms;
  /// The last usage-window state the CLI reported during the run.
  boxed<rate_limit_info> rate_limit;
  /// The tokens the CLI reported for the run (absent when it reported none).
  std::optional<token_usage> usage;

  static task_result failure(std::string output, std::string subtype);
};

/// One failed execution of a task that was then tried again (extension).
struct attempt_record {
  std::uint32_t attempt = 0;
  std::optional<claude_pool::slot_id> slot_id;
  std::string subtype;   ///< the failure's subtype (`crashed`, `timeout`, …)
  std::string reason;    ///< the failure's output text
  std::uint64_t cost_microdollars = 0;
  std::uint64_t ended_at_ms = 0;
};

/// What a running task has done so far (extension): filled from the CLI's stream-json events
/// for tasks submitted with `live_progress`, kept once the task ends.
struct task_progress {
  std::uint32_t turns = 0;      ///< assistant messages so far
  std::uint32_t tool_uses = 0;  ///< tool calls so far
  std::optional<std::string> last_tool; ///< the most recent tool's name
  std::string partial_output;   ///< the text of the current answer so far (its last 4 KiB)
  std::uint64_t input_tokens = 0;   ///< incl. cache reads and writes
  std::uint64_t output_tokens = 0;
  /// Estimated from the tokens and the model's list price while the task runs; the CLI's
  /// `total_cost_usd` once the result arrives.
  std::uint64_t cost_microdollars = 0;
  bool cost_is_final = false;
  std::uint64_t updated_at_ms = 0;
};

/// A task submitted to the pool (reference `TaskRecord`).
struct task_record {
  task_id id;
  std::string prompt;
  task_state state = task_state::pending;
  std::optional<claude_pool::slot_id> slot_id;
  boxed<task_result> result; ///< an optional on the heap: see messages/boxed.hpp
  std::vector<std::string> tags;
  boxed<task_overrides> config;
  bool review_required = false;
  std::uint32_t max_rejections = 3;
  std::uint32_t rejection_count = 0;
  boxed<std::string> original_prompt; ///< boxed, as the other rarely set parts below
  std::optional<std::uint64_t> created_at_ms;
  std::optional<std::uint64_t> started_at_ms;
  std::optional<std::uint64_t> completed_at_ms;
  // -- extensions (omitted when default) --------------------------------------------------
  /// Executions allowed for failures a retry may fix (crash, hang, lost slot, unparsable
  /// output, API 5xx). 1 = at most once, the default: tasks may edit files.
  std::uint32_t max_attempts = 1;
  /// Every earlier failed execution, oldest first.
  std::vector<attempt_record> attempts;
  /// Times the task went back to the queue because the API was rate-limited / overloaded
  /// (never counted as attempts).
  std::uint32_t rate_limit_waits = 0;
  /// While it waits for a limit: when it may run again, why, and since when it has been
  /// waiting (its first limit in a row; `max_wait_secs` counts from here).
  std::optional<std::uint64_t> waiting_until_ms;
  boxed<std::string> wait_reason;
  std::optional<std::uint64_t> waiting_since_ms;
  /// The task runs with the CLI's event stream so its progress can be followed.
  bool live_progress = false;
  /// Its progress (tasks with `live_progress` once they started).
  boxed<task_progress> progress;
  /// The directory the task runs in when it is not its slot's (see `task_submission`).
  boxed<std::string> working_dir;

  /// A pending task stamped with the current time (reference `new_pending`).
  static task_record new_pending(task_id id, std::string prompt);

  /// Moves to `next`, setting `started_at_ms` on running and `completed_at_ms` on
  /// completed / failed / cancelled / pending_review (reference `transition_to`).
  void transition_to(task_state next);
};

/// Microdollars as dollars with six decimals ("$0.012345"), for messages and tables.
std::string format_microdollars(std::uint64_t microdollars);

/// Criteria for listing tasks (reference `TaskFilter`); unset criteria match everything,
/// `tags` matches a task carrying any of them.
struct task_filter {
  std::optional<task_state> state;
  std::optional<claude_pool::slot_id> slot_id;
  std::optional<std::vector<std::string>> tags;
  // -- paging (extension; omitted when unset) ---------------------------------------------
  /// At most this many records (the first `limit` matches after the cursor). Unset: all.
  std::optional<std::uint64_t> limit;
  /// The cursor: only tasks submitted after this one (the last id of the previous page).
  /// An id the pool does not know fails the list with `unknown_task`.
  std::optional<task_id> after;

  /// Whether the task meets the criteria (paging aside).
  bool matches(const task_record& t) const;
};

} // namespace claude_pool
