#pragma once
/// The reference's enums. JSON spells every value in snake_case; `parse_*` return
/// std::nullopt for an unknown spelling so callers can name the offending field.

#include <optional>
#include <string_view>

namespace claude_pool {

/// Slot persistence mode (reference `SlotMode`, default persistent).
enum class slot_mode { persistent, ephemeral };

/// How a slot runs the CLI (extension): a process per task, or one long-lived process fed
/// task after task over stream-json.
enum class execution_mode { one_shot, warm };

/// Current state of a slot (reference `SlotState`).
enum class slot_state { idle, busy, stopped, errored };

/// Current state of a task (reference `TaskState`).
enum class task_state { pending, running, completed, failed, cancelled, pending_review };

/// Permission mode handed to the CLI (`--permission-mode`). JSON: snake_case
/// (`accept_edits`, `dont_ask`, …); the CLI's own camelCase spelling is accepted on input.
enum class permission_mode { accept_edits, auto_mode, bypass_permissions, default_mode, dont_ask, plan };

/// Effort level handed to the CLI (`--effort`).
enum class effort { low, medium, high, xhigh, max };

std::string_view to_string(slot_mode x);
std::string_view to_string(slot_state x);
std::string_view to_string(execution_mode x);
std::string_view to_string(task_state x);
std::string_view to_string(permission_mode x);
std::string_view to_string(effort x);

/// The spelling the pinned CLI expects after `--permission-mode`.
std::string_view cli_spelling(permission_mode x);

std::optional<slot_mode> parse_slot_mode(std::string_view s);
std::optional<slot_state> parse_slot_state(std::string_view s);
std::optional<execution_mode> parse_execution_mode(std::string_view s);
std::optional<task_state> parse_task_state(std::string_view s);
std::optional<permission_mode> parse_permission_mode(std::string_view s);
std::optional<effort> parse_effort(std::string_view s);

/// True for the states a task never leaves (completed, failed, cancelled).
bool is_terminal(task_state x);

} // namespace claude_pool
