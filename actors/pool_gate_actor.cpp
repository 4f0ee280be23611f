#include "actors/pool_gate_actor.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>

#include <caf/typed_event_based_actor.hpp>

#include "actors/chain_registry.hpp"
#include "actors/submission_policy.hpp"
#include "messages/ids.hpp"

namespace claude_pool {

namespace {

/// A gate lives no longer than what it watches (its pool, a member gate's host too).
template <class Self, class... Handles>
void follow(Self* self, const Handles&... watched) {
  (self->monitor(watched), ...);
  self->set_down_handler([self](const caf::down_msg& dm) { self->quit(dm.reason); });
}

} // namespace

namespace {

using gate_ptr = pool_client_actor::stateful_pointer<client_gate_state>;

/// One audit line per principal per window, then how many it held back: a client that
/// hammers a refused call cannot flood the log.
void audit(gate_ptr self, const client_gate_deps& d, const char* kind, std::string what) {
  auto& st = self->state;
  auto now = now_ms();
  if (now < st.audit_window_end_ms) {
    ++st.audit_held_back;
    return;
  }
  if (st.audit_held_back > 0)
    what += " (and " + std::to_string(st.audit_held_back) + " more refusals in the last 10 s)";
  st.audit_held_back = 0;
  st.audit_window_end_ms = now + 10000;
  if (d.audit)
    d.audit(pool_event{now, kind, std::nullopt, std::move(what)});
}

caf::error refuse(gate_ptr self, const client_gate_deps& d, const char* kind, std::string why) {
  audit(self, d, kind, d.who.name + ": " + why);
  return caf::make_error(pool_errc::not_permitted, std::move(why));
}

/// Admin-only calls: what a submit-role principal asking for one gets.
caf::error admin_only(gate_ptr self, const client_gate_deps& d, const char* what) {
  return refuse(self, d, "client_refused",
                "'" + d.who.name + "' (role submit) may not " + what + ": that takes the admin role");
}

/// A submit-role page: the pool's pages, kept to this principal's own tasks, until `want`
/// of them are found or the list ends (so a page is full whenever more exist).
void list_owned(gate_ptr self, const pool_client_actor& pool, task_filter f, std::uint64_t want,
                std::vector<task_record> mine,
                caf::typed_response_promise<std::vector<task_record>> rp) {
  f.limit = std::max<std::uint64_t>(want == UINT64_MAX ? 0 : want - mine.size(), 512);
  self->request(pool, caf::infinite, list_atom_v, f)
    .then(
      [self, pool, f, want, mine = std::move(mine), rp](std::vector<task_record>& page) mutable {
        bool last = page.size() < *f.limit;
        if (!page.empty())
          f.after = page.back().id; // before the records are moved out
        for (auto& rec : page)
          if (mine.size() < want && self->state.owned.count(rec.id.value) > 0)
            mine.push_back(std::move(rec));
        if (last || mine.size() >= want || page.empty()) {
          rp.deliver(std::move(mine));
          return;
        }
        list_owned(self, pool, f, want, std::move(mine), rp);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

/// The principal's chain registry, over this gate, made on first use.
chain_registry_actor own_chains(gate_ptr self) {
  auto& st = self->state;
  if (!st.chains) {
    chain_registry_deps deps{pool_client_actor{self}, false,
                             []() -> std::shared_ptr<git_worktrees> {
                               throw std::runtime_error(
                                 "a chain from another host runs in the node's working "
                                 "directory (a worktree of the node's repository is the node "
                                 "operator's to ask for)");
                             },
                             nullptr, {}};
    st.chains = self->spawn<caf::linked>(chain_registry_behavior, std::move(deps));
  }
  return st.chains;
}

bool is_unknown_chain(const caf::error& err) {
  return err.category() == caf::atom("claudepool")
         && err.code() == static_cast<std::uint8_t>(pool_errc::unknown_chain);
}

/// A chain by id: the principal's own; an admin's question about another chain goes on to
/// the pool's own chains.
template <class... Ts>
caf::result<chain_record> chain_call(gate_ptr self, const client_gate_deps& d,
                                     const pool_client_actor& pool, Ts... xs) {
  auto mine = own_chains(self);
  if (!d.who.admin)
    return self->delegate(mine, xs...);
  auto rp = self->make_response_promise<chain_record>();
  self->request(mine, caf::infinite, xs...)
    .then([rp](chain_record& rec) mutable { rp.deliver(std::move(rec)); },
          [self, pool, rp, xs...](caf::error& err) mutable {
            if (!is_unknown_chain(err)) {
              rp.deliver(std::move(err));
              return;
            }
            self->request(pool, caf::infinite, xs...)
              .then([rp](chain_record& rec) mutable { rp.deliver(std::move(rec)); },
                    [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
          });
  return rp;
}

/// Why this submission may not enter the pool, if it may not.
std::optional<caf::error> admit(gate_ptr self, const client_gate_deps& d,
                                const task_submission& sub) {
  auto limit = d.node.remote.max_pending_per_client;
  if (self->state.unfinished >= limit)
    return refuse(self, d, "client_refused",
                  "'" + d.who.name + "' already has " + std::to_string(self->state.unfinished)
                    + " unfinished tasks (remote.max_pending_per_client is "
                    + std::to_string(limit) + "); submit again once some have ended");
  if (auto why = check_remote_submission(d.node, sub))
    return refuse(self, d, "override_refused", *why);
  return std::nullopt;
}

/// A remote task always has a spending cap: the policy's ceiling when it sets none.
void cap_budget(const client_gate_deps& d, task_submission& sub) {
  auto ceiling = d.node.remote.max_task_budget_usd;
  if (ceiling <= 0)
    return;
  if (!sub.config)
    sub.config = task_overrides{};
  if (!sub.config->max_budget_usd)
    sub.config->max_budget_usd = ceiling;
}

/// The task is this principal's: it may read, wait for and cancel it, and it counts against
/// the principal's limit until it ends.
void own(gate_ptr self, const pool_client_actor& pool, const task_id& id) {
  self->state.owned.insert(id.value);
  ++self->state.unfinished;
  auto ended = [self] { --self->state.unfinished; };
  self->request(pool, caf::infinite, wait_atom_v, id)
    .then([ended](const task_record&) { ended(); }, [ended](const caf::error&) { ended(); });
}

/// Hands an admitted submission to the pool (with its budget capped) and makes the task
/// this principal's; then `next(id)`, or the pool's refusal to `rp`.
template <class Promise, class Next>
void submit_owned(gate_ptr self, const client_gate_deps& d, task_submission sub, Promise rp,
                  Next next) {
  cap_budget(d, sub);
  auto pool = d.pool;
  self->request(pool, caf::infinite, submit_atom_v, std::move(sub))
    .then(
      [self, pool, next](task_id& id) mutable {
        own(self, pool, id);
        next(id);
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

bool may_touch(gate_ptr self, const client_gate_deps& d, const task_id& id) {
  return d.who.admin || self->state.owned.count(id.value) > 0;
}

caf::error not_theirs(gate_ptr self, const client_gate_deps& d, const task_id& id) {
  return refuse(self, d, "client_refused",
                "task " + id.value + " was not submitted by '" + d.who.name
                  + "' (a submit-role client sees only its own tasks)");
}

} // namespace

pool_client_actor::behavior_type client_gate_behavior(gate_ptr self, client_gate_deps deps) {
  follow(self, deps.pool);
  auto d = std::make_shared<const client_gate_deps>(std::move(deps));
  auto pool = d->pool;
  return {
    [self, d, pool](submit_atom, task_submission& sub) -> caf::result<task_id> {
      if (auto no = admit(self, *d, sub))
        return std::move(*no);
      auto rp = self->make_response_promise<task_id>();
      submit_owned(self, *d, std::move(sub), rp,
                   [rp](const task_id& id) mutable { rp.deliver(id); });
      return rp;
    },
    [self, d, pool](run_atom, task_submission& sub) -> caf::result<task_record> {
      if (auto no = admit(self, *d, sub))
        return std::move(*no);
      auto rp = self->make_response_promise<task_record>();
      submit_owned(self, *d, std::move(sub), rp, [self, pool, rp](const task_id& id) {
        self->request(pool, caf::infinite, wait_atom_v, id)
          .then([rp](task_record& rec) mutable { rp.deliver(std::move(rec)); },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      });
      return rp;
    },
    [self, d, pool](wait_atom a, const task_id& id) -> caf::result<task_record> {
      if (!may_touch(self, *d, id))
        return not_theirs(self, *d, id);
      return self->delegate(pool, a, id);
    },
    [self, d, pool](result_atom a, const task_id& id) -> caf::result<task_record> {
      if (!may_touch(self, *d, id))
        return not_theirs(self, *d, id);
      return self->delegate(pool, a, id);
    },
    [self, d, pool](cancel_atom a, const task_id& id) -> caf::result<task_record> {
      if (!may_touch(self, *d, id))
        return not_theirs(self, *d, id);
      return self->delegate(pool, a, id);
    },
    [self, d, pool](list_atom a, const task_filter& f) -> caf::result<std::vector<task_record>> {
      if (d->who.admin)
        return self->delegate(pool, a, f);
      auto rp = self->make_response_promise<std::vector<task_record>>();
      list_owned(self, pool, f, f.limit.value_or(UINT64_MAX), {}, rp);
      return rp;
    },
    [self, d, pool](status_atom a) -> caf::result<pool_status> {
      if (d->who.admin)
        return self->delegate(pool, a);
      // A submit-role client sees the pool's shape, not other principals' work: no task id,
      // progress (partial output) or reservation of a task it did not submit, and no events
      // (they name clients and tasks).
      auto rp = self->make_response_promise<pool_status>();
      self->request(pool, caf::infinite, a)
        .then(
          [self, rp](pool_status& st) mutable {
            auto& owned = self->state.owned;
            for (auto& slot : st.slots)
              if (slot.current_task && !owned.count(slot.current_task->value))
                slot.current_task.reset();
            for (auto it = st.progress.begin(); it != st.progress.end();)
              it = owned.count(it->first) ? std::next(it) : st.progress.erase(it);
            if (st.budget) {
              auto& held = st.budget->reservations;
              held.erase(std::remove_if(held.begin(), held.end(),
                                        [&](const budget_reservation& r) {
                                          return !owned.count(r.task.value);
                                        }),
                         held.end());
            }
            st.events.clear();
            rp.deliver(std::move(st));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](start_chain_atom a, chain_definition& def) -> caf::result<chain_id> {
      return self->delegate(own_chains(self), a, std::move(def));
    },
    [self, d, pool](status_atom a, const chain_id& id) {
      return chain_call(self, *d, pool, a, id);
    },
    [self, d, pool](wait_atom a, const chain_id& id) { return chain_call(self, *d, pool, a, id); },
    [self, d, pool](cancel_atom a, const chain_id& id) {
      return chain_call(self, *d, pool, a, id);
    },
    [self, d, pool](list_atom a) -> caf::result<std::vector<chain_record>> {
      auto mine = own_chains(self);
      if (!d->who.admin)
        return self->delegate(mine, a);
      auto rp = self->make_response_promise<std::vector<chain_record>>();
      self->request(pool, caf::infinite, a)
        .then(
          [self, mine, rp](std::vector<chain_record>& node_chains) mutable {
            self->request(mine, caf::infinite, list_atom_v)
              .then(
                [rp, node_chains](std::vector<chain_record>& own) mutable {
                  node_chains.insert(node_chains.end(), own.begin(), own.end());
                  rp.deliver(std::move(node_chains));
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [self, d, pool](metrics_atom a, const metrics_filter& f) -> caf::result<session_metrics> {
      if (!d->who.admin)
        return admin_only(self, *d, "read the pool's metrics");
      return self->delegate(pool, a, f);
    },
    [self, d, pool](approve_atom a, const task_id& id) -> caf::result<task_record> {
      if (!d->who.admin)
        return admin_only(self, *d, "approve tasks");
      return self->delegate(pool, a, id);
    },
    [self, d, pool](reject_atom a, const task_id& id,
                    const std::string& feedback) -> caf::result<task_record> {
      if (!d->who.admin)
        return admin_only(self, *d, "reject tasks");
      return self->delegate(pool, a, id, feedback);
    },
    [self, d, pool](drain_atom a, std::uint64_t deadline_ms) -> caf::result<drain_summary> {
      if (!d->who.admin)
        return admin_only(self, *d, "drain the pool");
      return self->delegate(pool, a, deadline_ms);
    },
    [self, d, pool](scale_up_atom a, std::uint64_t n) -> caf::result<std::uint64_t> {
      if (!d->who.admin)
        return admin_only(self, *d, "scale the pool");
      return self->delegate(pool, a, n);
    },
    [self, d, pool](scale_down_atom a, std::uint64_t n,
                    bool force) -> caf::result<std::uint64_t> {
      if (!d->who.admin)
        return admin_only(self, *d, "scale the pool");
      return self->delegate(pool, a, n, force);
    },
    [self, d, pool](set_target_atom a, std::uint64_t n,
                    bool force) -> caf::result<std::uint64_t> {
      if (!d->who.admin)
        return admin_only(self, *d, "scale the pool");
      return self->delegate(pool, a, n, force);
    },
    [self, d, pool](join_atom a, const std::string& node, std::uint64_t own_slots,
                    std::uint64_t capacity) -> caf::result<pool_config, caf::strong_actor_ptr> {
      if (!d->who.admin)
        return admin_only(self, *d, "join as a slot host");
      return self->delegate(pool, a, node, own_slots, capacity);
    },
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
