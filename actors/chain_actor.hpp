#pragma once
/// A chain runs its steps one after another, each as a task of the pool: it renders the
/// step's prompt from the earlier outputs, waits for the task, takes the output variables,
/// and applies the step's failure policy (retries, then a recovery prompt). A failed step
/// ends the chain `failed` with the rest `skipped`; cancel stops the running step's process.
/// With a worktree, every step runs in the chain's own git worktree, removed at the end
/// (its branch kept and reported when the chain committed).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "messages/interfaces.hpp"

namespace claude_pool {

class git_worktrees;
class task_store;

/// What a chain needs from its surroundings.
struct chain_deps {
  pool_client_actor pool; ///< the pool, or a client gate (its policy then applies to each step)
  /// Set when the chain runs in a worktree.
  std::shared_ptr<git_worktrees> worktrees;
  /// Set when the chain is durable: its progress is written there at every step.
  std::shared_ptr<task_store> store;
  /// A chain a stopped pool left running (from the store): it goes on from its first step
  /// that did not complete, taking over that step's task if the pool still has one.
  std::optional<chain_record> resume;
};

/// The chain's state and bookkeeping; the actor glues it to the pool's replies.
struct chain_actor_state {
  static inline const char* name = "claude_pool.chain";

  chain_definition def;
  chain_record record;
  chain_deps deps;
  std::size_t step = 0;                   ///< index of the running (or next) step
  std::uint32_t failed_runs = 0;          ///< of the current step, before its recovery
  bool in_recovery = false;               ///< the current run is the recovery prompt
  std::optional<task_id> running;         ///< the current step's task, once accepted
  bool submitting = false;                ///< a submission awaits the pool's answer
  bool cancelling = false;
  bool pool_gone = false;                 ///< the pool stopped: the store keeps "running"
  /// The worktree's name while the chain holds one (shared with the exit hook that gives
  /// it back if the actor stops early).
  std::shared_ptr<std::string> held_worktree = std::make_shared<std::string>();
  std::optional<std::string> working_dir; ///< the worktree's path
  std::vector<caf::typed_response_promise<chain_record>> waiters;

  /// The prompt of the current step's next run (recovery: `error` is the last failure).
  std::string next_prompt(const std::optional<std::string>& error) const;

  /// The submission for the current step's next run.
  task_submission submission(std::string prompt) const;

  /// Marks the steps from `from` on skipped (or the current one cancelled) with `why`.
  void skip_rest(std::size_t from, const std::string& why);
};

/// Spawned by the chain registry; starts running at once.
chain_actor::behavior_type chain_behavior(chain_actor::stateful_pointer<chain_actor_state> self,
                                          chain_id id, chain_definition def, chain_deps deps);

} // namespace claude_pool
