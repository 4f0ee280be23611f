#include "claude_pool/remote_pool.hpp"

#include <future>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool {

struct remote_pool::impl {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  pool_client_actor pool;
  std::string where;

  /// One request through a short-lived local actor that also monitors the pool: the answer,
  /// the pool's error, or — when the node goes away first — `node_lost`.
  template <class Result, class... Ts>
  Result ask(Ts... xs) {
    auto box = std::make_shared<std::promise<caf::expected<Result>>>();
    auto answered = std::make_shared<bool>(false);
    auto finish = [box, answered](caf::expected<Result> r) {
      if (*answered)
        return;
      *answered = true;
      box->set_value(std::move(r));
    };
    auto where_copy = where;
    // The pool goes in as a spawn argument: CAF 0.17 dereferences a null argument tuple when
    // a function actor is spawned without arguments (UBSan reports it).
    sys->spawn([=](caf::event_based_actor* self, pool_client_actor target) -> caf::behavior {
      self->monitor(target);
      self->set_down_handler([=](caf::down_msg& dm) {
        finish(caf::make_error(pool_errc::node_lost, "the pool node " + where_copy
                                                       + " went away (" + to_string(dm.reason)
                                                       + ") before it answered"));
        self->quit();
      });
      self->request(target, caf::infinite, xs...)
        .then(
          [=](Result& r) {
            finish(std::move(r));
            self->quit();
          },
          [=](caf::error& err) {
            finish(std::move(err));
            self->quit();
          });
      // A behavior keeps the actor alive until one of the two answers arrives.
      return {[](caf::unit_t) {}};
    }, pool);
    auto answer = box->get_future().get();
    if (answer)
      return std::move(*answer);
    auto& err = answer.error();
    auto code = err.category() == caf::atom("claudepool") ? static_cast<pool_errc>(err.code())
                                                          : pool_errc::node_lost;
    throw pool_error(code, error_context(err).value_or(sys->render(err)));
  }
};

remote_pool::remote_pool(const std::string& host, std::uint16_t port,
                         const node_credentials& creds)
  : impl_(std::make_unique<impl>()) {
  configure_node(impl_->cfg, creds.tls);
  impl_->sys = std::make_unique<caf::actor_system>(impl_->cfg);
  impl_->where = host + ":" + std::to_string(port);
  impl_->pool = connect_pool(*impl_->sys, host, port, creds);
}

remote_pool::remote_pool(const std::string& host, std::uint16_t port, const tls_options& tls)
  : remote_pool(host, port, node_credentials{tls, tls.enabled() ? "" : client_token("")}) {}

remote_pool::~remote_pool() = default;

task_id remote_pool::submit(task_submission sub) {
  return impl_->ask<task_id>(submit_atom_v, std::move(sub));
}

task_record remote_pool::wait(const task_id& id) {
  return impl_->ask<task_record>(wait_atom_v, id);
}

task_record remote_pool::result(const task_id& id) {
  return impl_->ask<task_record>(result_atom_v, id);
}

task_record remote_pool::cancel(const task_id& id) {
  return impl_->ask<task_record>(cancel_atom_v, id);
}

std::vector<task_record> remote_pool::list(const task_filter& filter) {
  return impl_->ask<std::vector<task_record>>(list_atom_v, filter);
}

pool_status remote_pool::status() { return impl_->ask<pool_status>(status_atom_v); }

session_metrics remote_pool::metrics(const metrics_filter& filter) {
  return impl_->ask<session_metrics>(metrics_atom_v, filter);
}

drain_summary remote_pool::drain(std::chrono::milliseconds deadline) {
  return impl_->ask<drain_summary>(drain_atom_v, static_cast<std::uint64_t>(deadline.count()));
}

task_record remote_pool::approve(const task_id& id) {
  return impl_->ask<task_record>(approve_atom_v, id);
}

task_record remote_pool::reject(const task_id& id, const std::string& feedback) {
  return impl_->ask<task_record>(reject_atom_v, id, feedback);
}

std::uint64_t remote_pool::set_target(std::uint64_t slots, bool force) {
  return impl_->ask<std::uint64_t>(set_target_atom_v, slots, force);
}

chain_id remote_pool::start_chain(chain_definition def) {
  return impl_->ask<chain_id>(start_chain_atom_v, std::move(def));
}

chain_record remote_pool::chain_status(const chain_id& id) {
  return impl_->ask<chain_record>(status_atom_v, id);
}

chain_record remote_pool::wait_chain(const chain_id& id) {
  return impl_->ask<chain_record>(wait_atom_v, id);
}

chain_record remote_pool::cancel_chain(const chain_id& id) {
  return impl_->ask<chain_record>(cancel_atom_v, id);
}

std::vector<chain_record> remote_pool::list_chains() {
  return impl_->ask<std::vector<chain_record>>(list_atom_v);
}

pool_client_actor remote_pool::handle() const { return impl_->pool; }

} // namespace claude_pool
