// The pool's reactions that involve the budget (only with budget_microdollars): asking it
// before a task starts, its answers, booking and settling what executions cost, and its
// figures in the status (see pool_reactions.hpp).
#include "actors/pool_reactions.hpp"

#include <cmath>

#include <caf/typed_event_based_actor.hpp>

namespace claude_pool::pool_reactions {

namespace {

std::string error_text(const caf::error& err) {
  return error_context(err).value_or(to_string(err));
}

bool is(const caf::error& err, pool_errc code) {
  return err.category() == caf::atom("claudepool")
         && err.code() == static_cast<std::uint8_t>(code);
}

void book_spend(self_ptr self, std::uint64_t cost) {
  self->state.spent_total += cost;
  self->state.spent_changed = cost != 0 || self->state.spent_changed;
}

/// The budget answered the reservation for the routed task.
void on_grant(self_ptr self, std::uint64_t allowance) {
  auto& st = self->state;
  auto a = std::move(*st.awaiting_grant);
  st.awaiting_grant.reset();
  if (!st.still_assigned(a)) {
    // Cancelled or lost while the budget decided: give the reservation back.
    self->send(st.budget, settle_atom_v, a.task.id, std::uint64_t{0});
    ++st.settles_sent;
    st.budget_blocked = false;
  } else {
    st.allowances[a.task.id] = allowance;
    if (!a.task.overrides)
      a.task.overrides.emplace();
    a.task.overrides->max_budget_usd = static_cast<double>(allowance) / 1e6;
    self->send(st.slots[a.slot].handle, execute_atom_v, std::move(a.task));
  }
  dispatch(self);
}

void on_no_grant(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  auto a = std::move(*st.awaiting_grant);
  st.awaiting_grant.reset();
  auto now = now_ms();
  if (st.still_assigned(a)) {
    if (is(err, pool_errc::budget_wait)) {
      st.unroute(a, now);
      maybe_stop_retiring(self, a.slot);
      arm_expiry(self);
      // The answer predates any settle sent since the question: ask again at once then;
      // otherwise wait for the next settle.
      if (st.settles_sent == st.settles_at_ask) {
        st.budget_blocked = true;
        return;
      }
      dispatch(self);
      return;
    }
    auto code = err.category() == caf::atom("claudepool")
                  ? to_string(static_cast<pool_errc>(err.code()))
                  : std::string("budget_unavailable");
    st.refuse(a, code, error_text(err), now);
    maybe_stop_retiring(self, a.slot);
    task_settled(self, a.task.id);
  }
  dispatch(self);
}

} // namespace

/// The task's own budget in microdollars, 0 when it sets none.
std::uint64_t wanted_allowance(const std::optional<task_overrides>& cfg) {
  if (!cfg || !cfg->max_budget_usd)
    return 0;
  return static_cast<std::uint64_t>(std::llround(*cfg->max_budget_usd * 1e6));
}

/// Books an execution's cost with the budget; unknown (`nullopt`: the slot was lost with
/// the process) counts as the whole allowance, so a lost run can never hide spend.
void settle_execution(self_ptr self, const task_id& id, std::optional<std::uint64_t> cost) {
  auto& st = self->state;
  auto it = st.allowances.find(id);
  if (it == st.allowances.end()) {
    book_spend(self, cost.value_or(0));
    return;
  }
  book_spend(self, cost.value_or(it->second));
  self->send(st.budget, settle_atom_v, id, cost.value_or(it->second));
  st.allowances.erase(it);
  ++st.settles_sent;
  st.budget_blocked = false; // the budget may have room again
}

/// With a cap, one task at a time asks the budget before it starts (the budget answers in
/// microseconds; routing stays in submission order).
void dispatch_budgeted(self_ptr self, std::uint64_t now) {
  auto& st = self->state;
  if (st.awaiting_grant || st.budget_blocked)
    return;
  auto routed = st.route(now, 1);
  if (routed.empty())
    return;
  persist(self); // before its execution can start (see dispatch)
  st.awaiting_grant = std::move(routed.front());
  st.settles_at_ask = st.settles_sent;
  auto& task = st.awaiting_grant->task;
  self->request(st.budget, caf::infinite, reserve_atom_v, task.id,
                wanted_allowance(task.overrides))
    .then([self](std::uint64_t allowance) { on_grant(self, allowance); },
          [self](caf::error& err) { on_no_grant(self, err); });
}

caf::result<pool_status> report_status(self_ptr self) {
  auto& st = self->state;
  auto snapshot = st.status();
  snapshot.target_slots = st.target_slots;
  if (!st.budget)
    return snapshot;
  auto promise = self->make_response_promise<pool_status>();
  self->request(st.budget, caf::infinite, status_atom_v)
    .then(
      [promise, snapshot](budget_status& b) mutable {
        snapshot.budget = std::move(b);
        promise.deliver(std::move(snapshot));
      },
      [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

} // namespace claude_pool::pool_reactions
