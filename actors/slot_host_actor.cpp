#include "actors/slot_host_actor.hpp"

#include <algorithm>
#include <chrono>

#include <caf/event_based_actor.hpp>
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

/// Stops every slot; a slot that runs a task kills its process on the way out.
void stop_all_slots(self_ptr self) {
  for (auto& [addr, s] : self->state.slots)
    self->send_exit(s.handle, caf::exit_reason::user_shutdown);
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

void start_slot(self_ptr self, slot_record rec, bool placed) {
  auto& st = self->state;
  rec.state = slot_state::idle;
  rec.current_task.reset();
  slot_deps deps{st.deps.executor, st.config, st.member, nullptr};
  auto slot = self->spawn(slot_behavior, rec, std::move(deps));
  self->monitor(slot);
  st.slots[slot.address()] = {slot, rec, placed};
  self->send(st.member, remote_slot_atom_v, caf::actor_cast<caf::strong_actor_ptr>(slot),
             rec, placed);
}

void start_new_slot(self_ptr self, bool placed) {
  auto& st = self->state;
  slot_record rec;
  rec.id = slot_id{st.deps.node + "/slot-" + std::to_string(st.next_index++)};
  rec.node = st.deps.node;
  start_slot(self, std::move(rec), placed);
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (dm.source == st.deps.pool.address()) {
    end(self, "the pool node went away (" + to_string(dm.reason) + ")");
    return;
  }
  auto it = st.slots.find(dm.source);
  if (it == st.slots.end())
    return; // retired: stopped on the pool's word
  auto s = std::move(it->second);
  st.slots.erase(it);
  if (st.leaving) {
    if (st.slots.empty())
      end(self, "");
    return;
  }
  if (st.ended || !dm.reason)
    return;
  // A crashed CLI stops its slot (see slot_actor); start it again under the same id,
  // like the pool's supervisor does for its own slots.
  auto& rec = s.record;
  if (rec.restart_count >= st.config->max_restarts) {
    if (st.slots.empty())
      end(self, "every slot of this host failed more than max_restarts times");
    return;
  }
  ++rec.restart_count;
  rec.last_error = to_string(dm.reason);
  rec.session_id.reset();
  start_slot(self, std::move(rec), s.placed);
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
        for (std::uint64_t i = 0; i < st.deps.slots; ++i)
          start_new_slot(self, false);
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
      for (; n > 0 && st.slots.size() < st.deps.capacity; --n)
        start_new_slot(self, true);
    },
    [self](retire_atom, const slot_id& id) {
      auto& st = self->state;
      for (auto it = st.slots.begin(); it != st.slots.end(); ++it)
        if (it->second.record.id == id) {
          self->send_exit(it->second.handle, caf::exit_reason::user_shutdown);
          st.slots.erase(it);
          break;
        }
      if (st.leaving && st.slots.empty())
        end(self, "");
    },
    [self](leave_atom, std::uint64_t deadline_ms) {
      auto& st = self->state;
      if (st.leaving)
        return;
      st.leaving = true;
      if (st.slots.empty()) {
        end(self, "");
        return;
      }
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
