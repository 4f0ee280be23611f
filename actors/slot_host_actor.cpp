#include "actors/slot_host_actor.hpp"

#include <algorithm>
#include <chrono>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace claude_pool {

pool_config merge_host_config(pool_config remote, const pool_config& local) {
  remote.claude_bin = local.claude_bin;
  remote.working_dir = local.working_dir;
  remote.cli_env = local.cli_env;
  return remote;
}

namespace {

using self_ptr = caf::stateful_actor<slot_host_state>*;

/// Stops every slot: the supervisor takes its children along, and a slot that runs a task
/// kills its process on the way out.
void stop_all_slots(self_ptr self) {
  if (self->state.supervisor)
    self->send_exit(self->state.supervisor, caf::exit_reason::user_shutdown);
  self->state.slots.clear();
}

/// Ends the host. `why` is empty when it ends as asked (a finished leave).
void end(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  stop_all_slots(self);
  if (st.deps.on_end && !why.empty())
    st.deps.on_end(why);
  self->quit();
}

/// The host's child spec: a slot for the remote pool, announced to the host and then to the
/// pool; what the supervisor does about it is reported to both. It runs in the supervisor.
child_spec host_slots(self_ptr self) {
  auto& st = self->state;
  auto host = caf::actor_cast<caf::actor>(self);
  slot_deps deps{st.deps.executor, st.config, st.member, nullptr};
  child_spec spec;
  spec.node = st.deps.node;
  spec.start = [host, deps](supervisor_actor::pointer sup, const slot_record& rec, bool added) {
    auto slot = sup->spawn(slot_behavior, rec, deps);
    // The host hears first, so it knows the slot before the pool can ask to retire it.
    // (anon_send: a typed actor cannot send() to an untyped one.)
    caf::anon_send(host, slot_up_atom_v, rec);
    sup->send(deps.pool, remote_slot_atom_v, caf::actor_cast<caf::strong_actor_ptr>(slot), rec,
              added);
    return caf::actor_cast<caf::actor>(slot);
  };
  // The pool hears first: the host may end on this report, and its gate (through which the
  // report travels) stops with it.
  spec.report = [host, pool = st.member](supervisor_actor::pointer sup,
                                         const slot_record& rec, pool_event ev) {
    sup->send(pool, slot_event_atom_v, rec, ev);
    caf::anon_send(host, slot_event_atom_v, rec, std::move(ev));
  };
  return spec;
}

/// Joined: the supervisor starts the host's own slots, under the pool's restart policy.
void start_supervisor(self_ptr self) {
  auto& st = self->state;
  supervisor_setup setup;
  setup.spec = host_slots(self);
  setup.policy = restart_policy::from(*st.config);
  if (st.config->supervisor_enabled)
    setup.periodic_pass = std::chrono::seconds(st.config->supervisor_interval_secs);
  setup.initial.resize(st.deps.slots);
  setup.owner = caf::actor_cast<caf::actor>(self);
  st.starting = st.deps.slots;
  st.supervisor = self->spawn(supervisor_behavior, std::move(setup));
  self->monitor(st.supervisor);
}

/// Nothing left to run: a leaving host is done; otherwise every slot failed for good.
void end_if_empty(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (!st.slots.empty() || st.starting > 0)
    return;
  end(self, st.leaving ? "" : why);
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (dm.source == st.deps.pool.address())
    end(self, "the pool node went away (" + to_string(dm.reason) + ")");
  else if (st.supervisor && dm.source == st.supervisor.address())
    end(self, "the slots' supervisor stopped (" + to_string(dm.reason) + ")");
}

} // namespace

caf::behavior slot_host_behavior(caf::stateful_actor<slot_host_state>* self,
                                 slot_host_deps deps) {
  self->state.deps = std::move(deps);
  auto& st = self->state;
  st.deps.capacity = std::max(st.deps.capacity, st.deps.slots);
  self->monitor(st.deps.pool);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  // Stopped from outside (a second SIGTERM, the program's end): the slots go with it.
  self->set_exit_handler([self](caf::exit_msg& em) {
    stop_all_slots(self);
    self->state.ended = true;
    self->quit(em.reason);
  });
  self->request(st.deps.pool, std::chrono::seconds(30), join_atom_v, st.deps.node,
                st.deps.slots, st.deps.capacity)
    .then(
      [self](pool_config& remote, caf::strong_actor_ptr& member) {
        auto& st = self->state;
        st.member = caf::actor_cast<pool_member_actor>(member);
        st.config =
          std::make_shared<const pool_config>(merge_host_config(std::move(remote), st.deps.local));
        start_supervisor(self);
      },
      [self](caf::error& err) {
        end(self, "the pool refused to let this host join: "
                    + error_context(err).value_or(to_string(err)));
      });
  return {
    [self](add_slots_atom, std::uint64_t n) {
      auto& st = self->state;
      if (!st.config || st.leaving)
        return;
      // The pool counts room from what this host announced; never exceed it regardless.
      auto used = st.slots.size() + st.starting;
      auto k = std::min(n, used < st.deps.capacity ? st.deps.capacity - used : 0);
      if (k == 0)
        return;
      st.starting += k;
      self->send(st.supervisor, add_slots_atom_v, k);
    },
    [self](slot_up_atom, const slot_record& rec) {
      // From the supervisor: a slot started; a new one (not a restart) was being waited for.
      auto& st = self->state;
      if (rec.restart_count == 0 && st.starting > 0)
        --st.starting;
      st.slots.insert(rec.id);
    },
    [self](slot_event_atom, const slot_record& rec, const pool_event&) {
      // From the supervisor: a slot it gave up on (past max_restarts, or its credentials
      // were refused) is gone for good.
      auto& st = self->state;
      if (rec.state != slot_state::errored || !st.slots.erase(rec.id))
        return;
      end_if_empty(self, "every slot of this host failed for good (last: "
                           + rec.last_error.value_or("no reason given") + ")");
    },
    [self](retire_atom, const slot_id& id) {
      auto& st = self->state;
      if (st.slots.erase(id) && st.supervisor)
        self->send(st.supervisor, retire_atom_v, id);
      if (st.leaving)
        end_if_empty(self, "");
    },
    [self](leave_atom, std::uint64_t deadline_ms) {
      auto& st = self->state;
      if (st.leaving)
        return;
      st.leaving = true;
      if (st.slots.empty() && st.starting == 0) {
        end(self, "");
        return;
      }
      // A slot that fails from now on stays down, as if retired.
      if (st.supervisor)
        self->send(st.supervisor, leave_atom_v);
      self->send(st.member, leave_atom_v, st.deps.node);
      self->delayed_send(self, std::chrono::milliseconds(deadline_ms), drain_atom_v);
    },
    [self](drain_atom) {
      // The leave's deadline: tasks still running lose their processes now; the pool fails
      // them as node_lost (or queues them again when they have attempts left).
      end(self, "");
    },
  };
}

} // namespace claude_pool
