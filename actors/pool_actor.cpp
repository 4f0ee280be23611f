// The pool actor: startup, and a table of "message → reaction"; the reactions live in
// pool_reactions_*.cpp (see pool_reactions.hpp), the logic in pool_actor_state.
#include "actors/pool_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/budget_actor.hpp"
#include "actors/pool_reactions.hpp"
#include "actors/scaler_actor.hpp"
#include "actors/slot_actor.hpp"
#include "supervision/supervisor_actor.hpp"

namespace claude_pool {

namespace {

using self_ptr = pool_reactions::self_ptr;

/// Forwards a scaling request to the scaler and remembers the target it answers with.
template <class... Ts>
caf::result<std::uint64_t> ask_scaler(self_ptr self, Ts... xs) {
  auto promise = self->make_response_promise<std::uint64_t>();
  self->request(self->state.scaler, caf::infinite, xs...)
    .then(
      [self, promise](std::uint64_t target) mutable {
        self->state.target_slots = target;
        promise.deliver(target);
      },
      [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

/// Chain messages go to the pool's registry (set by the facade before anyone has the pool's
/// handle); a pool without one (a bare pool actor in a test) says so.
template <class Result, class... Ts>
caf::result<Result> to_chains(self_ptr self, Ts... xs) {
  if (!self->state.chains)
    return caf::make_error(pool_errc::invalid_request, "this pool runs no chains");
  return self->delegate(self->state.chains, xs...);
}

/// What the pool's supervisor starts: this pool's slots, announced to it with `slot_up`; its
/// restarts and give-ups reach the pool as slot events.
supervisor_setup slot_supervision(self_ptr self, std::shared_ptr<const pool_config> cfg,
                                  pool_services& services) {
  pool_actor pool{self};
  supervisor_setup setup;
  setup.spec.start = [pool, cfg, executor = std::move(services.executor),
                      worktrees = std::move(services.worktrees)](
                       supervisor_actor::pointer sup, const slot_record& rec, bool) {
    auto handle = sup->spawn(slot_behavior, rec, slot_deps{executor, cfg, pool, worktrees});
    sup->send(pool, slot_up_atom_v, handle, rec);
    return caf::actor_cast<caf::actor>(handle);
  };
  setup.spec.report = [pool](supervisor_actor::pointer sup, const slot_record& rec,
                             pool_event ev) {
    sup->send(pool, slot_event_atom_v, rec, std::move(ev));
  };
  // Each new slot is bound to a credential for life (the one with most room). Without
  // credentials there is nothing to choose (and the supervisor need not list the siblings).
  if (!cfg->credentials.empty())
    setup.spec.place = [cfg](slot_config& slot, const std::vector<const slot_config*>& siblings) {
      if (!slot.credential)
        slot.credential = choose_credential(*cfg, siblings);
    };
  setup.policy = restart_policy::from(*cfg);
  if (cfg->supervisor_enabled)
    setup.periodic_pass = std::chrono::seconds(cfg->supervisor_interval_secs);
  auto count = cfg->initial_slots.value_or(cfg->scaling.min_slots);
  for (std::uint64_t i = 0; i < count; ++i)
    setup.initial.push_back(i < services.slot_configs.size()
                              ? shared_value<slot_config>(services.slot_configs[i])
                              : shared_value<slot_config>()); // the shared default
  setup.sessions = std::move(services.sessions);
  setup.owner = caf::actor_cast<caf::actor>(self);
  return setup;
}

} // namespace

pool_actor::behavior_type pool_behavior(self_ptr self, pool_config config, pool_services services) {
  auto cfg = std::make_shared<const pool_config>(std::move(config));
  auto& st = self->state;
  st.config = cfg;
  st.on_event = std::move(services.on_event);
  st.on_task_change = std::move(services.on_task_change);
  st.on_task_progress = std::move(services.on_task_progress);
  st.on_store_write = std::move(services.on_store_write);
  st.retain_ended = retained_ended_records(*cfg, services.store != nullptr);
  if (cfg->retain_ended_secs)
    st.retain_ended_ms = *cfg->retain_ended_secs * 1000;
  if (services.store) {
    st.store = std::move(services.store);
    st.spent_total = services.spent_before;
    auto summary = st.recover(std::move(services.recovered), now_ms(), services.stored_counts);
    st.record_event(pool_event{now_ms(), "store_recovered", std::nullopt, summary});
    if (auto problem = st.flush(); !problem.empty())
      st.record_event(pool_event{now_ms(), "store_failed", std::nullopt, problem});
  }
  st.supervisor = self->spawn(supervisor_behavior, slot_supervision(self, cfg, services));
  st.target_slots = cfg->initial_slots.value_or(cfg->scaling.min_slots);
  st.scaler = self->spawn(scaler_behavior, cfg, pool_actor{self});
  if (has_budget(*cfg))
    st.budget = self->spawn(budget_behavior, *cfg, st.spent_total, pool_actor{self});
  self->set_down_handler(
    [self](const caf::down_msg& dm) { pool_reactions::on_slot_down(self, dm); });
  using namespace pool_reactions;
  return {
    [self](submit_atom, task_submission& sub) { return submit(self, sub); },
    [self](submit_atom, std::vector<task_submission>& subs) { return submit_many(self, subs); },
    [self](run_atom, task_submission& sub) { return run(self, sub); },
    [self](wait_atom, const task_id& id) { return wait_for(self, id); },
    [self](result_atom, const task_id& id) -> caf::result<task_record> {
      if (auto task = self->state.find(id))
        return *task;
      return from_store(self, id);
    },
    [self](list_atom, const task_filter& filter) { return list(self, filter); },
    [self](trim_atom) { on_trim(self); },
    [self](chains_atom, chain_registry_actor& registry) { self->state.chains = registry; },
    [self](start_chain_atom a, chain_definition& def) {
      return to_chains<chain_id>(self, a, std::move(def));
    },
    [self](status_atom a, const chain_id& id) { return to_chains<chain_record>(self, a, id); },
    [self](wait_atom a, const chain_id& id) { return to_chains<chain_record>(self, a, id); },
    [self](cancel_atom a, const chain_id& id) { return to_chains<chain_record>(self, a, id); },
    [self](list_atom a) { return to_chains<std::vector<chain_record>>(self, a); },
    [self](status_atom) { return report_status(self); },
    [self](metrics_atom, const metrics_filter& filter) -> session_metrics {
      return self->state.metrics(filter, now_ms());
    },
    [self](cancel_atom, const task_id& id) { return cancel(self, id); },
    [self](approve_atom, const task_id& id) { return approve(self, id); },
    [self](reject_atom, const task_id& id, const std::string& feedback) {
      return reject(self, id, feedback);
    },
    [self](drain_atom, std::uint64_t deadline_ms) { return drain(self, deadline_ms); },
    [self](drain_atom) { drain_deadline(self); },
    [self](task_done_atom, const slot_record& slot, const task_id& id, task_result& result) {
      on_task_done(self, slot, id, result);
    },
    [self](progress_atom, const task_id& id, const slot_id& from, task_progress& report) {
      track_cost(self, id, from, report.cost_microdollars);
      self->state.progress(id, from, std::move(report));
    },
    [self](expire_atom) { on_expiry(self); },
    [self](resume_atom) {
      auto& st = self->state;
      if (st.resume_at && *st.resume_at <= now_ms())
        st.resume_at.reset(); // an earlier timer than the one armed now: keep that one
      st.budget_blocked = false; // the budget's daily reset, if it was the budget's
      dispatch(self);
    },
    [self](slot_up_atom, slot_actor& handle, slot_record& rec) { on_slot_up(self, handle, rec); },
    [self](add_slots_atom, std::uint64_t n) { place_slots(self, n, "scale-up"); },
    [self](join_atom, const std::string& node, std::uint64_t own, std::uint64_t capacity) {
      return join(self, node, own, capacity);
    },
    [self](remote_slot_atom, caf::strong_actor_ptr& ptr, slot_record& rec, bool placed) {
      on_remote_slot(self, ptr, rec, placed);
    },
    [self](leave_atom, const std::string& node) { on_leave(self, node); },
    [](sync_atom) { return true; },
    [self](scale_up_atom, std::uint64_t n) { return ask_scaler(self, scale_up_atom_v, n); },
    [self](scale_down_atom, std::uint64_t n, bool force) {
      return ask_scaler(self, scale_down_atom_v, n, force);
    },
    [self](set_target_atom, std::uint64_t n, bool force) {
      return ask_scaler(self, set_target_atom_v, n, force);
    },
    [self](retire_atom, std::uint64_t n, bool force) { retire(self, n, force); },
    [self](autoscale_atom) -> pool_load { return self->state.load(); },
    [self](event_atom, pool_event& ev) { self->state.record_event(std::move(ev)); },
    [self](slot_event_atom, const slot_record& rec, pool_event& ev) {
      self->state.update_slot(rec, std::move(ev));
      fail_unroutable(self);
      maybe_finish_drain(self);
    },
  };
}

} // namespace claude_pool
