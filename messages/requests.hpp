#pragma once
/// Requests and replies exchanged between the facade, the pool and its slots.

#include <cstdint>
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
};

void to_json(nlohmann::json& j, const task_submission& x);
void from_json(const nlohmann::json& j, task_submission& x);
void to_json(nlohmann::json& j, const pool_status& x);
void from_json(const nlohmann::json& j, pool_status& x);
void to_json(nlohmann::json& j, const drain_summary& x);
void from_json(const nlohmann::json& j, drain_summary& x);
void to_json(nlohmann::json& j, const task_assignment& x);
void from_json(const nlohmann::json& j, task_assignment& x);

} // namespace claude_pool
