#include "actors/submission_policy.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string_view>

namespace claude_pool {

int permissiveness(permission_mode m) {
  // One order for every comparison. plan runs no edits or commands; dont_ask runs only
  // pre-approved tools and denies the rest (it never prompts); default asks a person for
  // anything else, and with nobody to ask (-p) denies it too, so it is never below dont_ask;
  // accept_edits also approves file edits; auto lets a classifier approve commands as well;
  // bypass_permissions approves everything.
  switch (m) {
    case permission_mode::plan: return 0;
    case permission_mode::dont_ask: return 1;
    case permission_mode::default_mode: return 2;
    case permission_mode::accept_edits: return 3;
    case permission_mode::auto_mode: return 4;
    case permission_mode::bypass_permissions: return 5;
  }
  return 5; // unreachable; an unknown mode counts as the most permissive
}

permission_mode node_permission_mode(const pool_config& node) {
  if (!node.permission_mode)
    return permission_mode::default_mode;
  if (node.unattended_mode && *node.permission_mode == permission_mode::plan)
    return permission_mode::dont_ask;
  return *node.permission_mode;
}

namespace {

using verdict = std::optional<std::string>;

bool contains(const std::vector<std::string>& list, const std::string& x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

bool opted_in(const pool_config& node, std::string_view name) {
  auto& names = node.remote.allow_overrides;
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string opt_in(std::string_view name) {
  return "; an operator may allow it with remote.allow_overrides [\"" + std::string(name)
         + "\"]";
}

std::string dollars(double usd) {
  std::ostringstream out;
  out << usd;
  return out.str();
}

// -- the rules, one per field, in the order a submission lists them ---------------------------

verdict prompt_size(const pool_config& node, const task_submission& sub) {
  if (sub.prompt.size() <= node.remote.max_prompt_bytes)
    return {};
  return "prompt: " + std::to_string(sub.prompt.size()) + " bytes is more than the "
         + std::to_string(node.remote.max_prompt_bytes)
         + " a remote task may send (remote.max_prompt_bytes)";
}

verdict attempts(const pool_config& node, const task_submission& sub) {
  if (sub.max_attempts <= node.remote.max_attempts)
    return {};
  return "max_attempts: " + std::to_string(sub.max_attempts) + " is more than the "
         + std::to_string(node.remote.max_attempts)
         + " a remote task may ask for (remote.max_attempts; each attempt costs again)";
}

verdict working_dir(const pool_config& node, const task_submission& sub) {
  if (!sub.working_dir || opted_in(node, "working_dir"))
    return {};
  return "working_dir: a remote task may not choose the directory the CLI runs in (it would "
         "read and edit files outside the node's own)"
         + opt_in("working_dir");
}

verdict mcp_servers(const pool_config& node, const task_overrides& o) {
  // An empty map defines none.
  if (!o.mcp_servers || o.mcp_servers->empty() || opted_in(node, "mcp_servers"))
    return {};
  return "config.mcp_servers: a remote task may not define MCP servers (they are commands "
         "the node would run)"
         + opt_in("mcp_servers");
}

verdict system_prompt(const pool_config& node, const task_overrides& o) {
  if (!o.system_prompt || opted_in(node, "system_prompt"))
    return {};
  return "config.system_prompt: a remote task may not replace the node's system prompt (it "
         "carries the operator's instructions)"
         + opt_in("system_prompt");
}

verdict permission(const pool_config& node, const task_overrides& o) {
  auto own = node_permission_mode(node);
  if (!o.permission_mode || permissiveness(*o.permission_mode) <= permissiveness(own)
      || opted_in(node, "permission_mode"))
    return {};
  return "config.permission_mode: a remote task may not ask for "
         + std::string(to_string(*o.permission_mode)) + ", more permissive than the node's own "
         + std::string(to_string(own))
         + " (plan < dont_ask < default < accept_edits < auto < bypass_permissions)"
         + opt_in("permission_mode");
}

/// The models a remote task may name: the operator's list plus the node's own choices.
verdict model(const pool_config& node, const std::optional<std::string>& asked,
              const char* field) {
  if (!asked || opted_in(node, "model") || contains(node.remote.allowed_models, *asked)
      || *asked == node.model || *asked == node.fallback_model)
    return {};
  return std::string("config.") + field + ": a remote task may not ask for model \"" + *asked
         + "\" (it is neither the node's own nor in remote.allowed_models)" + opt_in("model");
}

/// Listing a tool in `allowed_tools` pre-approves it and `tools` makes it available: either
/// must stay within what the node allows (its own list or remote.allowed_tools), exactly.
verdict tool_list(const pool_config& node, const std::optional<std::vector<std::string>>& asked,
                  const char* field) {
  if (!asked || opted_in(node, "tools"))
    return {};
  for (const auto& tool : *asked)
    if (!contains(node.allowed_tools, tool) && !contains(node.remote.allowed_tools, tool))
      return std::string("config.") + field + ": a remote task may not list tool \"" + tool
             + "\" (it is neither in the node's allowed_tools nor in remote.allowed_tools)"
             + opt_in("tools");
  return {};
}

verdict budget(const pool_config& node, const task_overrides& o) {
  if (!o.max_budget_usd)
    return {};
  auto usd = *o.max_budget_usd;
  auto ceiling = node.remote.max_task_budget_usd;
  if (std::isfinite(usd) && usd > 0 && usd <= ceiling)
    return {};
  return "config.max_budget_usd: " + dollars(usd) + " US dollars is not within the 0 < x <= "
         + dollars(ceiling) + " a remote task may ask for (remote.max_task_budget_usd)";
}

verdict overrides(const pool_config& node, const task_submission& sub) {
  if (!sub.config)
    return {};
  auto& o = *sub.config;
  // tags, max_turns, effort, json_schema, disallowed_tools, live_progress, review_required
  // and max_rejections only shape or restrict a task: always allowed.
  for (auto result : {mcp_servers(node, o), system_prompt(node, o), permission(node, o),
                      model(node, o.model, "model"),
                      model(node, o.fallback_model, "fallback_model"),
                      tool_list(node, o.allowed_tools, "allowed_tools"),
                      tool_list(node, o.tools, "tools"), budget(node, o)})
    if (result)
      return result;
  return {};
}

using rule = verdict (*)(const pool_config&, const task_submission&);

constexpr rule rules[] = {prompt_size, attempts, working_dir, overrides};

} // namespace

std::optional<std::string> check_remote_submission(const pool_config& node,
                                                   const task_submission& sub) {
  for (auto check : rules)
    if (auto why = check(node, sub))
      return why;
  return std::nullopt;
}

} // namespace claude_pool
