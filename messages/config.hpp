#pragma once
/// Configuration types of the reference data model: `ScalingConfig`, `PoolConfig`,
/// `SlotConfig`, `TaskOverrides`. Field names and defaults follow the reference; fields
/// marked "extension" are claude-pool's own and are omitted from JSON when unset.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/enums.hpp"

namespace claude_pool {

/// MCP server definitions by name (JSON objects as the CLI's `--mcp-config` takes them).
using mcp_server_map = std::map<std::string, nlohmann::json>;

/// Automatic scaling (extension): grow fast while tasks wait, shrink slowly when idle.
struct autoscale_config {
  /// How often the scaler looks at the pool.
  std::uint64_t interval_ms = 1000;
  /// Slots added per look while every slot is busy and tasks wait; 0: one per waiting task.
  std::uint64_t scale_up_step = 0;
  /// A slot idle this long may be stopped…
  std::uint64_t scale_down_idle_secs = 60;
  /// …at most this many per look.
  std::uint64_t scale_down_step = 1;
};

/// Bounds for the slot count (reference `ScalingConfig`).
struct scaling_config {
  std::uint64_t min_slots = 1;
  std::uint64_t max_slots = 16;
  /// Extension: when set, the scaler adjusts the slot count by itself within the bounds.
  std::optional<autoscale_config> autoscale;
};

/// What a task submitted by a remote client may ask for (extension; issue 16, "a node trusts
/// no one"). A remote task must not start programs (MCP servers are commands), leave the
/// node's directory or raise permissions; everything else a task may set is harmless. Local
/// submitters are not bound by it. See actors/submission_policy.hpp for the rules.
struct remote_policy {
  /// Models a remote task may ask for (`model`, `fallback_model`): a model is the operator's
  /// cost decision. The node's own `model` and `fallback_model` are always fine (asking for
  /// what the node runs anyway); empty: only those.
  std::vector<std::string> allowed_models;
  /// Ceiling on a remote task's `max_budget_usd` when it sets one: one client must not spend
  /// the node's budget on a single task. (A task without one is the receiving actor's to cap.)
  double max_task_budget_usd = 1.0;
  /// Tools a remote task may list in `allowed_tools` / `tools` beyond the node's own
  /// `pool_config::allowed_tools`: listing a tool pre-approves it, which raises permissions.
  /// (A subset of the node's own list is always fine; `disallowed_tools` only restricts.)
  std::vector<std::string> allowed_tools;
  /// The operator's explicit opt-in for otherwise forbidden fields, by name (see
  /// `remote_override_names`): a node that wants remote tasks to bring MCP servers, a
  /// directory, a system prompt, a more permissive mode, any tool or any model says so.
  std::vector<std::string> allow_overrides;
  /// A larger prompt is refused before it costs memory, a store row and tokens.
  std::uint64_t max_prompt_bytes = 1ull << 20;
  /// Tasks one remote client may have pending or running at once, so that one client cannot
  /// fill the queue ahead of everyone else.
  std::uint64_t max_pending_per_client = 64;
  /// Ceiling on a remote task's `max_attempts`: each attempt costs again.
  std::uint32_t max_attempts = 3;
};

/// The names `remote_policy::allow_overrides` knows, one per forbidden field.
inline constexpr std::array<std::string_view, 6> remote_override_names = {
  "mcp_servers", "working_dir", "system_prompt", "permission_mode", "tools", "model"};

/// One login the pool's CLI processes may use (extension; issue 17). A pool with several
/// spreads its slots over them; each slot keeps its credential for life, and limits, pauses
/// and the login breaker act per credential, so an exhausted or refused one leaves the
/// others working. At most one of `api_key_env`, `oauth_token_env`, `config_dir`; none: the
/// pool's own environment (plus `env`).
struct credential_profile {
  /// How status, events and `slot_config::credential` name it.
  std::string name;
  /// Name of a variable of the pool's environment holding an API key: the CLI gets it as
  /// `ANTHROPIC_API_KEY` (and no OAuth token). The key itself never enters a config file.
  std::optional<std::string> api_key_env;
  /// Name of a variable holding an OAuth token (`claude setup-token`): the CLI gets it as
  /// `CLAUDE_CODE_OAUTH_TOKEN` (and no API key). Not with `bare` (it turns OAuth off).
  std::optional<std::string> oauth_token_env;
  /// A Claude config directory holding a login (`CLAUDE_CONFIG_DIR=… claude /login`).
  std::optional<std::string> config_dir;
  /// More variables for this credential's processes (e.g. its own `ANTHROPIC_BASE_URL`).
  std::map<std::string, std::string> env;
  /// Tasks running at once on it. Unset: as many as its slots.
  std::optional<std::uint64_t> max_concurrent;
  /// At least this long between two task starts on it, so a batch does not open with a
  /// burst of requests (or token refreshes) on one login.
  std::uint64_t start_stagger_ms = 0;
};

/// Where the pool tells an HTTP endpoint that something happened (extension; issue 19): a
/// POST of a JSON body per event, retried with backoff, signed with HMAC-SHA256 when a secret
/// is given (README "Webhooks"). Delivered by the program (`serve`, `run`, `batch`).
struct webhook_config {
  std::string url; ///< http://… or https://…
  /// Kinds it wants: `task_completed`, `task_failed`, `task_cancelled`,
  /// `task_pending_review`, or a pool event's kind (`budget_stop`, `rate_limited`, …); `*`
  /// for all. Empty: the task endings and reviews (the four `task_*`).
  std::vector<std::string> events;
  /// Name of a variable of the pool's environment that holds the signing key (the key never
  /// enters a config file). Unset: deliveries are not signed.
  std::optional<std::string> secret_env;
  /// Tries per delivery (a 2xx answer ends them; 4xx but 408/429 too, as a refusal).
  std::uint32_t max_attempts = 6;
  /// Wait before the second try, doubling per try up to `backoff_max_ms`.
  std::uint64_t backoff_ms = 1000;
  std::uint64_t backoff_max_ms = 60000;
  /// Connect + answer timeout per try.
  std::uint64_t timeout_ms = 10000;
};

/// The CLI's own OpenTelemetry export (extension; issue 19): the CLI sends its metrics and
/// events to an OTLP collector when `CLAUDE_CODE_ENABLE_TELEMETRY=1` and `OTEL_*` say where.
struct cli_telemetry_config {
  /// Sets `CLAUDE_CODE_ENABLE_TELEMETRY=1` for every CLI process.
  bool enabled = true;
  /// `OTEL_*` variables for the CLI processes (endpoint, protocol, exporters, headers, …);
  /// the pool's own `OTEL_*` variables reach them too. Only names starting with `OTEL_`.
  std::map<std::string, std::string> env;
  /// Adds `claude_pool.slot` and `claude_pool.credential` to `OTEL_RESOURCE_ATTRIBUTES`, so
  /// the collector tells the pool's processes apart.
  bool slot_attributes = true;
};

/// The name of the credential a pool without `credentials` uses: its own environment's.
inline constexpr std::string_view default_credential_name = "default";

/// Configuration that applies to all slots by default (reference `PoolConfig`).
struct pool_config {
  std::optional<std::string> model;
  std::optional<claude_pool::permission_mode> permission_mode = claude_pool::permission_mode::plan;
  std::optional<std::uint32_t> max_turns;
  std::optional<std::string> system_prompt;
  std::vector<std::string> allowed_tools;
  mcp_server_map mcp_servers;
  std::optional<claude_pool::effort> effort;
  std::optional<std::string> fallback_model;
  std::optional<std::uint64_t> budget_microdollars;
  claude_pool::slot_mode slot_mode = claude_pool::slot_mode::persistent;
  std::uint32_t max_restarts = 3;
  bool worktree_isolation = false;
  std::uint64_t slot_assignment_timeout_secs = 300;
  scaling_config scaling;
  bool unattended_mode = false;
  bool detect_permission_prompts = true;
  bool supervisor_enabled = false;
  std::uint64_t supervisor_interval_secs = 30;
  bool strict_mcp_config = true;
  std::optional<std::string> worktree_base_dir;

  // -- extensions -------------------------------------------------------------------------
  /// The `claude` executable. Unset: the program's default (see the README).
  std::optional<std::string> claude_bin;
  /// Working directory of the CLI processes. Unset: the pool process's own.
  std::optional<std::string> working_dir;
  /// Kill a task's process group after this many seconds. Unset: no limit.
  std::optional<std::uint64_t> task_timeout_secs;
  /// `CLAUDE_CODE_MAX_RETRIES` for the CLI: its default (10, ~3 minutes on a persistent
  /// 529) would hold a slot through an outage, so the pool asks for fewer.
  std::uint32_t cli_max_retries = 2;
  /// Extra environment variables for every CLI process (e.g. `ANTHROPIC_BASE_URL`).
  std::map<std::string, std::string> cli_env;
  /// Initial number of slots (within scaling bounds). Unset: `scaling.min_slots`.
  std::optional<std::uint64_t> initial_slots;
  /// Bytes of CLI stdout kept per task; a larger result fails the task clearly.
  std::uint64_t max_output_bytes = 64ull << 20;
  /// Pass `--bare` (no hooks, plugins, CLAUDE.md discovery; API-key auth only): what a
  /// reproducible batch or a run against a mock API wants.
  bool bare = false;

  // -- supervision (extensions) -----------------------------------------------------------
  /// `max_restarts` counts restarts within this many seconds. Unset: over the slot's lifetime
  /// (the reference's meaning).
  std::optional<std::uint64_t> restart_window_secs;
  /// Backoff before a restart: from this (doubling per consecutive restart, with jitter)…
  std::uint64_t restart_backoff_min_ms = 500;
  /// …up to this.
  std::uint64_t restart_backoff_max_ms = 30000;
  /// A slot that ran this long since its last restart starts with a clean restart history.
  std::uint64_t restart_reset_after_secs = 300;
  /// Pool-wide pause after a 429/529 whose server gave no `retry-after`, doubling while they
  /// keep coming (up to 16×). With a `retry-after` the pause is the server's.
  std::uint64_t rate_limit_cooldown_secs = 10;
  /// A task waits through 429/529 (rate limit, overload) at most this long in a row, then
  /// fails saying what happened. Waiting never uses an attempt.
  std::uint64_t max_wait_secs = 900;
  /// A rejected usage window (subscription limit) makes tasks wait until it resets, but at
  /// most this far ahead (a reset further away fails the task at once, naming it).
  std::uint64_t window_wait_max_secs = 8 * 24 * 3600;
  /// Share of a usage window kept free for interactive use (0..0.5): once the CLI reports
  /// the window at least 1 − this used, no task starts until it resets. 0 = use it all.
  /// The CLI reports utilization only with its warnings (from about 90 % of a 5-hour
  /// window), so a larger share acts at the first warning.
  double window_headroom = 0;
  /// No output from a running CLI for this long (not even a retry notice): it is
  /// interrupted, then killed, and the task may be retried (crash class). 0 = off.
  std::uint64_t stall_secs = 900;
  /// A 401/403 or "Not logged in" stops every slot at once (no retry storm); the waiting
  /// tasks are then failed ("fail": a batch ends, saying why) or kept pending ("park":
  /// a node that runs for days waits until a probe shows the login fixed).
  std::string auth_failure = "fail";
  /// While stopped for credentials, one task is let through this often to see whether the
  /// login was fixed.
  std::uint64_t auth_probe_secs = 300;

  /// The logins the CLI processes use, each with its own caps (see `credential_profile`).
  /// Empty: one, "default", the pool's environment.
  std::vector<credential_profile> credentials;

  // -- budget (extensions) ----------------------------------------------------------------
  /// How the budget sizes what a task without its own `max_budget_usd` may spend: "learn"
  /// (slow start, then the costliest task seen, tracked turn by turn: no task is stopped
  /// while the budget has room) or "fixed" (the reservation below is the CLI's hard stop).
  /// See actors/budget_ledger.hpp and the README's "Budget".
  std::string budget_policy = "learn";
  /// With `budget_policy: fixed`, what a task without its own `max_budget_usd` reserves (and
  /// gets as the CLI's `--max-budget-usd`).
  std::uint64_t budget_default_reservation_microdollars = 200000;
  /// Reserve at least the highest cost a finished task has had so far, so a batch of similar
  /// tasks never reserves less than one of them really costs (see the README's guarantee).
  bool budget_reserve_observed = true;
  /// Caps per tag: a task carrying the tag also spends from its cap (microdollars).
  std::map<std::string, std::uint64_t> budget_tag_microdollars;
  /// A cap for each chain: its steps' tasks together (they carry `chain:<id>`).
  std::optional<std::uint64_t> budget_chain_microdollars;
  /// A cap per day; once it is spent, tasks wait for the reset (they are not refused).
  std::optional<std::uint64_t> budget_daily_microdollars;
  /// When the day's cap resets, UTC, "HH:MM" or "HH:MM:SS".
  std::string budget_daily_reset_utc = "00:00";

  // -- warm slots (extensions) --------------------------------------------------------------
  /// One CLI process per task (`one_shot`), or one long-lived process per slot fed task
  /// after task over stream-json (`warm`). Slots may override it.
  execution_mode execution = execution_mode::one_shot;
  /// A warm process is replaced after this many tasks (bounds the CLI's slow RSS growth).
  std::uint32_t warm_max_tasks = 200;
  /// …or as soon as its process group's RSS passes this many MiB after a task.
  std::optional<std::uint64_t> warm_max_rss_mb;

  // -- network node (extension) -----------------------------------------------------------
  /// What tasks submitted by remote clients may ask for (a node trusts no one).
  remote_policy remote;

  // -- durability (extension) -------------------------------------------------------------
  /// A SQLite file that keeps every accepted task, the budget's spend and the persistent
  /// slots' sessions across restarts (`--store PATH`). Unset: in memory only.
  std::optional<std::string> store_path;
  /// Ended records (completed, failed, cancelled) the pool keeps in memory: the newest this
  /// many. Older ones leave memory; with a store, `result`, `wait` and `list` still find them
  /// there. Unset: 10,000 with a store; without one, all (a record that left memory without
  /// a store is gone, so bounding it is the embedder's choice). 0 is allowed.
  std::optional<std::uint64_t> retain_ended_records;
  /// …and none that ended more than this many seconds ago. Unset: no age limit.
  std::optional<std::uint64_t> retain_ended_secs;

  // -- watching (extensions; issue 19) ------------------------------------------------------
  /// HTTP endpoints told of task endings and pool events (see `webhook_config`).
  std::vector<webhook_config> webhooks;
  /// The CLI's own OpenTelemetry export. Unset: the CLI processes get the pool's environment
  /// as it is (its `OTEL_*` and `CLAUDE_CODE_ENABLE_TELEMETRY` included).
  std::optional<cli_telemetry_config> cli_telemetry;
};

/// Per-slot overrides (reference `SlotConfig`); any set field wins over `pool_config`.
struct slot_config {
  std::optional<std::string> model;
  std::optional<claude_pool::permission_mode> permission_mode;
  std::optional<std::uint32_t> max_turns;
  std::optional<std::string> system_prompt;
  std::optional<std::vector<std::string>> allowed_tools;
  std::optional<mcp_server_map> mcp_servers;
  std::optional<claude_pool::effort> effort;
  std::optional<std::string> fallback_model;
  std::optional<std::string> role;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::uint64_t> slot_assignment_timeout_secs;
  /// Extension: this slot's execution mode (else the pool's).
  std::optional<execution_mode> execution;
  /// Extension: the `pool_config::credentials` entry this slot logs in with. Unset when
  /// configured: the pool picks one when it starts the slot (the one with most room), and the
  /// slot keeps it.
  std::optional<std::string> credential;
};

/// Per-task overrides (reference `TaskOverrides`), applied on top of the slot's config.
struct task_overrides {
  std::optional<std::string> model;
  std::optional<claude_pool::permission_mode> permission_mode;
  std::optional<std::uint32_t> max_turns;
  std::optional<std::string> system_prompt;
  std::optional<std::vector<std::string>> allowed_tools;
  std::optional<std::vector<std::string>> disallowed_tools;
  std::optional<std::vector<std::string>> tools;
  std::optional<mcp_server_map> mcp_servers;
  std::optional<claude_pool::effort> effort;
  std::optional<std::string> fallback_model;
  std::optional<nlohmann::json> json_schema;
  std::optional<double> max_budget_usd;
};

/// How many ended records the pool keeps in memory (`retain_ended_records`, else its default
/// for a pool with (`durable`) or without a store).
std::uint64_t retained_ended_records(const pool_config& cfg, bool durable);

/// True when spending is capped at all: a pool cap, or a tag, chain or daily cap.
bool has_budget(const pool_config& cfg);

/// `budget_daily_reset_utc` as seconds after midnight; nullopt when it is not a time.
std::optional<std::uint64_t> daily_reset_seconds(const std::string& hh_mm_ss);

/// Checks what the type system cannot (scaling bounds, initial slot count, positive
/// timeouts, finite budgets). Returns an empty string when valid, else a sentence that
/// names the offending field.
std::string validate(const pool_config& cfg);
std::string validate(const task_overrides& cfg);

} // namespace claude_pool
