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

pool_event event(std::string kind, const slot_id& slot, std::string message) {
  return pool_event{now_ms(), std::move(kind), slot, std::move(message)};
}

/// Spawns (or respawns) the slot actor for `rec` and tells the pool.
void start_slot(self_ptr self, slot_record rec) {
  auto& st = self->state;
  rec.state = slot_state::idle;
  rec.current_task.reset();
  slot_deps deps{st.executor, st.config, st.pool, st.worktrees};
  auto handle = self->spawn(slot_behavior, rec, std::move(deps));
  self->monitor(handle);
  st.by_addr[handle.address()] = rec.id;
  auto& c = st.children[rec.id];
  c.record = rec;
  c.handle = handle;
  self->send(st.pool, slot_up_atom_v, handle, rec);
}

/// A new slot (initial or scaled up), named by the next free index.
void add_slot(self_ptr self, slot_config cfg) {
  slot_record rec;
  rec.id = slot_id{"slot-" + std::to_string(self->state.next_index++)};
  rec.config = std::move(cfg);
  // A pool restarted on its store: the slot of the same id continues its session.
  if (auto s = self->state.stored_sessions.find(rec.id); s != self->state.stored_sessions.end()) {
    rec.session_id = s->second;
    self->state.stored_sessions.erase(s);
  }
  start_slot(self, std::move(rec));
}

void periodic_pass(self_ptr self) {
  auto& st = self->state;
  auto now = now_ms();
  for (auto& [id, c] : st.children) {
    if (c.record.state != slot_state::errored || c.disabled
        || !may_retry(st.policy, c.history, now))
      continue;
    c.history.consecutive = 0;
    c.history.restarts_ms.push_back(now);
    auto rec = st.restarted_record(id);
    self->send(st.pool, slot_event_atom_v, rec,
               event("slot_recovered", id,
                     "the periodic pass restarts the errored slot (restart "
                       + std::to_string(rec.restart_count) + ")"));
    start_slot(self, std::move(rec));
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
  if (reason.category() == caf::atom("claudepool")
      && reason.code() == static_cast<std::uint8_t>(pool_errc::slot_disabled)) {
    v.what = verdict::disable;
    c.disabled = true;
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

supervisor_actor::behavior_type
supervisor_behavior(self_ptr self, std::shared_ptr<const pool_config> config,
                    std::shared_ptr<task_executor> executor,
                    std::shared_ptr<git_worktrees> worktrees, pool_actor pool,
                    std::vector<slot_config> slot_configs,
                    std::map<slot_id, std::string> sessions) {
  auto& st = self->state;
  st.config = std::move(config);
  st.policy = restart_policy::from(*st.config);
  st.executor = std::move(executor);
  st.worktrees = std::move(worktrees);
  st.stored_sessions = std::move(sessions);
  st.pool = std::move(pool);
  // The supervisor lives as long as its pool; slots watch the pool themselves.
  self->monitor(st.pool);
  auto count = st.config->initial_slots.value_or(st.config->scaling.min_slots);
  for (std::uint64_t i = 0; i < count; ++i)
    add_slot(self, i < slot_configs.size() ? slot_configs[i] : slot_config{});
  if (st.config->supervisor_enabled)
    self->delayed_send(self, std::chrono::seconds(st.config->supervisor_interval_secs),
                       supervise_atom_v);
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.pool.address()) {
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
        self->send(st.pool, slot_event_atom_v, c.record,
                   event("slot_restarting", id,
                         v.why + "; restarting in " + std::to_string(v.delay.count()) + " ms"));
        self->delayed_send(self, v.delay, restart_atom_v, id);
        break;
      case supervisor_state::verdict::give_up:
      case supervisor_state::verdict::disable:
        c.record.last_error = v.why;
        c.record.state = slot_state::errored;
        self->send(st.pool, slot_event_atom_v, c.record,
                   event(v.what == supervisor_state::verdict::disable ? "auth_failed"
                                                                      : "slot_errored",
                         id, v.why));
        break;
    }
  });
  return {
    [self](restart_atom, const slot_id& id) {
      auto& st = self->state;
      if (!st.children.count(id))
        return; // retired during its backoff
      auto rec = st.restarted_record(id);
      self->send(st.pool, slot_event_atom_v, rec,
                 event("slot_restarted", id,
                       "restart " + std::to_string(rec.restart_count) + " of at most "
                         + std::to_string(st.policy.max_restarts)));
      start_slot(self, std::move(rec));
    },
    [self](add_slots_atom, std::uint64_t n) {
      for (std::uint64_t i = 0; i < n; ++i)
        add_slot(self, slot_config{});
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
      self->delayed_send(self, std::chrono::seconds(self->state.config->supervisor_interval_secs),
                         supervise_atom_v);
    },
  };
}

} // namespace claude_pool
