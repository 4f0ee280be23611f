#pragma once
/// Requests and replies exchanged between the facade, the pool and its slots.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "messages/records.hpp"

namespace claude_pool {

/// What a client submits: a prompt plus optional tags and per-task overrides.
struct task_submission {
  std::string prompt;
  std::vector<std::string> tags;
  std::optional<task_overrides> config;
  /// Executions allowed for retryable failures (see `task_record::max_attempts`).
  std::uint32_t max_attempts = 1;
  /// Review gate: a successful run ends `pending_review` until approved or rejected.
  bool review_required = false;
  /// Rejections after which the task fails instead of running again.
  std::uint32_t max_rejections = 3;
  /// Run with the CLI's event stream and keep `task_record::progress` up to date.
  bool live_progress = false;
  /// Run the CLI in this directory (a chain's worktree) instead of the slot's own. Such a
  /// task never resumes or continues the slot's persistent session.
  std::optional<std::string> working_dir = std::nullopt;
};

/// Something the supervisor or the pool did that an operator should see.
struct pool_event {
  std::uint64_t at_ms = 0;
  std::string kind; ///< slot_restarted, slot_errored, slot_recovered, rate_limited, auth_failed
  std::optional<claude_pool::slot_id> slot_id;
  std::string message;
  /// Why a slot stopped, as a short name (`process_crashed`, `unhandled_exception`, …): set
  /// on `slot_restarting`, `slot_errored` and `auth_failed` (extension).
  std::optional<std::string> failure_class = std::nullopt;
};

/// One running execution's hold on the budget (extension; issue 18).
struct budget_reservation {
  task_id task;
  std::uint64_t reserved_microdollars = 0;  ///< held back for it
  std::uint64_t allowance_microdollars = 0; ///< its CLI's --max-budget-usd
  std::uint64_t cost_so_far_microdollars = 0; ///< after its latest turn
};

/// A scoped cap: a tag's, a chain's or the day's (extension; issue 18).
struct budget_scope_status {
  std::string name; ///< "tag:research", "chain:c-…", "daily"
  std::uint64_t cap_microdollars = 0;
  std::uint64_t spent_microdollars = 0;
  std::uint64_t reserved_microdollars = 0;
  std::uint64_t remaining_microdollars = 0;
  std::optional<std::uint64_t> resets_at_ms; ///< the daily scope's next reset
};

/// The budget as it stands (when the pool has `budget_microdollars`).
struct budget_status {
  std::optional<std::uint64_t> cap_microdollars;
  std::uint64_t spent_microdollars = 0;     ///< settled costs of every execution so far
  std::uint64_t reserved_microdollars = 0;  ///< allowances of executions still running
  std::optional<std::uint64_t> available_microdollars; ///< neither spent nor reserved
  std::uint64_t reservation_microdollars = 0; ///< what a task without its own budget reserves
  std::uint64_t grants = 0;    ///< executions allowed to start
  std::uint64_t refusals = 0;  ///< tasks refused at start because the budget could not hold them
  std::uint64_t settled = 0;   ///< executions whose cost was booked
  std::uint64_t running = 0;   ///< executions holding a reservation
  std::vector<int> warnings;   ///< thresholds (percent of the cap) crossed so far
  std::string policy;          ///< learn or fixed (pool_config.budget_policy)
  /// Nothing spent or held: what is left of the cap (0 when spent and held reach it).
  std::optional<std::uint64_t> remaining_microdollars;
  std::uint64_t stopped = 0;   ///< executions stopped because the budget could not hold them
  std::vector<budget_reservation> reservations; ///< the holds in force, one per execution
  std::vector<budget_scope_status> scopes;      ///< the scoped caps in use
};

/// One credential as the pool sees it (extension; see `credential_profile`).
struct credential_status {
  std::string name;
  std::uint64_t slots = 0;    ///< slots bound to it
  std::uint64_t running = 0;  ///< tasks under way on it
  std::optional<std::uint64_t> max_concurrent;
  /// While set, no task starts on it before this time…
  std::optional<std::uint64_t> waiting_until_ms;
  /// …and this says why ("usage limit (five_hour window); resets …").
  std::optional<std::string> wait_reason;
  /// Its login was refused; only a probe runs on it until one gets through.
  bool login_refused = false;
};

/// A snapshot of the pool: every slot's record and the task counts by state.
struct pool_status {
  std::vector<slot_record> slots;
  std::uint64_t pending = 0;
  std::uint64_t running = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t pending_review = 0;
  bool draining = false;
  /// While set, no task starts anywhere before this time: every credential waits (for a
  /// limit, or for the probe of a refused login), this being the first to end.
  std::optional<std::uint64_t> cooldown_until_ms;
  /// What that pause waits for ("API overloaded (529); cool-down 20 s", "usage limit
  /// (five_hour window); resets …", "credential \"default\" refused; next check …").
  std::optional<std::string> cooldown_reason;
  /// Each credential the slots use: its slots, tasks, caps and what it waits for.
  std::vector<credential_status> credentials;
  /// The most recent supervision and budget events, oldest first.
  std::vector<pool_event> events;
  /// The budget's figures when the pool has a cap.
  std::optional<budget_status> budget;
  /// Slots the pool is asked to have (scaling target; stopping slots are not counted).
  std::uint64_t target_slots = 0;
  /// Running tasks that asked for live progress: their progress so far, by task id.
  std::map<std::string, task_progress> progress;
  /// Task records the pool holds in memory now (the rest of the counts left it under
  /// `retain_ended_records` and are in the store, if any).
  std::uint64_t records_in_memory = 0;
};

/// Pool → scaler: what autoscaling looks at.
struct pool_load {
  std::uint64_t slots = 0;   ///< slots in service (not being stopped)
  std::uint64_t busy = 0;    ///< slots running a task
  std::uint64_t pending = 0; ///< tasks waiting for a slot
  std::vector<std::uint64_t> idle_since_ms; ///< one entry per idle slot
};

/// What a drain did: tasks that finished during it, and those it had to cancel at the
/// deadline (pending ones never ran; running ones had their process group killed).
struct drain_summary {
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t cancelled_at_deadline = 0;
  bool deadline_reached = false;
  std::uint64_t elapsed_ms = 0;
};

/// Pool → slot: run this task.
struct task_assignment {
  task_id id;
  std::string prompt;
  std::optional<task_overrides> overrides;
  bool live_progress = false;
  /// Where the CLI runs for this task (a chain's worktree). Unset: the slot's directory.
  std::optional<std::string> working_dir;
  /// Report the cost after every turn (as progress), for the budget to track.
  bool watch_cost = false;
};

/// One submission's answer in a batch (`submit_atom` with a vector of submissions, the
/// facade's `submit_all`): the accepted task's id, or why it was refused.
struct submit_answer {
  std::optional<task_id> id;
  std::uint32_t error_code = 0; ///< a `pool_errc` (messages/caf_types.hpp) when refused
  std::string error;            ///< the refusal's sentence
};

void to_json(nlohmann::json& j, const pool_event& x);
void from_json(const nlohmann::json& j, pool_event& x);
void to_json(nlohmann::json& j, const task_submission& x);
void from_json(const nlohmann::json& j, task_submission& x);
void to_json(nlohmann::json& j, const credential_status& x);
void from_json(const nlohmann::json& j, credential_status& x);
void to_json(nlohmann::json& j, const budget_reservation& x);
void from_json(const nlohmann::json& j, budget_scope_status& x);
void to_json(nlohmann::json& j, const budget_scope_status& x);
void from_json(const nlohmann::json& j, budget_reservation& x);
void to_json(nlohmann::json& j, const budget_status& x);
void from_json(const nlohmann::json& j, budget_status& x);
void to_json(nlohmann::json& j, const pool_status& x);
void from_json(const nlohmann::json& j, pool_status& x);
void to_json(nlohmann::json& j, const pool_load& x);
void from_json(const nlohmann::json& j, pool_load& x);
void to_json(nlohmann::json& j, const drain_summary& x);
void from_json(const nlohmann::json& j, drain_summary& x);
void to_json(nlohmann::json& j, const task_assignment& x);
void from_json(const nlohmann::json& j, task_assignment& x);
void to_json(nlohmann::json& j, const submit_answer& x);
void from_json(const nlohmann::json& j, submit_answer& x);

/// Reads one line of a batch file as a user wrote it: `prompt` (not empty), `tags`,
/// `max_attempts`, `live_progress` and `config` (validated); unknown fields are errors.
/// Throws `json_error` (messages/json.hpp) naming the field (`line.config.max_turns: ...`).
task_submission parse_batch_line(const nlohmann::json& j);

} // namespace claude_pool
