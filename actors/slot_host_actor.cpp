#include "actors/slot_host_actor.hpp"

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

void end(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  if (st.deps.on_end)
    st.deps.on_end(why);
  self->quit();
}

void start_slot(self_ptr self, slot_record rec) {
  auto& st = self->state;
  rec.state = slot_state::idle;
  rec.current_task.reset();
  slot_deps deps{st.deps.executor, st.config, st.deps.pool, nullptr};
  auto slot = self->spawn(slot_behavior, rec, std::move(deps));
  self->monitor(slot);
  st.slots[slot.address()] = rec;
  self->send(st.deps.pool, remote_slot_atom_v, caf::actor_cast<caf::strong_actor_ptr>(slot),
             rec);
}

} // namespace

caf::behavior slot_host_behavior(caf::stateful_actor<slot_host_state>* self,
                                 slot_host_deps deps) {
  self->state.deps = std::move(deps);
  auto& st = self->state;
  self->monitor(st.deps.pool);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.deps.pool.address()) {
      end(self, "the pool node went away (" + to_string(dm.reason) + ")");
      return;
    }
    auto it = st.slots.find(dm.source);
    if (it == st.slots.end())
      return;
    auto rec = it->second;
    st.slots.erase(it);
    if (st.ended || !dm.reason)
      return;
    // A crashed CLI stops its slot (see slot_actor); start it again under the same id,
    // like the pool's supervisor does for its own slots.
    if (rec.restart_count >= st.config->max_restarts) {
      if (st.slots.empty())
        end(self, "every slot of this host failed more than max_restarts times");
      return;
    }
    ++rec.restart_count;
    rec.last_error = to_string(dm.reason);
    rec.session_id.reset();
    start_slot(self, std::move(rec));
  });
  self->request(st.deps.pool, std::chrono::seconds(30), join_atom_v, st.deps.node)
    .then(
      [self](pool_config& remote) {
        auto& st = self->state;
        st.config =
          std::make_shared<const pool_config>(merge_host_config(std::move(remote), st.deps.local));
        for (std::uint64_t i = 0; i < st.deps.slots; ++i) {
          slot_record rec;
          rec.id = slot_id{st.deps.node + "/slot-" + std::to_string(i)};
          rec.node = st.deps.node;
          start_slot(self, std::move(rec));
        }
      },
      [self](caf::error& err) {
        end(self, "the pool refused to let this host join: "
                    + error_context(err).value_or(to_string(err)));
      });
  return {[](caf::unit_t) {}};
}

} // namespace claude_pool
