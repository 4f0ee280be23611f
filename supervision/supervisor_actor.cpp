#include "supervision/supervisor_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace claude_pool {

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

std::string describe(const caf::error& reason) {
  if (reason.category() == caf::atom("claudepool"))
    if (auto text = error_context(reason))
      return *text;
  return to_string(reason);
}

} // namespace

std::string failure_class_of(const caf::error& reason) {
  if (reason.category() == caf::atom("claudepool")) {
    auto code = static_cast<pool_errc>(reason.code());
    // A slot that stops itself says which failure class made it suspect ("crash: …").
    if (code == pool_errc::slot_unhealthy)
      if (auto text = error_context(reason); text && text->find(": ") != std::string::npos)
        return text->substr(0, text->find(": "));
    return to_string(code);
  }
  if (reason.category() == caf::atom("exit"))
    return to_string(static_cast<caf::exit_reason>(reason.code()));
  return "other";
}

namespace {

pool_event event(std::string kind, const slot_id& slot, std::string message,
                 std::optional<std::string> failure_class = std::nullopt) {
  return pool_event{now_ms(), std::move(kind), slot, std::move(message),
                    std::move(failure_class)};
}

void report(self_ptr self, const slot_record& rec, pool_event ev) {
  if (self->state.spec.report)
    self->state.spec.report(self, rec, std::move(ev));
}

/// Starts (or restarts) the child for `rec` through the spec and watches it.
void start_child(self_ptr self, slot_record rec, bool added) {
  auto& st = self->state;
  rec.state = slot_state::idle;
  rec.current_task.reset();
  auto handle = st.spec.start(self, rec, added);
  auto& c = st.children[rec.id];
  c.record = rec;
  c.handle = handle;
  c.added = added;
  c.restarting = false;
  if (!handle)
    return; // the spec could not start it: nothing to watch (it stays as recorded)
  self->monitor(handle);
  st.by_addr[handle.address()] = rec.id;
}

void periodic_pass(self_ptr self) {
  auto& st = self->state;
  auto now = now_ms();
  for (auto& [id, c] : st.children) {
    if (st.leaving || c.record.state != slot_state::errored || c.disabled
        || !may_retry(st.policy, c.history, now))
      continue;
    c.history.consecutive = 0;
    c.history.restarts_ms.push_back(now);
    auto rec = st.restarted_record(id);
    report(self, rec,
           event("slot_recovered", id,
                 "the periodic pass restarts the errored slot (restart "
                   + std::to_string(rec.restart_count) + ")"));
    start_child(self, std::move(rec), c.added);
  }
}

/// Stops every child; the children end with their supervisor, as under OTP.
void stop_children(self_ptr self) {
  for (auto& [id, c] : self->state.children)
    if (c.handle)
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  self->state.children.clear();
  self->state.by_addr.clear();
}

/// The owner is going away: nothing is restarted any more, and a child waiting out its
/// backoff is given up now (its owner counts on hearing about every child that ends).
void leave(self_ptr self) {
  auto& st = self->state;
  st.leaving = true;
  for (auto& [id, c] : st.children) {
    if (!c.restarting)
      continue;
    c.restarting = false;
    c.record.state = slot_state::errored;
    *c.record.last_error += "; not restarted: its owner is leaving";
    report(self, c.record, event("slot_errored", id, *c.record.last_error));
  }
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.owner && dm.source == st.owner.address()) {
    stop_children(self);
    self->quit(dm.reason);
    return;
  }
  auto it = st.by_addr.find(dm.source);
  if (it == st.by_addr.end())
    return;
  auto id = it->second;
  st.by_addr.erase(it);
  auto child = st.children.find(id);
  if (child == st.children.end() || child->second.handle.address() != dm.source)
    return; // retired, or an older incarnation
  auto& c = child->second;
  auto v = st.on_stopped(id, dm.reason, now_ms());
  switch (v.what) {
    case supervisor_state::verdict::ignore:
      c.record.state = slot_state::stopped;
      break;
    case supervisor_state::verdict::restart:
      c.record.last_error = v.why;
      c.record.state = slot_state::stopped;
      c.restarting = true;
      report(self, c.record,
             event("slot_restarting", id,
                   v.why + "; restarting in " + std::to_string(v.delay.count()) + " ms",
                   v.failure_class));
      self->delayed_send(self, v.delay, restart_atom_v, id);
      break;
    case supervisor_state::verdict::give_up:
    case supervisor_state::verdict::disable:
      c.record.last_error = v.why;
      c.record.state = slot_state::errored;
      report(self, c.record,
             event(v.what == supervisor_state::verdict::disable ? "auth_failed" : "slot_errored",
                   id, v.why, v.failure_class));
      break;
  }
}

} // namespace

supervisor_state::verdict supervisor_state::on_stopped(const slot_id& slot,
                                                       const caf::error& reason,
                                                       std::uint64_t now) {
  verdict v;
  if (!reason || reason == caf::exit_reason::user_shutdown)
    return v; // a normal stop (scale-down, pool shutdown) is not a failure
  auto& c = children[slot];
  v.why = describe(reason);
  v.failure_class = failure_class_of(reason);
  if (reason.category() == caf::atom("claudepool")
      && reason.code() == static_cast<std::uint8_t>(pool_errc::slot_disabled)) {
    v.what = verdict::disable;
    c.disabled = true;
    return v;
  }
  if (leaving) {
    v.what = verdict::give_up;
    v.why += "; not restarted: its owner is leaving";
    return v;
  }
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  auto d = decide_restart(policy, c.history, now, jitter(rng));
  if (d.restart) {
    v.what = verdict::restart;
    v.delay = d.delay;
  } else {
    v.what = verdict::give_up;
    v.why += "; not restarted: " + d.reason;
  }
  return v;
}

slot_record supervisor_state::restarted_record(const slot_id& slot) const {
  auto rec = children.at(slot).record;
  rec.restart_count += 1;
  rec.session_id.reset();
  rec.state = slot_state::idle;
  rec.current_task.reset();
  return rec;
}

slot_record supervisor_state::next_record(shared_value<slot_config> cfg) {
  slot_record rec;
  auto name = "slot-" + std::to_string(next_index++);
  rec.id = slot_id{spec.node ? *spec.node + "/" + name : name};
  rec.node = spec.node;
  if (spec.place) {
    std::vector<const slot_config*> siblings;
    for (auto& [id, c] : children)
      siblings.push_back(&*c.record.config);
    spec.place(cfg.edit(), siblings);
  }
  rec.config = std::move(cfg);
  // A pool restarted on its store: the slot of the same id continues its session.
  if (auto s = stored_sessions.find(rec.id); s != stored_sessions.end()) {
    rec.session_id = s->second;
    stored_sessions.erase(s);
  }
  return rec;
}

supervisor_actor::behavior_type supervisor_behavior(self_ptr self, supervisor_setup setup) {
  auto& st = self->state;
  st.spec = std::move(setup.spec);
  st.policy = setup.policy;
  st.periodic_pass = setup.periodic_pass;
  st.stored_sessions = std::move(setup.sessions);
  st.owner = std::move(setup.owner);
  if (st.owner)
    self->monitor(st.owner);
  for (auto& cfg : setup.initial)
    start_child(self, st.next_record(std::move(cfg)), false);
  if (st.periodic_pass)
    self->delayed_send(self, *st.periodic_pass, supervise_atom_v);
  self->set_down_handler([self](const caf::down_msg& dm) { on_down(self, dm); });
  // Stopped from outside (its owner ending): the children go with it.
  self->set_exit_handler([self](const caf::exit_msg& em) {
    stop_children(self);
    self->quit(em.reason);
  });
  return {
    [self](restart_atom, const slot_id& id) {
      auto& st = self->state;
      auto it = st.children.find(id);
      if (it == st.children.end() || !it->second.restarting)
        return; // retired during its backoff, or given up when the owner began leaving
      auto rec = st.restarted_record(id);
      report(self, rec,
             event("slot_restarted", id,
                   "restart " + std::to_string(rec.restart_count) + " of at most "
                     + std::to_string(st.policy.max_restarts)));
      start_child(self, std::move(rec), it->second.added);
    },
    [self](add_slots_atom, std::uint64_t n) {
      for (std::uint64_t i = 0; i < n; ++i)
        start_child(self, self->state.next_record({}), true); // the shared default
    },
    [self](retire_atom, const slot_id& id) {
      auto& st = self->state;
      auto it = st.children.find(id);
      if (it == st.children.end())
        return;
      if (it->second.handle) {
        st.by_addr.erase(it->second.handle.address());
        self->send_exit(it->second.handle, caf::exit_reason::user_shutdown);
      }
      st.children.erase(it);
    },
    [self](supervise_atom) {
      periodic_pass(self);
      self->delayed_send(self, *self->state.periodic_pass, supervise_atom_v);
    },
    [self](leave_atom) { leave(self); },
  };
}

} // namespace claude_pool
