#include "actors/budget_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace claude_pool {

namespace {

std::optional<std::uint64_t> wanted(std::uint64_t x) {
  return x == 0 ? std::nullopt : std::optional<std::uint64_t>(x);
}

caf::error to_error(const budget_refusal& r) {
  auto code = r.code == "budget_exhausted" ? pool_errc::budget_exhausted
                                           : pool_errc::task_budget_exceeds_remaining;
  return caf::make_error(code, r.message());
}

} // namespace

pool_event budget_warning(int threshold, const budget_ledger& ledger) {
  auto cap = ledger.cap().value_or(0);
  return pool_event{now_ms(), "budget_warning", std::nullopt,
                    std::to_string(threshold) + " % of the budget is spent: "
                      + format_microdollars(ledger.spent()) + " of " + format_microdollars(cap)};
}

budget_actor::behavior_type budget_behavior(budget_actor::stateful_pointer<budget_actor_state> self,
                                            const pool_config& cfg,
                                            std::uint64_t spent_before, pool_actor pool) {
  self->state.ledger = budget_ledger(cfg.budget_microdollars,
                                     cfg.budget_default_reservation_microdollars,
                                     cfg.budget_reserve_observed,
                                     cfg.budget_policy == "fixed" ? budget_policy::fixed
                                                                  : budget_policy::learn);
  budget_scope_caps scopes;
  scopes.per_tag = cfg.budget_tag_microdollars;
  scopes.per_chain = cfg.budget_chain_microdollars;
  scopes.daily = cfg.budget_daily_microdollars;
  scopes.daily_reset_secs = daily_reset_seconds(cfg.budget_daily_reset_utc).value_or(0);
  self->state.ledger.set_scopes(std::move(scopes));
  self->state.ledger.restore_spent(spent_before);
  self->state.pool = std::move(pool);
  self->monitor(self->state.pool); // lives as long as its pool
  self->set_down_handler([self](const caf::down_msg& dm) { self->quit(dm.reason); });
  return {
    [self](admit_atom, std::uint64_t want,
           const std::vector<std::string>& tags) -> caf::result<std::uint64_t> {
      auto& ledger = self->state.ledger;
      if (auto refused = ledger.admit(wanted(want), tags))
        return to_error(*refused);
      return wanted(want).value_or(ledger.expected_cost());
    },
    [self](reserve_atom, const task_id& task, std::uint64_t want,
           const std::vector<std::string>& tags) -> caf::result<std::uint64_t, std::uint64_t> {
      auto& st = self->state;
      auto g = st.ledger.reserve(task, wanted(want), tags);
      switch (g.what) {
        case budget_grant::granted:
          return {g.allowance, g.reservation};
        case budget_grant::wait:
          if (g.retry_at_ms && (!st.wake_at || *g.retry_at_ms < *st.wake_at)) {
            // Nothing may settle before the day's reset: wake the pool then.
            st.wake_at = g.retry_at_ms;
            auto now = now_ms();
            auto delay = *g.retry_at_ms > now ? *g.retry_at_ms - now : 0;
            self->delayed_send(self, std::chrono::milliseconds(delay + 1), resume_atom_v);
          }
          return caf::make_error(pool_errc::budget_wait,
                                 "no room until running tasks settle their cost");
        case budget_grant::refused:
          break;
      }
      return to_error(*g.refusal);
    },
    [self](settle_atom, const task_id& task, std::uint64_t cost) {
      auto& st = self->state;
      for (int threshold : st.ledger.settle(task, cost))
        self->send(st.pool, event_atom_v, budget_warning(threshold, st.ledger));
    },
    [self](track_atom, const task_id& task, std::uint64_t cost) -> std::string {
      return self->state.ledger.track(task, cost);
    },
    [self](resume_atom) {
      auto& st = self->state;
      st.wake_at.reset();
      self->send(st.pool, resume_atom_v);
    },
    [self](status_atom) -> budget_status { return self->state.ledger.status(); },
  };
}

} // namespace claude_pool
