#pragma once
/// JSON for every message type, spelled as the reference crate spells it: snake_case fields
/// and enum values, `null` for unset optionals except where the reference omits them
/// (`TaskResult.model`, `failed_command`, `exit_code`, `stderr`, `budget_exceeded=false`),
/// extension fields omitted when unset. Reading throws `json_error` whose message names the
/// field path (`task_record.result.turns_used: expected an unsigned integer, got "3"`).

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "messages/config.hpp"
#include "messages/metrics.hpp"
#include "messages/records.hpp"

namespace claude_pool {

/// A JSON document that does not fit a message type; `what()` names the field.
struct json_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define CLAUDE_POOL_DECLARE_JSON(type)                                                    \
  void to_json(nlohmann::json& j, const type& x);                                         \
  void from_json(const nlohmann::json& j, type& x);

CLAUDE_POOL_DECLARE_JSON(task_id)
CLAUDE_POOL_DECLARE_JSON(slot_id)
CLAUDE_POOL_DECLARE_JSON(slot_mode)
CLAUDE_POOL_DECLARE_JSON(execution_mode)
CLAUDE_POOL_DECLARE_JSON(slot_state)
CLAUDE_POOL_DECLARE_JSON(task_state)
CLAUDE_POOL_DECLARE_JSON(permission_mode)
CLAUDE_POOL_DECLARE_JSON(effort)
CLAUDE_POOL_DECLARE_JSON(autoscale_config)
CLAUDE_POOL_DECLARE_JSON(scaling_config)
CLAUDE_POOL_DECLARE_JSON(remote_policy)
CLAUDE_POOL_DECLARE_JSON(credential_profile)
CLAUDE_POOL_DECLARE_JSON(webhook_config)
CLAUDE_POOL_DECLARE_JSON(cli_telemetry_config)
CLAUDE_POOL_DECLARE_JSON(token_usage)
CLAUDE_POOL_DECLARE_JSON(pool_config)
CLAUDE_POOL_DECLARE_JSON(slot_config)
CLAUDE_POOL_DECLARE_JSON(task_overrides)
CLAUDE_POOL_DECLARE_JSON(slot_record)
CLAUDE_POOL_DECLARE_JSON(task_result)
CLAUDE_POOL_DECLARE_JSON(attempt_record)
CLAUDE_POOL_DECLARE_JSON(task_record)
CLAUDE_POOL_DECLARE_JSON(task_progress)
CLAUDE_POOL_DECLARE_JSON(rate_limit_info)
CLAUDE_POOL_DECLARE_JSON(task_filter)
CLAUDE_POOL_DECLARE_JSON(model_metrics)
CLAUDE_POOL_DECLARE_JSON(session_metrics)
CLAUDE_POOL_DECLARE_JSON(metrics_filter)

#undef CLAUDE_POOL_DECLARE_JSON

/// Compact JSON text that never throws: invalid UTF-8 (which the boundary should already
/// have repaired) is replaced by U+FFFD rather than aborting a whole batch's output.
inline std::string to_json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Reads a pool configuration as a user wrote it: every field optional (defaults as the
/// reference), unknown fields are errors (a typo must not be silently ignored), and the
/// result is validated. Throws `json_error` naming the field.
pool_config parse_pool_config(const nlohmann::json& j);

/// Reads task overrides as a user wrote them (unknown fields are errors).
task_overrides parse_task_overrides(const nlohmann::json& j, const std::string& path);

} // namespace claude_pool
