#include "runtime/cli/resolved_config.hpp"

#include <algorithm>

namespace claude_pool {

namespace {

/// The most specific layer that sets the field wins.
template <class T>
std::optional<T> pick(const std::optional<T>& global, const std::optional<T>& slot,
                      const std::optional<T>* task) {
  if (task && *task)
    return *task;
  if (slot)
    return slot;
  return global;
}

void append_unique(std::vector<std::string>& out, const std::vector<std::string>& more) {
  for (auto& tool : more)
    if (std::find(out.begin(), out.end(), tool) == out.end())
      out.push_back(tool);
}

void merge_servers(mcp_server_map& out, const mcp_server_map& more) {
  for (auto& [name, server] : more)
    out[name] = server;
}

} // namespace

resolved_config resolve_config(const pool_config& pool, const slot_config& slot,
                               const task_overrides* task) {
  resolved_config r;
  r.model = pick(pool.model, slot.model, task ? &task->model : nullptr);
  r.permission_mode = pick(pool.permission_mode, slot.permission_mode,
                           task ? &task->permission_mode : nullptr);
  r.max_turns = pick(pool.max_turns, slot.max_turns, task ? &task->max_turns : nullptr);
  r.system_prompt = pick(pool.system_prompt, slot.system_prompt,
                         task ? &task->system_prompt : nullptr);
  r.effort = pick(pool.effort, slot.effort, task ? &task->effort : nullptr);
  r.fallback_model = pick(pool.fallback_model, slot.fallback_model,
                          task ? &task->fallback_model : nullptr);

  append_unique(r.allowed_tools, pool.allowed_tools);
  if (slot.allowed_tools)
    append_unique(r.allowed_tools, *slot.allowed_tools);
  if (task && task->allowed_tools)
    append_unique(r.allowed_tools, *task->allowed_tools);

  r.mcp_servers = pool.mcp_servers;
  if (slot.mcp_servers)
    merge_servers(r.mcp_servers, *slot.mcp_servers);
  if (task && task->mcp_servers)
    merge_servers(r.mcp_servers, *task->mcp_servers);
  r.strict_mcp_config = pool.strict_mcp_config;

  if (task) {
    if (task->disallowed_tools)
      r.disallowed_tools = *task->disallowed_tools;
    r.tools = task->tools;
    r.json_schema = task->json_schema;
    r.max_budget_usd = task->max_budget_usd;
  }
  r.slot_name = slot.name;
  r.slot_role = slot.role;
  r.slot_description = slot.description;
  r.bare = pool.bare;
  r.execution = slot.execution.value_or(pool.execution);
  if (slot.credential)
    for (auto& profile : pool.credentials)
      if (profile.name == *slot.credential)
        r.credential = profile;
  // Unattended: nobody is there to answer a permission prompt, so the default mode becomes
  // dontAsk — unless a slot or the task sets one, or the pool chose another than plan.
  bool mode_chosen = slot.permission_mode || (task && task->permission_mode)
                     || pool.permission_mode != permission_mode::plan;
  if (pool.unattended_mode && !mode_chosen)
    r.permission_mode = permission_mode::dont_ask;
  return r;
}

} // namespace claude_pool
