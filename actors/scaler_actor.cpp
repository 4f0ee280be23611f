#include "actors/scaler_actor.hpp"

#include <chrono>

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace claude_pool {

namespace {

using self_ptr = scaler_actor::stateful_pointer<scaler_state>;

/// Moves the target to `n` (already checked against the bounds).
std::uint64_t move_to(self_ptr self, std::uint64_t n, bool force) {
  auto& st = self->state;
  if (n > st.target)
    self->send(st.pool, add_slots_atom_v, n - st.target);
  else if (n < st.target)
    self->send(st.pool, retire_atom_v, st.target - n, force);
  st.target = n;
  return n;
}

caf::result<std::uint64_t> checked_move(self_ptr self, const std::string& request,
                                        std::uint64_t n, bool force) {
  if (auto why = self->state.out_of_bounds(request, n); !why.empty())
    return caf::make_error(pool_errc::out_of_bounds, why);
  return move_to(self, n, force);
}

void schedule_tick(self_ptr self) {
  auto& as = self->state.config->scaling.autoscale;
  if (as)
    self->delayed_send(self, std::chrono::milliseconds(as->interval_ms), autoscale_atom_v);
}

} // namespace

std::string scaler_state::out_of_bounds(const std::string& request, std::uint64_t n) const {
  auto& s = config->scaling;
  if (n < s.min_slots)
    return request + ": " + std::to_string(n) + " slots would be below scaling.min_slots ("
           + std::to_string(s.min_slots) + ")";
  if (n > s.max_slots)
    return request + ": " + std::to_string(n) + " slots would be above scaling.max_slots ("
           + std::to_string(s.max_slots) + ")";
  return {};
}

scaler_actor::behavior_type scaler_behavior(self_ptr self,
                                            std::shared_ptr<const pool_config> config,
                                            pool_actor pool) {
  auto& st = self->state;
  st.config = std::move(config);
  st.pool = std::move(pool);
  st.target = st.config->initial_slots.value_or(st.config->scaling.min_slots);
  self->monitor(st.pool); // lives as long as its pool
  self->set_down_handler([self](const caf::down_msg& dm) { self->quit(dm.reason); });
  schedule_tick(self);
  return {
    [self](scale_up_atom, std::uint64_t n) -> caf::result<std::uint64_t> {
      if (n == 0)
        return caf::make_error(pool_errc::invalid_request, "scale_up(0): must add at least 1");
      auto t = self->state.target;
      return checked_move(self, "scale_up(" + std::to_string(n) + ")", t + n, false);
    },
    [self](scale_down_atom, std::uint64_t n, bool force) -> caf::result<std::uint64_t> {
      if (n == 0)
        return caf::make_error(pool_errc::invalid_request,
                               "scale_down(0): must remove at least 1");
      auto t = self->state.target;
      auto request = "scale_down(" + std::to_string(n) + ")";
      if (n > t)
        return caf::make_error(pool_errc::out_of_bounds,
                               request + ": the pool has only " + std::to_string(t)
                                 + " slots; scaling.min_slots is "
                                 + std::to_string(self->state.config->scaling.min_slots));
      return checked_move(self, request, t - n, force);
    },
    [self](set_target_atom, std::uint64_t n, bool force) -> caf::result<std::uint64_t> {
      return checked_move(self, "set_target(" + std::to_string(n) + ")", n, force);
    },
    [self](autoscale_atom) {
      auto& st = self->state;
      self->request(st.pool, caf::infinite, autoscale_atom_v)
        .then(
          [self](const pool_load& load) {
            auto& st = self->state;
            auto d = decide_autoscale(st.config->scaling, st.target, load, now_ms());
            if (d.delta != 0) {
              auto to = static_cast<std::uint64_t>(static_cast<std::int64_t>(st.target) + d.delta);
              self->send(st.pool, event_atom_v,
                         pool_event{now_ms(), "autoscaled", std::nullopt,
                                    std::to_string(st.target) + " → " + std::to_string(to)
                                      + " slots: " + d.why});
              move_to(self, to, false);
            }
            schedule_tick(self);
          },
          [self](const caf::error&) { self->quit(); }); // the pool is gone
    },
  };
}

} // namespace claude_pool
