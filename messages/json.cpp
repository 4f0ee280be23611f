#include "messages/json.hpp"

#include "messages/json_reader.hpp"

namespace claude_pool {

using nlohmann::json;
using detail::object_reader;

namespace {

/// Unset optionals are written as null (serde's default for `Option`).
template <class T>
void put_nullable(json& j, const char* name, const std::optional<T>& x) {
  if (x)
    j[name] = *x;
  else
    j[name] = nullptr;
}

/// Unset optionals are left out (`skip_serializing_if = "Option::is_none"`, extensions).
template <class T>
void put_omitted(json& j, const char* name, const std::optional<T>& x) {
  if (x)
    j[name] = *x;
}

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

// -- configs ----------------------------------------------------------------------------------

void to_json(json& j, const autoscale_config& x) {
  j = json{{"interval_ms", x.interval_ms},
           {"scale_up_step", x.scale_up_step},
           {"scale_down_idle_secs", x.scale_down_idle_secs},
           {"scale_down_step", x.scale_down_step}};
}

void to_json(json& j, const scaling_config& x) {
  j = json{{"min_slots", x.min_slots}, {"max_slots", x.max_slots}};
  put_omitted(j, "autoscale", x.autoscale);
}

void to_json(json& j, const pool_config& x) {
  j = json::object();
  put_nullable(j, "model", x.model);
  put_nullable(j, "permission_mode", x.permission_mode);
  put_nullable(j, "max_turns", x.max_turns);
  put_nullable(j, "system_prompt", x.system_prompt);
  j["allowed_tools"] = x.allowed_tools;
  j["mcp_servers"] = x.mcp_servers;
  put_nullable(j, "effort", x.effort);
  put_nullable(j, "fallback_model", x.fallback_model);
  put_nullable(j, "budget_microdollars", x.budget_microdollars);
  j["slot_mode"] = x.slot_mode;
  j["max_restarts"] = x.max_restarts;
  j["worktree_isolation"] = x.worktree_isolation;
  j["slot_assignment_timeout_secs"] = x.slot_assignment_timeout_secs;
  j["scaling"] = x.scaling;
  j["unattended_mode"] = x.unattended_mode;
  j["detect_permission_prompts"] = x.detect_permission_prompts;
  j["supervisor_enabled"] = x.supervisor_enabled;
  j["supervisor_interval_secs"] = x.supervisor_interval_secs;
  j["strict_mcp_config"] = x.strict_mcp_config;
  put_nullable(j, "worktree_base_dir", x.worktree_base_dir);
  put_omitted(j, "claude_bin", x.claude_bin);
  put_omitted(j, "working_dir", x.working_dir);
  put_omitted(j, "task_timeout_secs", x.task_timeout_secs);
  j["cli_max_retries"] = x.cli_max_retries;
  if (!x.cli_env.empty())
    j["cli_env"] = x.cli_env;
  put_omitted(j, "initial_slots", x.initial_slots);
  j["max_output_bytes"] = x.max_output_bytes;
  j["bare"] = x.bare;
  put_omitted(j, "restart_window_secs", x.restart_window_secs);
  j["restart_backoff_min_ms"] = x.restart_backoff_min_ms;
  j["restart_backoff_max_ms"] = x.restart_backoff_max_ms;
  j["restart_reset_after_secs"] = x.restart_reset_after_secs;
  j["rate_limit_cooldown_secs"] = x.rate_limit_cooldown_secs;
  j["rate_limit_max_waits"] = x.rate_limit_max_waits;
  j["budget_default_reservation_microdollars"] = x.budget_default_reservation_microdollars;
  j["budget_reserve_observed"] = x.budget_reserve_observed;
  j["execution"] = x.execution;
  j["warm_max_tasks"] = x.warm_max_tasks;
  put_omitted(j, "warm_max_rss_mb", x.warm_max_rss_mb);
  put_omitted(j, "store_path", x.store_path);
}

void to_json(json& j, const slot_config& x) {
  j = json::object();
  put_nullable(j, "model", x.model);
  put_nullable(j, "permission_mode", x.permission_mode);
  put_nullable(j, "max_turns", x.max_turns);
  put_nullable(j, "system_prompt", x.system_prompt);
  put_nullable(j, "allowed_tools", x.allowed_tools);
  put_nullable(j, "mcp_servers", x.mcp_servers);
  put_nullable(j, "effort", x.effort);
  put_nullable(j, "fallback_model", x.fallback_model);
  put_nullable(j, "role", x.role);
  put_nullable(j, "name", x.name);
  put_nullable(j, "description", x.description);
  put_nullable(j, "slot_assignment_timeout_secs", x.slot_assignment_timeout_secs);
  put_omitted(j, "execution", x.execution);
}

void to_json(json& j, const task_overrides& x) {
  j = json::object();
  put_nullable(j, "model", x.model);
  put_nullable(j, "permission_mode", x.permission_mode);
  put_nullable(j, "max_turns", x.max_turns);
  put_nullable(j, "system_prompt", x.system_prompt);
  put_nullable(j, "allowed_tools", x.allowed_tools);
  put_nullable(j, "disallowed_tools", x.disallowed_tools);
  put_nullable(j, "tools", x.tools);
  put_nullable(j, "mcp_servers", x.mcp_servers);
  put_nullable(j, "effort", x.effort);
  put_nullable(j, "fallback_model", x.fallback_model);
  put_nullable(j, "json_schema", x.json_schema);
  put_nullable(j, "max_budget_usd", x.max_budget_usd);
}

// -- records ----------------------------------------------------------------------------------

void to_json(json& j, const slot_record& x) {
  j = json::object();
  j["id"] = x.id;
  j["state"] = x.state;
  j["config"] = x.config;
  put_nullable(j, "current_task", x.current_task);
  put_nullable(j, "session_id", x.session_id);
  j["tasks_completed"] = x.tasks_completed;
  j["cost_microdollars"] = x.cost_microdollars;
  j["restart_count"] = x.restart_count;
  put_nullable(j, "worktree_path", x.worktree_path);
  put_omitted(j, "last_error", x.last_error);
  put_omitted(j, "node", x.node);
}

void to_json(json& j, const task_result& x) {
  j = json::object();
  j["output"] = x.output;
  j["success"] = x.success;
  j["cost_microdollars"] = x.cost_microdollars;
  j["turns_used"] = x.turns_used;
  j["elapsed_ms"] = x.elapsed_ms;
  put_omitted(j, "model", x.model);
  put_nullable(j, "session_id", x.session_id);
  put_omitted(j, "failed_command", x.failed_command);
  put_omitted(j, "exit_code", x.exit_code);
  put_omitted(j, "stderr", x.stderr_text);
  if (x.budget_exceeded)
    j["budget_exceeded"] = true;
  put_omitted(j, "structured_output", x.structured_output);
  put_omitted(j, "subtype", x.subtype);
  put_omitted(j, "api_error_status", x.api_error_status);
}

void to_json(json& j, const task_record& x) {
  j = json::object();
  j["id"] = x.id;
  j["prompt"] = x.prompt;
  j["state"] = x.state;
  put_nullable(j, "slot_id", x.slot_id);
  put_nullable(j, "result", x.result);
  j["tags"] = x.tags;
  put_nullable(j, "config", x.config);
  j["review_required"] = x.review_required;
  j["max_rejections"] = x.max_rejections;
  j["rejection_count"] = x.rejection_count;
  put_nullable(j, "original_prompt", x.original_prompt);
  put_nullable(j, "created_at_ms", x.created_at_ms);
  put_nullable(j, "started_at_ms", x.started_at_ms);
  put_nullable(j, "completed_at_ms", x.completed_at_ms);
  if (x.max_attempts != 1)
    j["max_attempts"] = x.max_attempts;
  if (!x.attempts.empty())
    j["attempts"] = x.attempts;
  if (x.rate_limit_waits != 0)
    j["rate_limit_waits"] = x.rate_limit_waits;
  if (x.live_progress)
    j["live_progress"] = true;
  put_omitted(j, "progress", x.progress);
  put_omitted(j, "working_dir", x.working_dir);
}

void to_json(json& j, const task_progress& x) {
  j = json{{"turns", x.turns},
           {"tool_uses", x.tool_uses},
           {"partial_output", x.partial_output},
           {"input_tokens", x.input_tokens},
           {"output_tokens", x.output_tokens},
           {"cost_microdollars", x.cost_microdollars},
           {"cost_is_final", x.cost_is_final},
           {"updated_at_ms", x.updated_at_ms}};
  put_omitted(j, "last_tool", x.last_tool);
}

void to_json(json& j, const attempt_record& x) {
  j = json{{"attempt", x.attempt},
           {"subtype", x.subtype},
           {"reason", x.reason},
           {"cost_microdollars", x.cost_microdollars},
           {"ended_at_ms", x.ended_at_ms}};
  put_nullable(j, "slot_id", x.slot_id);
}

void to_json(json& j, const task_filter& x) {
  j = json::object();
  put_nullable(j, "state", x.state);
  put_nullable(j, "slot_id", x.slot_id);
  put_nullable(j, "tags", x.tags);
}

// -- metrics ----------------------------------------------------------------------------------

void to_json(json& j, const model_metrics& x) {
  j = json{{"model", x.model},
           {"task_count", x.task_count},
           {"total_cost_microdollars", x.total_cost_microdollars},
           {"avg_cost_microdollars", x.avg_cost_microdollars},
           {"avg_elapsed_ms", x.avg_elapsed_ms},
           {"total_turns", x.total_turns}};
}

void to_json(json& j, const session_metrics& x) {
  j = json::object();
  j["total_tasks"] = x.total_tasks;
  j["completed_tasks"] = x.completed_tasks;
  j["failed_tasks"] = x.failed_tasks;
  j["cancelled_tasks"] = x.cancelled_tasks;
  j["running_tasks"] = x.running_tasks;
  j["pending_tasks"] = x.pending_tasks;
  j["total_spend_microdollars"] = x.total_spend_microdollars;
  j["avg_cost_microdollars"] = x.avg_cost_microdollars;
  j["max_cost_microdollars"] = x.max_cost_microdollars;
  j["avg_elapsed_ms"] = x.avg_elapsed_ms;
  j["median_elapsed_ms"] = x.median_elapsed_ms;
  j["max_elapsed_ms"] = x.max_elapsed_ms;
  j["min_elapsed_ms"] = x.min_elapsed_ms;
  j["avg_turns"] = x.avg_turns;
  j["tasks_by_model"] = x.tasks_by_model;
  j["model_breakdown"] = x.model_breakdown;
  j["session_start_ms"] = x.session_start_ms;
  j["session_duration_ms"] = x.session_duration_ms;
}

void to_json(json& j, const metrics_filter& x) {
  j = json::object();
  put_nullable(j, "since_ms", x.since_ms);
  put_nullable(j, "until_ms", x.until_ms);
  put_nullable(j, "tags", x.tags);
  put_nullable(j, "model", x.model);
}

// -- reading ----------------------------------------------------------------------------------

namespace detail {

void read_object(const json& v, const std::string& path, autoscale_config& x, bool strict) {
  object_reader r(v, path, strict);
  r.defaulted("interval_ms", x.interval_ms);
  r.defaulted("scale_up_step", x.scale_up_step);
  r.defaulted("scale_down_idle_secs", x.scale_down_idle_secs);
  r.defaulted("scale_down_step", x.scale_down_step);
  r.finish();
}

void read_object(const json& v, const std::string& path, scaling_config& x, bool strict) {
  object_reader r(v, path, strict);
  r.defaulted("min_slots", x.min_slots);
  r.defaulted("max_slots", x.max_slots);
  if (auto it = v.find("autoscale"); it != v.end() && !it->is_null()) {
    x.autoscale.emplace();
    read_object(*it, path + ".autoscale", *x.autoscale, strict);
  }
  r.known("autoscale");
  r.finish();
}

void read_object(const json& v, const std::string& path, pool_config& x, bool strict) {
  object_reader r(v, path, strict);
  r.optional("model", x.model);
  // An explicit null means "let the CLI decide"; absence keeps the reference default (plan).
  if (v.contains("permission_mode"))
    r.optional("permission_mode", x.permission_mode);
  r.optional("max_turns", x.max_turns);
  r.optional("system_prompt", x.system_prompt);
  r.defaulted("allowed_tools", x.allowed_tools);
  r.defaulted("mcp_servers", x.mcp_servers);
  r.optional("effort", x.effort);
  r.optional("fallback_model", x.fallback_model);
  r.optional("budget_microdollars", x.budget_microdollars);
  r.defaulted("slot_mode", x.slot_mode);
  r.defaulted("max_restarts", x.max_restarts);
  r.defaulted("worktree_isolation", x.worktree_isolation);
  r.defaulted("slot_assignment_timeout_secs", x.slot_assignment_timeout_secs);
  if (auto it = v.find("scaling"); it != v.end() && !it->is_null())
    read_object(*it, path + ".scaling", x.scaling, strict);
  r.known("scaling");
  r.defaulted("unattended_mode", x.unattended_mode);
  r.defaulted("detect_permission_prompts", x.detect_permission_prompts);
  r.defaulted("supervisor_enabled", x.supervisor_enabled);
  r.defaulted("supervisor_interval_secs", x.supervisor_interval_secs);
  r.defaulted("strict_mcp_config", x.strict_mcp_config);
  r.optional("worktree_base_dir", x.worktree_base_dir);
  r.optional("claude_bin", x.claude_bin);
  r.optional("working_dir", x.working_dir);
  r.optional("task_timeout_secs", x.task_timeout_secs);
  r.defaulted("cli_max_retries", x.cli_max_retries);
  r.defaulted("cli_env", x.cli_env);
  r.optional("initial_slots", x.initial_slots);
  r.defaulted("max_output_bytes", x.max_output_bytes);
  r.defaulted("bare", x.bare);
  r.optional("restart_window_secs", x.restart_window_secs);
  r.defaulted("restart_backoff_min_ms", x.restart_backoff_min_ms);
  r.defaulted("restart_backoff_max_ms", x.restart_backoff_max_ms);
  r.defaulted("restart_reset_after_secs", x.restart_reset_after_secs);
  r.defaulted("rate_limit_cooldown_secs", x.rate_limit_cooldown_secs);
  r.defaulted("rate_limit_max_waits", x.rate_limit_max_waits);
  r.defaulted("budget_default_reservation_microdollars", x.budget_default_reservation_microdollars);
  r.defaulted("budget_reserve_observed", x.budget_reserve_observed);
  r.defaulted("execution", x.execution);
  r.defaulted("warm_max_tasks", x.warm_max_tasks);
  r.optional("warm_max_rss_mb", x.warm_max_rss_mb);
  r.optional("store_path", x.store_path);
  r.finish();
}

void read_object(const json& v, const std::string& path, slot_config& x, bool strict) {
  object_reader r(v, path, strict);
  r.optional("model", x.model);
  r.optional("permission_mode", x.permission_mode);
  r.optional("max_turns", x.max_turns);
  r.optional("system_prompt", x.system_prompt);
  r.optional("allowed_tools", x.allowed_tools);
  r.optional("mcp_servers", x.mcp_servers);
  r.optional("effort", x.effort);
  r.optional("fallback_model", x.fallback_model);
  r.optional("role", x.role);
  r.optional("name", x.name);
  r.optional("description", x.description);
  r.optional("slot_assignment_timeout_secs", x.slot_assignment_timeout_secs);
  r.optional("execution", x.execution);
  r.finish();
}

void read_object(const json& v, const std::string& path, task_overrides& x, bool strict) {
  object_reader r(v, path, strict);
  r.optional("model", x.model);
  r.optional("permission_mode", x.permission_mode);
  r.optional("max_turns", x.max_turns);
  r.optional("system_prompt", x.system_prompt);
  r.optional("allowed_tools", x.allowed_tools);
  r.optional("disallowed_tools", x.disallowed_tools);
  r.optional("tools", x.tools);
  r.optional("mcp_servers", x.mcp_servers);
  r.optional("effort", x.effort);
  r.optional("fallback_model", x.fallback_model);
  r.optional("json_schema", x.json_schema);
  r.optional("max_budget_usd", x.max_budget_usd);
  r.finish();
}

void read_object(const json& v, const std::string& path, slot_record& x, bool strict) {
  object_reader r(v, path, strict);
  r.required("id", x.id);
  r.required("state", x.state);
  r.required("config", x.config);
  r.optional("current_task", x.current_task);
  r.optional("session_id", x.session_id);
  r.required("tasks_completed", x.tasks_completed);
  r.required("cost_microdollars", x.cost_microdollars);
  r.required("restart_count", x.restart_count);
  r.optional("worktree_path", x.worktree_path);
  r.optional("last_error", x.last_error);
  r.optional("node", x.node);
  r.finish();
}

void read_object(const json& v, const std::string& path, task_result& x, bool strict) {
  object_reader r(v, path, strict);
  r.required("output", x.output);
  r.required("success", x.success);
  r.required("cost_microdollars", x.cost_microdollars);
  r.required("turns_used", x.turns_used);
  r.defaulted("elapsed_ms", x.elapsed_ms);
  r.optional("model", x.model);
  r.optional("session_id", x.session_id);
  r.optional("failed_command", x.failed_command);
  r.optional("exit_code", x.exit_code);
  r.optional("stderr", x.stderr_text);
  r.defaulted("budget_exceeded", x.budget_exceeded);
  r.optional("structured_output", x.structured_output);
  r.optional("subtype", x.subtype);
  r.optional("api_error_status", x.api_error_status);
  r.finish();
}

void read_object(const json& v, const std::string& path, task_record& x, bool strict) {
  object_reader r(v, path, strict);
  r.required("id", x.id);
  r.required("prompt", x.prompt);
  r.required("state", x.state);
  r.optional("slot_id", x.slot_id);
  r.optional("result", x.result);
  r.required("tags", x.tags);
  r.optional("config", x.config);
  r.defaulted("review_required", x.review_required);
  r.defaulted("max_rejections", x.max_rejections);
  r.defaulted("rejection_count", x.rejection_count);
  r.optional("original_prompt", x.original_prompt);
  r.optional("created_at_ms", x.created_at_ms);
  r.optional("started_at_ms", x.started_at_ms);
  r.optional("completed_at_ms", x.completed_at_ms);
  r.defaulted("max_attempts", x.max_attempts);
  r.defaulted("attempts", x.attempts);
  r.defaulted("rate_limit_waits", x.rate_limit_waits);
  r.defaulted("live_progress", x.live_progress);
  r.optional("progress", x.progress);
  r.optional("working_dir", x.working_dir);
  r.finish();
}

void read_object(const json& v, const std::string& path, task_progress& x, bool strict) {
  object_reader r(v, path, strict);
  r.defaulted("turns", x.turns);
  r.defaulted("tool_uses", x.tool_uses);
  r.optional("last_tool", x.last_tool);
  r.defaulted("partial_output", x.partial_output);
  r.defaulted("input_tokens", x.input_tokens);
  r.defaulted("output_tokens", x.output_tokens);
  r.defaulted("cost_microdollars", x.cost_microdollars);
  r.defaulted("cost_is_final", x.cost_is_final);
  r.defaulted("updated_at_ms", x.updated_at_ms);
  r.finish();
}

void read_object(const json& v, const std::string& path, attempt_record& x, bool strict) {
  object_reader r(v, path, strict);
  r.required("attempt", x.attempt);
  r.optional("slot_id", x.slot_id);
  r.required("subtype", x.subtype);
  r.required("reason", x.reason);
  r.defaulted("cost_microdollars", x.cost_microdollars);
  r.defaulted("ended_at_ms", x.ended_at_ms);
  r.finish();
}

void read_object(const json& v, const std::string& path, task_filter& x, bool strict) {
  object_reader r(v, path, strict);
  r.optional("state", x.state);
  r.optional("slot_id", x.slot_id);
  r.optional("tags", x.tags);
  r.finish();
}

void read_object(const json& v, const std::string& path, model_metrics& x, bool strict) {
  object_reader r(v, path, strict);
  r.required("model", x.model);
  r.required("task_count", x.task_count);
  r.required("total_cost_microdollars", x.total_cost_microdollars);
  r.required("avg_cost_microdollars", x.avg_cost_microdollars);
  r.required("avg_elapsed_ms", x.avg_elapsed_ms);
  r.required("total_turns", x.total_turns);
  r.finish();
}

void read_object(const json& v, const std::string& path, session_metrics& x, bool strict) {
  object_reader r(v, path, strict);
  r.required("total_tasks", x.total_tasks);
  r.required("completed_tasks", x.completed_tasks);
  r.required("failed_tasks", x.failed_tasks);
  r.required("cancelled_tasks", x.cancelled_tasks);
  r.required("running_tasks", x.running_tasks);
  r.required("pending_tasks", x.pending_tasks);
  r.required("total_spend_microdollars", x.total_spend_microdollars);
  r.required("avg_cost_microdollars", x.avg_cost_microdollars);
  r.required("max_cost_microdollars", x.max_cost_microdollars);
  r.required("avg_elapsed_ms", x.avg_elapsed_ms);
  r.required("median_elapsed_ms", x.median_elapsed_ms);
  r.required("max_elapsed_ms", x.max_elapsed_ms);
  r.required("min_elapsed_ms", x.min_elapsed_ms);
  r.required("avg_turns", x.avg_turns);
  r.required("tasks_by_model", x.tasks_by_model);
  r.required("model_breakdown", x.model_breakdown);
  r.required("session_start_ms", x.session_start_ms);
  r.required("session_duration_ms", x.session_duration_ms);
  r.finish();
}

void read_object(const json& v, const std::string& path, metrics_filter& x, bool strict) {
  object_reader r(v, path, strict);
  r.optional("since_ms", x.since_ms);
  r.optional("until_ms", x.until_ms);
  r.optional("tags", x.tags);
  r.optional("model", x.model);
  r.finish();
}

} // namespace detail

#define CLAUDE_POOL_DEFINE_FROM_JSON(type)                                                \
  void from_json(const json& j, type& x) { detail::read_object(j, #type, x, false); }
CLAUDE_POOL_DEFINE_FROM_JSON(autoscale_config)
CLAUDE_POOL_DEFINE_FROM_JSON(scaling_config)
CLAUDE_POOL_DEFINE_FROM_JSON(pool_config)
CLAUDE_POOL_DEFINE_FROM_JSON(slot_config)
CLAUDE_POOL_DEFINE_FROM_JSON(task_overrides)
CLAUDE_POOL_DEFINE_FROM_JSON(slot_record)
CLAUDE_POOL_DEFINE_FROM_JSON(task_result)
CLAUDE_POOL_DEFINE_FROM_JSON(attempt_record)
CLAUDE_POOL_DEFINE_FROM_JSON(task_record)
CLAUDE_POOL_DEFINE_FROM_JSON(task_progress)
CLAUDE_POOL_DEFINE_FROM_JSON(task_filter)
CLAUDE_POOL_DEFINE_FROM_JSON(model_metrics)
CLAUDE_POOL_DEFINE_FROM_JSON(session_metrics)
CLAUDE_POOL_DEFINE_FROM_JSON(metrics_filter)
#undef CLAUDE_POOL_DEFINE_FROM_JSON

pool_config parse_pool_config(const json& j) {
  pool_config cfg;
  detail::read_object(j, "pool_config", cfg, true);
  if (auto problem = validate(cfg); !problem.empty())
    throw json_error(problem);
  return cfg;
}

task_overrides parse_task_overrides(const json& j, const std::string& path) {
  task_overrides cfg;
  detail::read_object(j, path, cfg, true);
  if (auto problem = validate(cfg); !problem.empty())
    throw json_error(path + "." + problem);
  return cfg;
}

} // namespace claude_pool
