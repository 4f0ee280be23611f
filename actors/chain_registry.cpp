#include "actors/chain_registry.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "actors/chain_actor.hpp"
#include "actors/chain_steps.hpp"
#include "runtime/store/task_store.hpp"

namespace claude_pool {

namespace {

using self_ptr = chain_registry_actor::stateful_pointer<chain_registry_state>;

caf::error unknown(const chain_id& id) {
  return caf::make_error(pool_errc::unknown_chain, "no chain with id " + id.value);
}

/// Answers for every chain at once: their records, oldest first.
struct list_gather {
  std::vector<chain_record> records;
  std::size_t missing = 0;
  caf::typed_response_promise<std::vector<chain_record>> rp;
};

} // namespace

chain_registry_actor::behavior_type
chain_registry_behavior(chain_registry_actor::stateful_pointer<chain_registry_state> self,
                       chain_registry_deps deps) {
  self->state.deps = std::move(deps);
  // Chains are the pool's: when the pool goes, so do they (and this registry).
  self->monitor(self->state.deps.pool);
  self->set_down_handler([self](const caf::down_msg& dm) {
    if (dm.source == self->state.deps.pool.address())
      self->quit(dm.reason);
  });
  {
    auto& st = self->state;
    for (auto& c : std::exchange(st.deps.recovered, {})) {
      auto id = c.record.id;
      st.order.push_back(id);
      if (is_terminal(c.record.state)) {
        st.ended_before.emplace(id, std::move(c.record));
        continue;
      }
      chain_deps cd{st.deps.pool, nullptr, st.deps.store, std::move(c.record)};
      st.chains.emplace(id, self->spawn<caf::linked>(chain_behavior, id, std::move(c.definition),
                                                     std::move(cd)));
    }
  }
  return {
    [self](start_chain_atom, chain_definition& def) -> caf::result<chain_id> {
      auto& st = self->state;
      if (auto problem = check_chain(def); !problem.empty())
        return caf::make_error(pool_errc::invalid_request, problem);
      chain_deps cd{st.deps.pool, nullptr, st.deps.store, std::nullopt};
      if (def.worktree.value_or(st.deps.worktree_by_default)) {
        try {
          if (!st.deps.worktrees)
            throw std::runtime_error("this pool has no worktree support");
          cd.worktrees = st.deps.worktrees();
        } catch (const std::exception& e) {
          return caf::make_error(pool_errc::invalid_request,
                                 std::string("chain.worktree: ") + e.what());
        }
      }
      auto id = make_chain_id();
      auto chain = self->spawn<caf::linked>(chain_behavior, id, std::move(def), std::move(cd));
      st.chains.emplace(id, chain);
      st.order.push_back(id);
      return id;
    },
    [self](status_atom, const chain_id& id) -> caf::result<chain_record> {
      if (auto old = self->state.ended_before.find(id); old != self->state.ended_before.end())
        return old->second;
      auto it = self->state.chains.find(id);
      if (it == self->state.chains.end())
        return unknown(id);
      return self->delegate(it->second, status_atom_v);
    },
    [self](wait_atom, const chain_id& id) -> caf::result<chain_record> {
      if (auto old = self->state.ended_before.find(id); old != self->state.ended_before.end())
        return old->second;
      auto it = self->state.chains.find(id);
      if (it == self->state.chains.end())
        return unknown(id);
      return self->delegate(it->second, wait_atom_v);
    },
    [self](cancel_atom, const chain_id& id) -> caf::result<chain_record> {
      if (auto old = self->state.ended_before.find(id); old != self->state.ended_before.end())
        return old->second; // ended already: cancelling changes nothing
      auto it = self->state.chains.find(id);
      if (it == self->state.chains.end())
        return unknown(id);
      return self->delegate(it->second, cancel_atom_v);
    },
    [self](list_atom) -> caf::result<std::vector<chain_record>> {
      auto& st = self->state;
      // No chains: answer at once (a response promise made first would take the answer over
      // and the returned value would never be sent).
      if (st.order.empty())
        return std::vector<chain_record>{};
      auto g = std::make_shared<list_gather>();
      g->rp = self->make_response_promise<std::vector<chain_record>>();
      g->records.resize(st.order.size());
      g->missing = st.order.size();
      for (std::size_t i = 0; i < st.order.size(); ++i) {
        auto& id = st.order[i];
        if (auto old = st.ended_before.find(id); old != st.ended_before.end()) {
          g->records[i] = old->second;
          if (--g->missing == 0)
            g->rp.deliver(std::move(g->records));
          continue;
        }
        self->request(st.chains.at(id), caf::infinite, status_atom_v)
          .then(
            [g, i](chain_record& rec) {
              g->records[i] = std::move(rec);
              if (--g->missing == 0)
                g->rp.deliver(std::move(g->records));
            },
            [g, i, id](caf::error&) {
              g->records[i].id = id;
              g->records[i].state = chain_state::failed;
              g->records[i].error = "the chain's actor is gone";
              if (--g->missing == 0)
                g->rp.deliver(std::move(g->records));
            });
      }
      return g->rp;
    },
  };
}

} // namespace claude_pool
