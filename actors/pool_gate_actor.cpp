#include "actors/pool_gate_actor.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace claude_pool {

namespace {

/// A gate lives no longer than what it watches (its pool, a member gate's host too).
template <class Self, class... Handles>
void follow(Self* self, const Handles&... watched) {
  (self->monitor(watched), ...);
  self->set_down_handler([self](const caf::down_msg& dm) { self->quit(dm.reason); });
}

} // namespace

pool_client_actor::behavior_type client_gate_behavior(pool_client_actor::pointer self,
                                                      pool_client_actor pool) {
  follow(self, pool);
  return {
    [self, pool](submit_atom a, task_submission& sub) {
      return self->delegate(pool, a, std::move(sub));
    },
    [self, pool](run_atom a, task_submission& sub) {
      return self->delegate(pool, a, std::move(sub));
    },
    [self, pool](wait_atom a, const task_id& id) { return self->delegate(pool, a, id); },
    [self, pool](result_atom a, const task_id& id) { return self->delegate(pool, a, id); },
    [self, pool](list_atom a, const task_filter& f) { return self->delegate(pool, a, f); },
    [self, pool](status_atom a) { return self->delegate(pool, a); },
    [self, pool](metrics_atom a, const metrics_filter& f) {
      return self->delegate(pool, a, f);
    },
    [self, pool](cancel_atom a, const task_id& id) { return self->delegate(pool, a, id); },
    [self, pool](approve_atom a, const task_id& id) { return self->delegate(pool, a, id); },
    [self, pool](reject_atom a, const task_id& id, const std::string& feedback) {
      return self->delegate(pool, a, id, feedback);
    },
    [self, pool](drain_atom a, std::uint64_t deadline_ms) {
      return self->delegate(pool, a, deadline_ms);
    },
    [self, pool](scale_up_atom a, std::uint64_t n) { return self->delegate(pool, a, n); },
    [self, pool](scale_down_atom a, std::uint64_t n, bool force) {
      return self->delegate(pool, a, n, force);
    },
    [self, pool](set_target_atom a, std::uint64_t n, bool force) {
      return self->delegate(pool, a, n, force);
    },
    [self, pool](join_atom a, const std::string& node, std::uint64_t own,
                 std::uint64_t capacity) { return self->delegate(pool, a, node, own, capacity); },
  };
}

pool_member_actor::behavior_type member_gate_behavior(pool_member_actor::pointer self,
                                                      pool_member_actor pool, caf::actor host,
                                                      std::string node) {
  follow(self, pool, host);
  auto theirs = [node](const slot_record& rec) { return rec.node == node; };
  return {
    [self, pool](progress_atom a, const task_id& id, const slot_id& from, task_progress& p) {
      return self->delegate(pool, a, id, from, std::move(p));
    },
    [self, pool, theirs](task_done_atom a, const slot_record& slot, const task_id& id,
                         task_result& result) {
      if (theirs(slot))
        self->delegate(pool, a, slot, id, std::move(result));
    },
    [self, pool, theirs](remote_slot_atom a, caf::strong_actor_ptr& slot, const slot_record& rec,
                         bool placed) {
      if (theirs(rec))
        self->delegate(pool, a, std::move(slot), rec, placed);
    },
    [self, pool, theirs](slot_event_atom a, const slot_record& rec, pool_event& ev) {
      if (theirs(rec))
        self->delegate(pool, a, rec, std::move(ev));
    },
    [](sync_atom) { return true; }, // in order: whatever came before is with the pool now
    [self, pool, node](leave_atom a, const std::string& name) {
      if (name == node)
        self->delegate(pool, a, name);
    },
  };
}

} // namespace claude_pool
