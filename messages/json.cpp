#include "messages/json.hpp"

#include "messages/json_fields.hpp"

namespace claude_pool {

using nlohmann::json;

namespace {

template <class Enum>
json enum_json(Enum x) {
  return std::string(to_string(x));
}

} // namespace

// -- ids and enums ----------------------------------------------------------------------------

void to_json(json& j, const task_id& x) { j = x.value; }
void from_json(const json& j, task_id& x) { detail::read_value(j, "task_id", x); }
void to_json(json& j, const slot_id& x) { j = x.value; }
void from_json(const json& j, slot_id& x) { detail::read_value(j, "slot_id", x); }
void to_json(json& j, const slot_mode& x) { j = enum_json(x); }
void from_json(const json& j, slot_mode& x) { detail::read_value(j, "slot_mode", x); }
void to_json(json& j, const execution_mode& x) { j = enum_json(x); }
void from_json(const json& j, execution_mode& x) { detail::read_value(j, "execution_mode", x); }
void to_json(json& j, const slot_state& x) { j = enum_json(x); }
void from_json(const json& j, slot_state& x) { detail::read_value(j, "slot_state", x); }
void to_json(json& j, const task_state& x) { j = enum_json(x); }
void from_json(const json& j, task_state& x) { detail::read_value(j, "task_state", x); }
void to_json(json& j, const permission_mode& x) { j = enum_json(x); }
void from_json(const json& j, permission_mode& x) {
  detail::read_value(j, "permission_mode", x);
}
void to_json(json& j, const effort& x) { j = enum_json(x); }
void from_json(const json& j, effort& x) { detail::read_value(j, "effort", x); }

// -- field lists ------------------------------------------------------------------------------
// In reading order (a document with several bad fields reports the first listed); the
// written key order is nlohmann's (sorted), whatever the order here.

namespace {

template <class W>
void fields(W& w, autoscale_config& x) {
  w.defaulted("interval_ms", x.interval_ms);
  w.defaulted("scale_up_step", x.scale_up_step);
  w.defaulted("scale_down_idle_secs", x.scale_down_idle_secs);
  w.defaulted("scale_down_step", x.scale_down_step);
}

template <class W>
void fields(W& w, scaling_config& x) {
  w.defaulted("min_slots", x.min_slots);
  w.defaulted("max_slots", x.max_slots);
  w.omitted("autoscale", x.autoscale);
}

template <class W>
void fields(W& w, remote_policy& x) {
  w.defaulted("allowed_models", x.allowed_models);
  w.defaulted("max_task_budget_usd", x.max_task_budget_usd);
  w.defaulted("allowed_tools", x.allowed_tools);
  w.defaulted("allow_overrides", x.allow_overrides);
  w.defaulted("max_prompt_bytes", x.max_prompt_bytes);
  w.defaulted("max_pending_per_client", x.max_pending_per_client);
  w.defaulted("max_attempts", x.max_attempts);
}

template <class W>
void fields(W& w, credential_profile& x) {
  w.required("name", x.name);
  w.omitted("api_key_env", x.api_key_env);
  w.omitted("oauth_token_env", x.oauth_token_env);
  w.omitted("config_dir", x.config_dir);
  w.omitted("env", x.env);
  w.omitted("max_concurrent", x.max_concurrent);
  w.defaulted("start_stagger_ms", x.start_stagger_ms);
}

template <class W>
void fields(W& w, webhook_config& x) {
  w.required("url", x.url);
  w.omitted("events", x.events);
  w.omitted("secret_env", x.secret_env);
  w.defaulted("max_attempts", x.max_attempts);
  w.defaulted("backoff_ms", x.backoff_ms);
  w.defaulted("backoff_max_ms", x.backoff_max_ms);
  w.defaulted("timeout_ms", x.timeout_ms);
}

template <class W>
void fields(W& w, cli_telemetry_config& x) {
  w.defaulted("enabled", x.enabled);
  w.omitted("env", x.env);
  w.defaulted("slot_attributes", x.slot_attributes);
}

template <class W>
void fields(W& w, token_usage& x) {
  w.defaulted("input_tokens", x.input_tokens);
  w.defaulted("output_tokens", x.output_tokens);
  w.defaulted("cache_creation_input_tokens", x.cache_creation_input_tokens);
  w.defaulted("cache_read_input_tokens", x.cache_read_input_tokens);
}

template <class W>
void fields(W& w, pool_config& x) {
  w.nullable("model", x.model);
  // An explicit null means "let the CLI decide"; absence keeps the reference default (plan).
  w.nullable("permission_mode", x.permission_mode);
  w.nullable("max_turns", x.max_turns);
  w.nullable("system_prompt", x.system_prompt);
  w.defaulted("allowed_tools", x.allowed_tools);
  w.defaulted("mcp_servers", x.mcp_servers);
  w.nullable("effort", x.effort);
  w.nullable("fallback_model", x.fallback_model);
  w.nullable("budget_microdollars", x.budget_microdollars);
  w.defaulted("slot_mode", x.slot_mode);
  w.defaulted("max_restarts", x.max_restarts);
  w.defaulted("worktree_isolation", x.worktree_isolation);
  w.defaulted("slot_assignment_timeout_secs", x.slot_assignment_timeout_secs);
  w.defaulted("scaling", x.scaling);
  w.defaulted("unattended_mode", x.unattended_mode);
  w.defaulted("detect_permission_prompts", x.detect_permission_prompts);
  w.defaulted("supervisor_enabled", x.supervisor_enabled);
  w.defaulted("supervisor_interval_secs", x.supervisor_interval_secs);
  w.defaulted("strict_mcp_config", x.strict_mcp_config);
  w.nullable("worktree_base_dir", x.worktree_base_dir);
  w.omitted("claude_bin", x.claude_bin);
  w.omitted("working_dir", x.working_dir);
  w.omitted("task_timeout_secs", x.task_timeout_secs);
  w.defaulted("cli_max_retries", x.cli_max_retries);
  w.omitted("cli_env", x.cli_env);
  w.omitted("initial_slots", x.initial_slots);
  w.defaulted("max_output_bytes", x.max_output_bytes);
  w.defaulted("bare", x.bare);
  w.omitted("restart_window_secs", x.restart_window_secs);
  w.defaulted("restart_backoff_min_ms", x.restart_backoff_min_ms);
  w.defaulted("restart_backoff_max_ms", x.restart_backoff_max_ms);
  w.defaulted("restart_reset_after_secs", x.restart_reset_after_secs);
  w.defaulted("rate_limit_cooldown_secs", x.rate_limit_cooldown_secs);
  w.defaulted("max_wait_secs", x.max_wait_secs);
  w.defaulted("window_wait_max_secs", x.window_wait_max_secs);
  w.defaulted("window_headroom", x.window_headroom);
  w.defaulted("stall_secs", x.stall_secs);
  w.defaulted("auth_failure", x.auth_failure);
  w.defaulted("auth_probe_secs", x.auth_probe_secs);
  w.omitted("credentials", x.credentials);
  w.defaulted("budget_policy", x.budget_policy);
  w.defaulted("budget_default_reservation_microdollars", x.budget_default_reservation_microdollars);
  w.defaulted("budget_reserve_observed", x.budget_reserve_observed);
  w.omitted("budget_tag_microdollars", x.budget_tag_microdollars);
  w.omitted("budget_chain_microdollars", x.budget_chain_microdollars);
  w.omitted("budget_daily_microdollars", x.budget_daily_microdollars);
  w.omitted("budget_daily_reset_utc", x.budget_daily_reset_utc, std::string("00:00"));
  w.defaulted("execution", x.execution);
  w.defaulted("warm_max_tasks", x.warm_max_tasks);
  w.omitted("warm_max_rss_mb", x.warm_max_rss_mb);
  w.defaulted("remote", x.remote);
  w.omitted("store_path", x.store_path);
  w.omitted("retain_ended_records", x.retain_ended_records);
  w.omitted("retain_ended_secs", x.retain_ended_secs);
  w.omitted("webhooks", x.webhooks);
  w.omitted("cli_telemetry", x.cli_telemetry);
}

template <class W>
void fields(W& w, slot_config& x) {
  w.nullable("model", x.model);
  w.nullable("permission_mode", x.permission_mode);
  w.nullable("max_turns", x.max_turns);
  w.nullable("system_prompt", x.system_prompt);
  w.nullable("allowed_tools", x.allowed_tools);
  w.nullable("mcp_servers", x.mcp_servers);
  w.nullable("effort", x.effort);
  w.nullable("fallback_model", x.fallback_model);
  w.nullable("role", x.role);
  w.nullable("name", x.name);
  w.nullable("description", x.description);
  w.nullable("slot_assignment_timeout_secs", x.slot_assignment_timeout_secs);
  w.omitted("execution", x.execution);
  w.omitted("credential", x.credential);
}

template <class W>
void fields(W& w, task_overrides& x) {
  w.nullable("model", x.model);
  w.nullable("permission_mode", x.permission_mode);
  w.nullable("max_turns", x.max_turns);
  w.nullable("system_prompt", x.system_prompt);
  w.nullable("allowed_tools", x.allowed_tools);
  w.nullable("disallowed_tools", x.disallowed_tools);
  w.nullable("tools", x.tools);
  w.nullable("mcp_servers", x.mcp_servers);
  w.nullable("effort", x.effort);
  w.nullable("fallback_model", x.fallback_model);
  w.nullable("json_schema", x.json_schema);
  w.nullable("max_budget_usd", x.max_budget_usd);
}

template <class W>
void fields(W& w, slot_record& x) {
  w.required("id", x.id);
  w.required("state", x.state);
  w.required("config", x.config);
  w.nullable("current_task", x.current_task);
  w.nullable("session_id", x.session_id);
  w.required("tasks_completed", x.tasks_completed);
  w.required("cost_microdollars", x.cost_microdollars);
  w.required("restart_count", x.restart_count);
  w.nullable("worktree_path", x.worktree_path);
  w.omitted("last_error", x.last_error);
  w.omitted("node", x.node);
}

template <class W>
void fields(W& w, task_result& x) {
  w.required("output", x.output);
  w.required("success", x.success);
  w.required("cost_microdollars", x.cost_microdollars);
  w.required("turns_used", x.turns_used);
  w.defaulted("elapsed_ms", x.elapsed_ms);
  w.omitted("model", x.model);
  w.nullable("session_id", x.session_id);
  w.omitted("failed_command", x.failed_command);
  w.omitted("exit_code", x.exit_code);
  w.omitted("stderr", x.stderr_text);
  w.omitted("budget_exceeded", x.budget_exceeded, false);
  w.omitted("structured_output", x.structured_output);
  w.omitted("subtype", x.subtype);
  w.omitted("api_error_status", x.api_error_status);
  w.omitted("api_retries", x.api_retries, 0u);
  w.omitted("retry_after_ms", x.retry_after_ms);
  w.omitted("rate_limit", x.rate_limit);
  w.omitted("usage", x.usage);
}

template <class W>
void fields(W& w, rate_limit_info& x) {
  w.required("status", x.status);
  w.omitted("resets_at_ms", x.resets_at_ms);
  w.omitted("window", x.window);
  w.omitted("utilization", x.utilization);
}

template <class W>
void fields(W& w, task_record& x) {
  w.required("id", x.id);
  w.required("prompt", x.prompt);
  w.required("state", x.state);
  w.nullable("slot_id", x.slot_id);
  w.nullable("result", x.result);
  w.required("tags", x.tags);
  w.nullable("config", x.config);
  w.defaulted("review_required", x.review_required);
  w.defaulted("max_rejections", x.max_rejections);
  w.defaulted("rejection_count", x.rejection_count);
  w.nullable("original_prompt", x.original_prompt);
  w.nullable("created_at_ms", x.created_at_ms);
  w.nullable("started_at_ms", x.started_at_ms);
  w.nullable("completed_at_ms", x.completed_at_ms);
  w.omitted("max_attempts", x.max_attempts, 1);
  w.omitted("attempts", x.attempts);
  w.omitted("rate_limit_waits", x.rate_limit_waits, 0);
  w.omitted("waiting_until_ms", x.waiting_until_ms);
  w.omitted("wait_reason", x.wait_reason);
  w.omitted("waiting_since_ms", x.waiting_since_ms);
  w.omitted("live_progress", x.live_progress, false);
  w.omitted("progress", x.progress);
  w.omitted("working_dir", x.working_dir);
}

template <class W>
void fields(W& w, task_progress& x) {
  w.defaulted("turns", x.turns);
  w.defaulted("tool_uses", x.tool_uses);
  w.omitted("last_tool", x.last_tool);
  w.defaulted("partial_output", x.partial_output);
  w.defaulted("input_tokens", x.input_tokens);
  w.defaulted("output_tokens", x.output_tokens);
  w.defaulted("cost_microdollars", x.cost_microdollars);
  w.defaulted("cost_is_final", x.cost_is_final);
  w.defaulted("updated_at_ms", x.updated_at_ms);
}

template <class W>
void fields(W& w, attempt_record& x) {
  w.required("attempt", x.attempt);
  w.nullable("slot_id", x.slot_id);
  w.required("subtype", x.subtype);
  w.required("reason", x.reason);
  w.defaulted("cost_microdollars", x.cost_microdollars);
  w.defaulted("ended_at_ms", x.ended_at_ms);
}

template <class W>
void fields(W& w, task_filter& x) {
  w.nullable("state", x.state);
  w.nullable("slot_id", x.slot_id);
  w.nullable("tags", x.tags);
  w.omitted("limit", x.limit);
  w.omitted("after", x.after);
}

template <class W>
void fields(W& w, model_metrics& x) {
  w.required("model", x.model);
  w.required("task_count", x.task_count);
  w.required("total_cost_microdollars", x.total_cost_microdollars);
  w.required("avg_cost_microdollars", x.avg_cost_microdollars);
  w.required("avg_elapsed_ms", x.avg_elapsed_ms);
  w.required("total_turns", x.total_turns);
}

template <class W>
void fields(W& w, session_metrics& x) {
  w.required("total_tasks", x.total_tasks);
  w.required("completed_tasks", x.completed_tasks);
  w.required("failed_tasks", x.failed_tasks);
  w.required("cancelled_tasks", x.cancelled_tasks);
  w.required("running_tasks", x.running_tasks);
  w.required("pending_tasks", x.pending_tasks);
  w.required("total_spend_microdollars", x.total_spend_microdollars);
  w.required("avg_cost_microdollars", x.avg_cost_microdollars);
  w.required("max_cost_microdollars", x.max_cost_microdollars);
  w.required("avg_elapsed_ms", x.avg_elapsed_ms);
  w.required("median_elapsed_ms", x.median_elapsed_ms);
  w.required("max_elapsed_ms", x.max_elapsed_ms);
  w.required("min_elapsed_ms", x.min_elapsed_ms);
  w.required("avg_turns", x.avg_turns);
  w.required("tasks_by_model", x.tasks_by_model);
  w.required("model_breakdown", x.model_breakdown);
  w.required("session_start_ms", x.session_start_ms);
  w.required("session_duration_ms", x.session_duration_ms);
}

template <class W>
void fields(W& w, metrics_filter& x) {
  w.nullable("since_ms", x.since_ms);
  w.nullable("until_ms", x.until_ms);
  w.nullable("tags", x.tags);
  w.nullable("model", x.model);
}

} // namespace

CLAUDE_POOL_JSON_OBJECT(autoscale_config)
CLAUDE_POOL_JSON_OBJECT(scaling_config)
CLAUDE_POOL_JSON_OBJECT(remote_policy)
CLAUDE_POOL_JSON_OBJECT(credential_profile)
CLAUDE_POOL_JSON_OBJECT(webhook_config)
CLAUDE_POOL_JSON_OBJECT(cli_telemetry_config)
CLAUDE_POOL_JSON_OBJECT(token_usage)
CLAUDE_POOL_JSON_OBJECT(pool_config)
CLAUDE_POOL_JSON_OBJECT(slot_config)
CLAUDE_POOL_JSON_OBJECT(task_overrides)
CLAUDE_POOL_JSON_OBJECT(slot_record)
CLAUDE_POOL_JSON_OBJECT(task_result)
CLAUDE_POOL_JSON_OBJECT(attempt_record)
CLAUDE_POOL_JSON_OBJECT(task_record)
CLAUDE_POOL_JSON_OBJECT(task_progress)
CLAUDE_POOL_JSON_OBJECT(rate_limit_info)
CLAUDE_POOL_JSON_OBJECT(task_filter)
CLAUDE_POOL_JSON_OBJECT(model_metrics)
CLAUDE_POOL_JSON_OBJECT(session_metrics)
CLAUDE_POOL_JSON_OBJECT(metrics_filter)

void detail::check_strict(const task_overrides& x, const std::string& path) {
  if (auto problem = validate(x); !problem.empty())
    throw json_error(path + "." + problem);
}

pool_config parse_pool_config(const json& j) {
  pool_config cfg;
  detail::read_value(j, "pool_config", cfg, true);
  if (auto problem = validate(cfg); !problem.empty())
    throw json_error(problem);
  return cfg;
}

task_overrides parse_task_overrides(const json& j, const std::string& path) {
  task_overrides cfg;
  detail::read_value(j, path, cfg, true); // validated too: see check_strict
  return cfg;
}

} // namespace claude_pool
