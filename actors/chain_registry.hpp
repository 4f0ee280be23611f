#pragma once
/// The chains of one pool: checks and starts them, and answers for them by id. Each chain
/// is its own actor (actors/chain_actor.hpp); several run at once.

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "messages/interfaces.hpp"
#include "runtime/store/task_store.hpp"

namespace claude_pool {

class git_worktrees;

struct chain_registry_deps {
  pool_client_actor pool; ///< the pool, or a client gate (its policy then applies to each step)
  /// Chains run in a worktree unless their definition says otherwise when this is set (the
  /// pool's `worktree_isolation`).
  bool worktree_by_default = false;
  /// The pool's git worktrees, made on first use; throws when the project directory is
  /// not a git repository (the chain is then refused, naming the problem).
  std::function<std::shared_ptr<git_worktrees>()> worktrees;
  /// Set: chains are durable (written at every step; see chain_actor.hpp). The chains the
  /// store held at start come in `recovered`: ended ones are answered for, the others
  /// resume at once.
  std::shared_ptr<task_store> store;
  std::vector<stored_chain> recovered;
};

struct chain_registry_state {
  static inline const char* name = "claude_pool.chains";

  chain_registry_deps deps;
  std::map<chain_id, chain_actor> chains;
  std::map<chain_id, chain_record> ended_before; ///< chains that ended under an earlier pool
  std::vector<chain_id> order; ///< oldest first
};

chain_registry_actor::behavior_type
chain_registry_behavior(chain_registry_actor::stateful_pointer<chain_registry_state> self,
                       chain_registry_deps deps);

} // namespace claude_pool
