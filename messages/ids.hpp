#pragma once
/// Identifiers of tasks and slots. Both serialise as a plain JSON string, as the reference's
/// newtypes `TaskId(String)` and `SlotId(String)` do.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace claude_pool {

/// Unique identifier of a task.
struct task_id {
  std::string value;
  friend bool operator==(const task_id& a, const task_id& b) { return a.value == b.value; }
  friend bool operator!=(const task_id& a, const task_id& b) { return !(a == b); }
  friend bool operator<(const task_id& a, const task_id& b) { return a.value < b.value; }
};

/// Unique identifier of a slot.
struct slot_id {
  std::string value;
  friend bool operator==(const slot_id& a, const slot_id& b) { return a.value == b.value; }
  friend bool operator!=(const slot_id& a, const slot_id& b) { return !(a == b); }
  friend bool operator<(const slot_id& a, const slot_id& b) { return a.value < b.value; }
};

/// Unique identifier of a chain (`chain-` + the same scheme as task ids).
struct chain_id {
  std::string value;
  friend bool operator==(const chain_id& a, const chain_id& b) { return a.value == b.value; }
  friend bool operator!=(const chain_id& a, const chain_id& b) { return !(a == b); }
  friend bool operator<(const chain_id& a, const chain_id& b) { return a.value < b.value; }
};

/// A new chain id.
chain_id make_chain_id();

/// A new task id, unique within this process and, with overwhelming probability, across
/// processes and hosts: `task-` + 64 random bits (seeded once from std::random_device) +
/// a process-wide atomic sequence number. Safe to call from any number of threads at once.
task_id make_task_id();

/// Milliseconds since the Unix epoch (the reference's `now_ms`).
std::uint64_t now_ms();

} // namespace claude_pool

template <>
struct std::hash<claude_pool::task_id> {
  std::size_t operator()(const claude_pool::task_id& x) const noexcept {
    return std::hash<std::string>{}(x.value);
  }
};

template <>
struct std::hash<claude_pool::slot_id> {
  std::size_t operator()(const claude_pool::slot_id& x) const noexcept {
    return std::hash<std::string>{}(x.value);
  }
};
