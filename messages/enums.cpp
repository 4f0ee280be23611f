#include "messages/enums.hpp"

#include <array>
#include <utility>

namespace claude_pool {

namespace {

template <class Enum, std::size_t N>
using table = std::array<std::pair<Enum, std::string_view>, N>;

constexpr table<slot_mode, 2> slot_modes{{{slot_mode::persistent, "persistent"},
                                          {slot_mode::ephemeral, "ephemeral"}}};
constexpr table<slot_state, 4> slot_states{{{slot_state::idle, "idle"},
                                            {slot_state::busy, "busy"},
                                            {slot_state::stopped, "stopped"},
                                            {slot_state::errored, "errored"}}};
constexpr table<task_state, 6> task_states{{{task_state::pending, "pending"},
                                            {task_state::running, "running"},
                                            {task_state::completed, "completed"},
                                            {task_state::failed, "failed"},
                                            {task_state::cancelled, "cancelled"},
                                            {task_state::pending_review, "pending_review"}}};
constexpr table<permission_mode, 6> permission_modes{
  {{permission_mode::accept_edits, "accept_edits"},
   {permission_mode::auto_mode, "auto"},
   {permission_mode::bypass_permissions, "bypass_permissions"},
   {permission_mode::default_mode, "default"},
   {permission_mode::dont_ask, "dont_ask"},
   {permission_mode::plan, "plan"}}};
constexpr table<permission_mode, 6> permission_modes_cli{
  {{permission_mode::accept_edits, "acceptEdits"},
   {permission_mode::auto_mode, "auto"},
   {permission_mode::bypass_permissions, "bypassPermissions"},
   {permission_mode::default_mode, "default"},
   {permission_mode::dont_ask, "dontAsk"},
   {permission_mode::plan, "plan"}}};
constexpr table<effort, 5> efforts{{{effort::low, "low"},
                                    {effort::medium, "medium"},
                                    {effort::high, "high"},
                                    {effort::xhigh, "xhigh"},
                                    {effort::max, "max"}}};

template <class Enum, std::size_t N>
std::string_view name_of(const table<Enum, N>& t, Enum x) {
  for (auto& [value, name] : t)
    if (value == x)
      return name;
  return "?";
}

template <class Enum, std::size_t N>
std::optional<Enum> value_of(const table<Enum, N>& t, std::string_view s) {
  for (auto& [value, name] : t)
    if (name == s)
      return value;
  return std::nullopt;
}

} // namespace

constexpr table<execution_mode, 2> execution_modes{{{execution_mode::one_shot, "one_shot"},
                                                    {execution_mode::warm, "warm"}}};

std::string_view to_string(slot_mode x) { return name_of(slot_modes, x); }
std::string_view to_string(execution_mode x) { return name_of(execution_modes, x); }
std::optional<execution_mode> parse_execution_mode(std::string_view s) {
  return value_of(execution_modes, s);
}
std::string_view to_string(slot_state x) { return name_of(slot_states, x); }
std::string_view to_string(task_state x) { return name_of(task_states, x); }
std::string_view to_string(permission_mode x) { return name_of(permission_modes, x); }
std::string_view to_string(effort x) { return name_of(efforts, x); }
std::string_view cli_spelling(permission_mode x) { return name_of(permission_modes_cli, x); }

std::optional<slot_mode> parse_slot_mode(std::string_view s) { return value_of(slot_modes, s); }
std::optional<slot_state> parse_slot_state(std::string_view s) {
  return value_of(slot_states, s);
}
std::optional<task_state> parse_task_state(std::string_view s) {
  return value_of(task_states, s);
}
std::optional<permission_mode> parse_permission_mode(std::string_view s) {
  if (auto x = value_of(permission_modes, s))
    return x;
  return value_of(permission_modes_cli, s);
}
std::optional<effort> parse_effort(std::string_view s) { return value_of(efforts, s); }

bool is_terminal(task_state x) {
  return x == task_state::completed || x == task_state::failed || x == task_state::cancelled;
}

} // namespace claude_pool
