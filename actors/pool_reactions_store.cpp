// The pool's writes to its durable store (see pool_reactions.hpp and runtime/store/task_store.hpp).
#include "actors/pool_reactions.hpp"

#include <chrono>
#include <exception>

#include <caf/typed_event_based_actor.hpp>

namespace claude_pool::pool_reactions {

/// Writes what changed to the store; a failing store is an event (and a line on stderr
/// through on_event), and the records are written again at the next chance.
void persist(self_ptr self) {
  auto& st = self->state;
  st.announce_changes();
  schedule_trim(self);
  if (!st.store)
    return;
  auto problem = st.flush();
  if (!problem.empty() && problem != st.store_failure)
    st.record_event(pool_event{now_ms(), "store_failed", std::nullopt, problem});
  st.store_failure = problem.empty() ? std::nullopt : std::optional<std::string>(problem);
  if (st.spent_changed) {
    try {
      st.store->put_spent(st.spent_total);
      st.spent_changed = false;
    } catch (const std::exception& e) {
      st.record_event(pool_event{now_ms(), "store_failed", std::nullopt, e.what()});
    }
  }
}

/// Ended records over retain_ended_records leave memory in a message of their own (never
/// under a reaction that still holds a reference to one); with retain_ended_secs a timer
/// takes the oldest when it is due even if nothing else happens.
void schedule_trim(self_ptr self) {
  auto& st = self->state;
  if (st.trim_pending)
    return;
  auto now = now_ms();
  if (st.trim_due(now)) {
    st.trim_pending = true;
    self->send(self, trim_atom_v);
    return;
  }
  if (!st.retain_ended_ms || st.ended.empty())
    return;
  auto it = st.tasks.find(st.ended.front());
  auto due = it == st.tasks.end() ? now : it->second.completed_at_ms.value_or(now)
                                            + *st.retain_ended_ms;
  st.trim_pending = true;
  self->delayed_send(self, std::chrono::milliseconds(due > now ? due - now + 1 : 1), trim_atom_v);
}

void on_trim(self_ptr self) {
  auto& st = self->state;
  st.trim_pending = false;
  st.trim(now_ms());
  schedule_trim(self);
}

/// A persistent slot's session goes to the store when it changes, so that the slot of the
/// same id continues it after a restart. Only sessions of the pool's own directory: a
/// worktree is this pool instance's alone, and a slot host's slot is its host's.
void remember_session(self_ptr self, const slot_record& slot) {
  auto& st = self->state;
  if (!st.store || st.config->slot_mode != slot_mode::persistent || slot.node
      || slot.worktree_path)
    return;
  auto it = st.slots.find(slot.id);
  if (it != st.slots.end() && it->second.record.session_id == slot.session_id)
    return;
  try {
    std::optional<stored_session> s;
    if (slot.session_id)
      s = stored_session{*slot.session_id, st.config->working_dir.value_or("")};
    st.store->put_session(slot.id, s);
  } catch (const std::exception& e) {
    st.record_event(pool_event{now_ms(), "store_failed", slot.id, e.what()});
  }
}

} // namespace claude_pool::pool_reactions
