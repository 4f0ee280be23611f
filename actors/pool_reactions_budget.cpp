// The pool's reactions that involve the budget (only with a budget, see has_budget): asking it
// before a task starts, its answers, booking and settling what executions cost, and its
// figures in the status (see pool_reactions.hpp).
#include "actors/pool_reactions.hpp"

#include <algorithm>
#include <cmath>

#include <caf/typed_event_based_actor.hpp>

#include "actors/budget_ledger.hpp"

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
void on_grant(self_ptr self, std::uint64_t allowance, std::uint64_t reservation) {
  auto& st = self->state;
  auto a = std::move(*st.awaiting_grant);
  st.awaiting_grant.reset();
  if (!st.still_assigned(a)) {
    // Cancelled or lost while the budget decided: give the reservation back.
    self->send(st.budget, settle_atom_v, a.task.id, std::uint64_t{0});
    ++st.settles_sent;
    st.budget_blocked = false;
  } else {
    st.allowances[a.task.id] = pool_actor_state::grant_held{allowance, reservation, 0};
    if (allowance != no_allowance) { // else nothing caps this task
      if (!a.task.overrides)
        a.task.overrides.emplace();
      a.task.overrides->max_budget_usd = static_cast<double>(allowance) / 1e6;
    }
    // An execution that may outrun its reservation reports its cost after every turn.
    a.task.watch_cost = allowance > reservation;
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
/// the process) counts as its whole allowance under a fixed allowance, else as what it held
/// (its reservation, or the cost it was seen at if more), so a lost run never hides spend.
void settle_execution(self_ptr self, const task_id& id, std::optional<std::uint64_t> cost) {
  auto& st = self->state;
  if (!cost)
    st.budget_stops.erase(id); // lost with its slot: complete() will not see it
  auto it = st.allowances.find(id);
  if (it == st.allowances.end()) {
    book_spend(self, cost.value_or(0));
    return;
  }
  auto& g = it->second;
  auto unknown = g.allowance > g.reservation ? std::max(g.reservation, g.seen) : g.allowance;
  book_spend(self, cost.value_or(unknown));
  self->send(st.budget, settle_atom_v, id, cost.value_or(unknown));
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
  auto rec = st.tasks.find(task.id);
  auto tags = rec != st.tasks.end() ? rec->second.tags : std::vector<std::string>{};
  self->request(st.budget, caf::infinite, reserve_atom_v, task.id,
                wanted_allowance(task.overrides), std::move(tags))
    .then([self](std::uint64_t allowance,
                 std::uint64_t reservation) { on_grant(self, allowance, reservation); },
          [self](caf::error& err) { on_no_grant(self, err); });
}

/// A running execution's cost after a turn: the budget tracks it and may say it must stop
/// (it outran its reservation and the budget cannot hold it).
void track_cost(self_ptr self, const task_id& id, const slot_id& from, std::uint64_t cost) {
  auto& st = self->state;
  auto it = st.allowances.find(id);
  auto task = st.tasks.find(id);
  if (!st.budget || it == st.allowances.end() || cost <= it->second.seen
      || task == st.tasks.end() || task->second.state != task_state::running
      || task->second.slot_id != from)
    return;
  it->second.seen = cost;
  self->request(st.budget, caf::infinite, track_atom_v, id, cost)
    .then([self, id, from](const std::string& why) {
      auto& st = self->state;
      auto task = st.tasks.find(id);
      if (why.empty() || task == st.tasks.end() || task->second.state != task_state::running
          || task->second.slot_id != from || st.budget_stops.count(id))
        return;
      st.budget_stops[id] = why;
      st.record_event(pool_event{now_ms(), "budget_stop", from, "task " + id.value + " " + why});
      if (auto slot = st.slots.find(from); slot != st.slots.end())
        self->send(slot->second.handle, cancel_atom_v, id);
    });
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
