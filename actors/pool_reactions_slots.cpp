// The pool's reactions to slots and slot hosts: slots that start, stop or are lost, hosts
// that join, leave or are lost, placing slots and retiring them for a scale-down (see
// pool_reactions.hpp).
#include "actors/pool_reactions.hpp"

#include "actors/pool_gate_actor.hpp"

#include <algorithm>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace claude_pool::pool_reactions {

namespace {

void stop_slot(self_ptr self, const slot_id& slot, const std::string& why) {
  auto& st = self->state;
  auto it = st.slots.find(slot);
  auto node = it == st.slots.end() ? std::nullopt : it->second.record.node;
  st.remove_slot(slot);
  if (!node) {
    self->send(st.supervisor, retire_atom_v, slot);
  } else {
    st.hosts.unplace(slot);
    // Its host stops it (and does not start it again); a host already gone took it along.
    if (auto host = st.hosts.find(*node))
      caf::anon_send(host->handle, retire_atom_v, slot);
  }
  st.record_event(pool_event{now_ms(), "slot_retired", slot, why});
}

void stop_slot(self_ptr self, const slot_id& slot) {
  stop_slot(self, slot, "taken out of service by a scale-down");
}

/// A (re)started slot, the pool's own or a slot host's: routed to from now on. One that was
/// being scaled away when it crashed and came back stops instead.
void route_to(self_ptr self, slot_actor& handle, slot_record& rec) {
  self->monitor(handle);
  auto id = rec.id;
  bool retiring = self->state.retiring.count(id) > 0;
  self->state.add_slot(std::move(handle), std::move(rec));
  if (retiring)
    stop_slot(self, id);
  dispatch(self);
}

/// A slot host's actor went away (its node was lost, or it left): its slots go too, each
/// with its own down message; the slots the scaler had placed there are placed again.
void on_host_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto gone = st.hosts.host_down(dm.source);
  if (!gone)
    return;
  st.member_gates.erase(gone->first);
  st.record_event(pool_event{now_ms(), "node_left", std::nullopt,
                             "node " + gone->first + " went away (" + to_string(dm.reason)
                               + ")"});
  if (gone->second > 0 && !st.draining)
    place_slots(self, gone->second, "replacing the slots lost with node " + gone->first);
}

} // namespace

/// Starts `n` new slots: on slot hosts with room first, the rest through the supervisor.
void place_slots(self_ptr self, std::uint64_t n, const std::string& why) {
  auto& st = self->state;
  auto where = st.hosts.place(n);
  for (auto& [node, k] : where.on_hosts) {
    caf::anon_send(st.hosts.find(node)->handle, add_slots_atom_v, k);
    st.record_event(pool_event{now_ms(), "slots_placed", std::nullopt,
                               std::to_string(k) + " slot" + (k == 1 ? "" : "s") + " on node "
                                 + node + ": " + why});
  }
  if (where.local > 0)
    self->send(st.supervisor, add_slots_atom_v, where.local);
}

/// A retiring slot that no longer runs anything stops now.
void maybe_stop_retiring(self_ptr self, const slot_id& slot) {
  auto& st = self->state;
  auto it = st.slots.find(slot);
  if (st.retiring.count(slot) && it != st.slots.end()
      && it->second.record.state != slot_state::busy)
    stop_slot(self, slot);
}

/// The gate of the host whose busy slot this is, when the slot's last report may still be
/// in it (the slot reports one hop further away than its down message comes from).
std::optional<pool_member_actor> last_report_pending(self_ptr self, const slot_id& slot,
                                                     const caf::actor_addr& source) {
  auto& st = self->state;
  auto it = st.slots.find(slot);
  if (it == st.slots.end() || it->second.handle.address() != source
      || !it->second.record.node || !it->second.record.current_task)
    return std::nullopt;
  auto gate = st.member_gates.find(*it->second.record.node);
  if (gate == st.member_gates.end())
    return std::nullopt;
  return gate->second;
}

/// The slot is gone: its task (if it still had one) is settled as lost.
void slot_gone(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = st.slot_by_addr.find(dm.source);
  if (it == st.slot_by_addr.end())
    return;
  auto slot = it->second;
  st.slot_by_addr.erase(it);
  st.going.erase(slot);
  if (st.slots.count(slot) && st.slots[slot].handle.address() != dm.source)
    return; // an older incarnation; the slot was already restarted
  auto running = st.slots.count(slot) ? st.slots[slot].record.current_task : std::nullopt;
  if (running)
    settle_execution(self, *running, std::nullopt);
  if (auto lost = st.slot_lost(slot, to_string(dm.reason), now_ms()))
    slot_released_task(self, lost->first, lost->second);
  dispatch(self);
  maybe_finish_drain(self);
}

void on_slot_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = st.slot_by_addr.find(dm.source);
  if (it == st.slot_by_addr.end()) {
    on_host_down(self, dm);
    return;
  }
  if (auto gate = last_report_pending(self, it->second, dm.source)) {
    st.going.insert(it->second);
    auto gone = [self, dm] { slot_gone(self, dm); };
    self->request(*gate, caf::infinite, sync_atom_v)
      .then([gone](bool) { gone(); }, [gone](caf::error&) { gone(); });
    return;
  }
  slot_gone(self, dm);
}

void on_slot_up(self_ptr self, slot_actor& handle, slot_record& rec) {
  route_to(self, handle, rec);
}

caf::result<pool_config, caf::strong_actor_ptr>
join(self_ptr self, const std::string& node, std::uint64_t own, std::uint64_t capacity) {
  auto& st = self->state;
  auto problem = st.hosts.check_join(node, own, capacity);
  if (problem.empty() && st.node_in_use(node))
    problem = "join: a node named " + node + " already has slots here";
  auto host = caf::actor_cast<caf::actor>(self->current_sender());
  if (problem.empty() && !host)
    problem = "join: the request has no sender to send placed slots to";
  if (!problem.empty())
    return caf::make_error(pool_errc::invalid_request, problem);
  self->monitor(host);
  st.hosts.join(node, host, own, capacity);
  st.record_event(pool_event{now_ms(), "node_joined", std::nullopt,
                             "node " + node + " joins with " + std::to_string(own)
                               + " slots, room for " + std::to_string(capacity - own)
                               + " more"});
  // The host and its slots talk to the pool through their own gate, never this handle.
  auto gate = self->spawn(member_gate_behavior, pool_member_actor{self}, host, node);
  st.member_gates[node] = gate;
  return {*st.config, caf::actor_cast<caf::strong_actor_ptr>(gate)};
}

void on_remote_slot(self_ptr self, caf::strong_actor_ptr& ptr, slot_record& rec, bool placed) {
  auto handle = caf::actor_cast<slot_actor>(ptr);
  if (!handle || !rec.node)
    return; // not a slot host's slot: ignore rather than route to it
  if (placed)
    self->state.hosts.placed_slot_up(rec.id, *rec.node);
  route_to(self, handle, rec);
}

void on_leave(self_ptr self, const std::string& node) {
  auto& st = self->state;
  auto placed = st.hosts.leave(node);
  std::vector<slot_id> mine;
  for (auto& [id, entry] : st.slots)
    if (entry.record.node == node)
      mine.push_back(id);
  for (auto& id : mine) {
    if (st.slots.at(id).record.state == slot_state::busy) {
      st.retiring.insert(id); // stops once its task ends (maybe_stop_retiring)
    } else {
      stop_slot(self, id, "its node " + node + " is leaving");
    }
  }
  st.record_event(pool_event{now_ms(), "node_leaving", std::nullopt,
                             "node " + node + " is leaving: " + std::to_string(mine.size())
                               + " slots stop once idle"});
  if (placed > 0 && !st.draining)
    place_slots(self, placed, "replacing the slots of leaving node " + node);
  dispatch(self);
}

void retire(self_ptr self, std::uint64_t n, bool force) {
  auto& st = self->state;
  for (auto& slot : st.retirees(n)) {
    auto& entry = st.slots.at(slot);
    if (entry.record.state != slot_state::busy) {
      stop_slot(self, slot);
      continue;
    }
    st.retiring.insert(slot);
    st.record_event(pool_event{now_ms(), "slot_retiring", slot,
                               force ? "scale-down: cancelling its task, then stopping"
                                     : "scale-down: stopping once its task ends"});
    if (force && entry.record.current_task)
      if (auto task = st.find(*entry.record.current_task))
        cancel_task(self, *task, "cancelled: its slot was removed by a forced scale-down");
  }
  dispatch(self);
}

} // namespace claude_pool::pool_reactions
