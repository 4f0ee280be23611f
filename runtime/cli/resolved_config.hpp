#pragma once
/// Config resolution: global `pool_config` ⊕ `slot_config` ⊕ `task_overrides` → the settings
/// of one CLI run. Scalars: task > slot > global. `allowed_tools` merged in order without
/// duplicates; `mcp_servers` merged by name (later layer wins); `disallowed_tools`, `tools`,
/// `json_schema`, `max_budget_usd` come from the task alone.

#include <optional>
#include <string>
#include <vector>

#include "messages/config.hpp"

namespace claude_pool {

/// Everything the argv builder needs for one task.
struct resolved_config {
  std::optional<std::string> model;
  std::optional<claude_pool::permission_mode> permission_mode;
  std::optional<std::uint32_t> max_turns;
  std::optional<std::string> system_prompt;
  std::vector<std::string> allowed_tools;
  std::vector<std::string> disallowed_tools;
  std::optional<std::vector<std::string>> tools;
  mcp_server_map mcp_servers;
  bool strict_mcp_config = true;
  std::optional<claude_pool::effort> effort;
  std::optional<std::string> fallback_model;
  std::optional<nlohmann::json> json_schema;
  std::optional<double> max_budget_usd;
  std::optional<std::string> slot_name;
  std::optional<std::string> slot_role;
  std::optional<std::string> slot_description;
  bool bare = false;
  /// When set, `--mcp-config` names this file (0600) instead of carrying the JSON inline.
  std::optional<std::string> mcp_config_path;
  /// The slot's execution mode (slot, else pool).
  execution_mode execution = execution_mode::one_shot;
  /// The slot's login (`slot_config::credential` found in `pool_config::credentials`).
  /// Unset: the pool's environment.
  std::optional<credential_profile> credential;
};

/// Resolves the three layers; `task` may be null.
resolved_config resolve_config(const pool_config& pool, const slot_config& slot,
                               const task_overrides* task);

} // namespace claude_pool
