#pragma once
/// The budget actor: applies a `budget_ledger` for the pool that spawned it and tells the
/// pool when spend crosses 50, 80 and 100 percent of the cap.

#include "actors/budget_ledger.hpp"
#include "messages/interfaces.hpp"

namespace claude_pool {

struct budget_actor_state {
  static inline const char* name = "claude_pool.budget";
  budget_ledger ledger{std::nullopt, 0};
  pool_actor pool;
  std::optional<std::uint64_t> wake_at; ///< a daily reset the pool is to hear about
};

/// `cfg.budget_microdollars` is the cap; the reservation policy comes from `cfg` too.
budget_actor::behavior_type
budget_behavior(budget_actor::stateful_pointer<budget_actor_state> self, const pool_config& cfg,
                std::uint64_t spent_before,
                pool_actor pool);

/// The event a crossed threshold becomes.
pool_event budget_warning(int threshold, const budget_ledger& ledger);

} // namespace claude_pool
