// The pool's durable store, free of messaging: writing changed records and recovering from
// what the store held at start (see pool_actor.hpp and runtime/store/task_store.hpp).
#include "actors/pool_actor.hpp"

#include <algorithm>
#include <exception>

namespace claude_pool {

void pool_actor_state::announce_changes() {
  if (!on_task_change || changed.empty())
    return;
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  for (auto& id : changed)
    if (auto t = tasks.find(id); t != tasks.end())
      on_task_change(t->second);
  if (!store)
    changed.clear();
}

std::string pool_actor_state::flush() {
  if (!store || changed.empty())
    return {};
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  auto started = std::chrono::steady_clock::now();
  std::size_t written = 0;
  auto took = [&] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now()
                                                                 - started);
  };
  try {
    for (auto it = changed.begin(); it != changed.end(); it = changed.erase(it))
      if (auto t = tasks.find(*it); t != tasks.end()) {
        store->put_task(t->second);
        ++written;
      }
  } catch (const std::exception& e) {
    if (on_store_write)
      on_store_write(took(), written, false);
    return e.what();
  }
  if (on_store_write && written > 0)
    on_store_write(took(), written, true);
  return {};
}

void pool_actor_state::withdraw(const task_id& id) { withdraw(std::set<task_id>{id}); }

void pool_actor_state::withdraw(const std::set<task_id>& ids) {
  if (ids.empty())
    return;
  settle_counts(); // their acceptance was counted: take it back
  for (auto& id : ids) {
    if (auto it = tasks.find(id); it != tasks.end()) {
      --state_counts[static_cast<std::size_t>(it->second.state)];
      tasks.erase(it);
    }
  }
  auto listed = [&](const task_id& id) { return ids.count(id) > 0; };
  queue.erase(std::remove_if(queue.begin(), queue.end(),
                             [&](const queued_task& q) { return listed(q.id); }),
              queue.end());
  order.erase(std::remove_if(order.begin(), order.end(), listed), order.end());
  changed.erase(std::remove_if(changed.begin(), changed.end(), listed), changed.end());
}

bool pool_actor_state::unwritten(const task_id& id) const {
  return std::find(changed.begin(), changed.end(), id) != changed.end();
}

std::string pool_actor_state::recover(std::vector<task_record> stored, std::uint64_t now,
                                      const std::map<task_state, std::uint64_t>& stored_counts) {
  std::size_t kept = 0, queued = 0, interrupted = 0, retried = 0;
  auto not_loaded = stored_counts; // what stays in the store only (older ended records)
  for (auto& rec : stored) {
    auto id = rec.id;
    if (auto n = not_loaded.find(rec.state); n != not_loaded.end() && n->second > 0)
      --n->second;
    note_count(id); // new to this pool: counted in its state after recovery
    rec.progress.reset();
    switch (rec.state) {
      case task_state::completed:
        ++completed_count;
        ++kept;
        break;
      case task_state::failed:
        ++failed_count;
        ++kept;
        break;
      case task_state::cancelled:
      case task_state::pending_review:
        ++kept;
        break;
      case task_state::pending:
        queue.push_back(queued_task{id, now});
        ++queued;
        break;
      case task_state::running: {
        // Its cost died with the old pool: with a budget, book its whole allowance (as for
        // a lost slot), so that a crash never lets spend pass the cap unnoticed.
        if (config && has_budget(*config)) {
          auto allowance = config->budget_default_reservation_microdollars;
          if (rec.config && rec.config->max_budget_usd)
            allowance = static_cast<std::uint64_t>(*rec.config->max_budget_usd * 1e6);
          spent_total += allowance;
          spent_changed = true;
        }
        auto used = static_cast<std::uint32_t>(rec.attempts.size()) + 1;
        auto why = std::string("the pool stopped while this task ran (its process went with "
                               "it; the task may have run partly)");
        if (used < rec.max_attempts) {
          rec.attempts.push_back(attempt_record{used, rec.slot_id, "interrupted", why, 0, now});
          rec.state = task_state::pending;
          rec.slot_id.reset();
          rec.started_at_ms.reset();
          queue.push_back(queued_task{id, now});
          ++retried;
        } else {
          rec.result = task_result::failure(why + "; not run again (at most once)",
                                            "interrupted");
          rec.transition_to(task_state::failed);
          ++failed_count;
          ++interrupted;
        }
        touched(id);
        break;
      }
    }
    order.push_back(id);
    tasks.emplace(id, std::move(rec));
  }
  std::uint64_t history = 0;
  for (auto& [state, n] : not_loaded) {
    state_counts[static_cast<std::size_t>(state)] += n;
    history += n;
  }
  completed_count += not_loaded[task_state::completed];
  failed_count += not_loaded[task_state::failed];
  evicted += history;
  settle_counts();
  return std::to_string(stored.size() + history) + " tasks from " + store->describe() + ": "
         + std::to_string(kept) + " ended, " + std::to_string(queued) + " pending queued again, "
         + std::to_string(interrupted) + " running marked interrupted, " + std::to_string(retried)
         + " running queued again (attempts left)"
         + (history ? "; " + std::to_string(history) + " older ended ones stay in the store" : "");
}

} // namespace claude_pool
