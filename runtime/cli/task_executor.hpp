#pragma once
/// The seam between a slot actor and the outside world: a slot hands an execution request to
/// an executor and gets exactly one `task_result` back, from whatever thread. The real
/// executor runs the `claude` CLI; tests and benchmarks plug in their own.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "messages/records.hpp"
#include "runtime/cli/resolved_config.hpp"

namespace claude_pool {

/// One task as a slot asks an executor to run it.
struct execution_request {
  task_id task;
  slot_id slot;                              ///< who asks (warm slots keep a process each)
  std::string prompt;
  resolved_config config;
  std::optional<std::string> resume_session; ///< persistent slots continue their session
  /// Where the CLI runs (a slot's or a chain's worktree). Unset: the executor's default.
  std::optional<std::string> working_dir;
  /// Run with the CLI's event stream and report progress through `on_progress` (called
  /// from any thread, any number of times before `done`, never after; must not block).
  bool live_progress = false;
  /// Report progress through `on_progress` (cost after every turn) without asking the CLI
  /// for text deltas: what the budget needs to track a task's cost.
  bool watch_cost = false;
  std::function<void(const task_progress&)> on_progress;
};

class task_executor {
public:
  using completion = std::function<void(task_result)>;

  virtual ~task_executor() = default;

  /// Starts the execution and returns at once with its handle. `done` is called exactly
  /// once, from any thread, and must not block.
  virtual std::uint64_t start(execution_request req, completion done) = 0;

  /// Stops a running execution (its `done` still fires, with a cancelled result). Unknown or
  /// finished handles are ignored.
  virtual void cancel(std::uint64_t execution) = 0;

  /// The slot stopped for good (or will be restarted afresh): let go of anything kept for
  /// it, such as a warm process. Called from the slot's thread; must not block.
  virtual void release_slot(const slot_id&) {}
};

} // namespace claude_pool
