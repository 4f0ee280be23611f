// The pool's slots, free of messaging: adding, updating, freeing and removing them, choosing
// which to retire, the load the autoscaler reads, and a slot that is lost (see pool_actor.hpp).
#include "actors/pool_actor.hpp"

#include <algorithm>

#include "actors/pool_task_transitions.hpp"

namespace claude_pool {

using namespace pool_task_transitions;

void pool_actor_state::add_slot(slot_actor handle, slot_record record) {
  auto id = record.id;
  record.state = slot_state::idle;
  slot_by_addr.emplace(handle.address(), id);
  std::uint64_t earlier_tasks = 0, earlier_cost = 0;
  if (auto old = slots.find(id); old != slots.end()) { // a restart: keep what it did
    idle.erase(std::remove(idle.begin(), idle.end(), id), idle.end()); // (a new slot is not)
    earlier_tasks = old->second.record.tasks_completed;
    earlier_cost = old->second.record.cost_microdollars;
    uncount_credential(old->second.credential);
  }
  record.tasks_completed += earlier_tasks;
  record.cost_microdollars += earlier_cost;
  auto key = credential_key(record);
  ++slots_per_credential[key];
  slots[id] = slot_entry{std::move(handle), std::move(record), earlier_tasks, earlier_cost,
                         std::move(key)};
  idle.push_back(id);
  idle_since[id] = now_ms();
}

void pool_actor_state::update_slot(const slot_record& record, pool_event ev) {
  auto it = slots.find(record.id);
  if (it != slots.end()) {
    // Errors and restarts from the supervisor; routing follows add_slot only, and the work
    // counters are the slot's own (the supervisor's copy never sees a task).
    auto& kept = it->second.record;
    auto current = kept.current_task;
    auto tasks_done = kept.tasks_completed;
    auto cost = kept.cost_microdollars;
    kept = record;
    if (auto key = credential_key(kept); key != it->second.credential) {
      uncount_credential(it->second.credential);
      ++slots_per_credential[key];
      it->second.credential = std::move(key);
    }
    kept.current_task = current;
    kept.tasks_completed = tasks_done;
    kept.cost_microdollars = cost;
    if (record.state != slot_state::idle)
      idle.erase(std::remove(idle.begin(), idle.end(), record.id), idle.end());
  }
  record_event(std::move(ev));
}

void pool_actor_state::free_slot(const slot_id& slot, std::uint64_t now) {
  auto it = slots.find(slot);
  if (it == slots.end())
    return;
  it->second.record.state = slot_state::idle;
  it->second.record.current_task.reset();
  if (retiring.count(slot) || going.count(slot))
    return;
  idle.push_back(slot);
  idle_since[slot] = now;
}

void pool_actor_state::remove_slot(const slot_id& slot) {
  idle.erase(std::remove(idle.begin(), idle.end(), slot), idle.end());
  idle_since.erase(slot);
  last_used.erase(slot);
  retiring.erase(slot);
  if (auto it = slots.find(slot); it != slots.end()) {
    uncount_credential(it->second.credential);
    slots.erase(it);
  }
}

void pool_actor_state::uncount_credential(const std::string& key) {
  if (auto it = slots_per_credential.find(key); it != slots_per_credential.end() && --it->second == 0)
    slots_per_credential.erase(it);
}

std::vector<slot_id> pool_actor_state::retirees(std::uint64_t n) const {
  std::vector<slot_id> out;
  auto take = [&](const slot_id& id) {
    if (out.size() < n && !retiring.count(id)
        && std::find(out.begin(), out.end(), id) == out.end())
      out.push_back(id);
  };
  // Scaling is about the slots it started: the pool's own and those it placed on slot
  // hosts. A host's own slots are the host's to stop.
  auto scaled = [&](const slot_id& id, const slot_record& rec) {
    return !rec.node || hosts.is_placed(id);
  };
  for (auto& [id, entry] : slots)
    if (scaled(id, entry.record)
        && (entry.record.state == slot_state::errored || entry.record.state == slot_state::stopped))
      take(id);
  // Idle slots, least recently used first; a slot that never ran a task comes first of all.
  std::vector<std::pair<std::uint64_t, slot_id>> unused;
  for (auto& id : idle) {
    if (!scaled(id, slots.at(id).record))
      continue;
    auto it = last_used.find(id);
    unused.emplace_back(it == last_used.end() ? 0 : it->second, id);
  }
  std::stable_sort(unused.begin(), unused.end(),
                   [](auto& a, auto& b) { return a.first < b.first; });
  for (auto& u : unused)
    take(u.second);
  std::vector<std::pair<std::uint64_t, slot_id>> busy;
  for (auto& [id, entry] : slots)
    if (scaled(id, entry.record) && entry.record.state == slot_state::busy
        && entry.record.current_task) {
      auto t = tasks.find(*entry.record.current_task);
      auto started = t == tasks.end() ? 0 : t->second.started_at_ms.value_or(0);
      busy.emplace_back(started, id);
    }
  std::sort(busy.begin(), busy.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (auto& b : busy)
    take(b.second);
  return out;
}

pool_load pool_actor_state::load() const {
  pool_load l;
  for (auto& [id, entry] : slots) {
    if (retiring.count(id))
      continue;
    ++l.slots;
    if (entry.record.state == slot_state::busy)
      ++l.busy;
  }
  for (auto& id : idle)
    if (auto it = idle_since.find(id); it != idle_since.end())
      l.idle_since_ms.push_back(it->second);
  for (auto& q : queue) {
    auto it = tasks.find(q.id);
    if (it != tasks.end() && it->second.state == task_state::pending)
      ++l.pending;
  }
  return l;
}

std::optional<std::pair<task_id, pool_actor_state::outcome>>
pool_actor_state::slot_lost(const slot_id& slot, const std::string& reason, std::uint64_t now) {
  idle.erase(std::remove(idle.begin(), idle.end(), slot), idle.end());
  auto s = slots.find(slot);
  if (s == slots.end())
    return std::nullopt;
  auto& rec = s->second.record;
  // A slot host's slot never comes back by itself (no supervisor here restarts it): it
  // leaves routing for good, and its task fails as `node_lost`.
  auto node = rec.node;
  if (rec.state != slot_state::errored)
    rec.state = slot_state::stopped; // until the supervisor restarts it or gives up
  auto current = rec.current_task;
  rec.current_task.reset();
  if (node) {
    remove_slot(slot);
    record_event(pool_event{now, "node_slot_lost", slot,
                            "slot of node " + *node + " gone (" + reason + ")"});
  }
  if (!current)
    return std::nullopt;
  auto t = tasks.find(*current);
  if (t == tasks.end() || is_terminal(t->second.state))
    return std::make_pair(*current, outcome::ignored);
  auto lost = node ? task_result::failure("the node " + *node + " running this task was lost ("
                                            + reason + ") before it reported a result",
                                          "node_lost")
                   : task_result::failure("the slot running this task stopped (" + reason
                                            + ") before it reported a result",
                                          "slot_lost");
  return std::make_pair(*current, settle_failure(*this, t->second, std::move(lost), now));
}

bool pool_actor_state::node_in_use(const std::string& node) const {
  for (auto& [id, entry] : slots)
    if (entry.record.node == node)
      return true;
  return false;
}

bool pool_actor_state::has_usable_slot() const {
  return std::any_of(slots.begin(), slots.end(), [](auto& kv) {
    return kv.second.record.state != slot_state::errored;
  });
}

std::vector<task_id> pool_actor_state::fail_if_unroutable() {
  if (slots.empty() || has_usable_slot())
    return {};
  std::string why = "no slot can run tasks: every slot is errored";
  for (auto& [id, entry] : slots)
    if (entry.record.last_error) {
      why += " (" + id.value + ": " + *entry.record.last_error + ")";
      break;
    }
  return fail_queued(*this, why, "no_usable_slot");
}

} // namespace claude_pool
