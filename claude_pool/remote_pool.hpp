#pragma once
/// A client of a pool served by another node (`claude-pool serve`): the facade's calls,
/// sent as the typed messages of messages/interfaces.hpp. Unlike a plain CAF request (which
/// CAF 0.17 never fails when the peer dies), every call here watches the pool node: when it
/// goes away, the call throws `pool_error(node_lost)` instead of hanging.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/interfaces.hpp"
#include "claude_pool/node.hpp"

namespace claude_pool {

class remote_pool {
public:
  /// Connects with the credentials (a token or TLS files; see claude_pool/node.hpp). Throws
  /// `pool_error(not_authenticated)` when the node refuses them, `pool_error(node_unreachable)`
  /// naming the address and the reason, `tls_error` for bad TLS files.
  remote_pool(const std::string& host, std::uint16_t port, const node_credentials& creds);
  /// Connects with TLS files, or else with the token in $CLAUDE_POOL_TOKEN_FILE, or else
  /// without credentials (a node run with --allow-insecure).
  remote_pool(const std::string& host, std::uint16_t port, const tls_options& tls = {});
  ~remote_pool();

  remote_pool(const remote_pool&) = delete;
  remote_pool& operator=(const remote_pool&) = delete;

  task_id submit(task_submission sub);
  task_record wait(const task_id& id);
  task_record result(const task_id& id);
  task_record cancel(const task_id& id);
  std::vector<task_record> list(const task_filter& filter = {});
  pool_status status();
  session_metrics metrics(const metrics_filter& filter = {});
  drain_summary drain(std::chrono::milliseconds deadline);
  /// Review gate, as `pool::approve` / `pool::reject`.
  task_record approve(const task_id& id);
  task_record reject(const task_id& id, const std::string& feedback);
  /// Scales the pool to `slots` (within scaling.min_slots..max_slots; `out_of_bounds`
  /// otherwise); new slots go to slot hosts with room first. Returns the new target.
  std::uint64_t set_target(std::uint64_t slots, bool force = false);

  /// Chains on the node, as `pool::start_chain` and its siblings: they run under this
  /// client's principal (each step is its submission, checked by the node's policy; no
  /// worktree). An admin also reaches the node's own chains by id and in the list.
  chain_id start_chain(chain_definition def);
  chain_record chain_status(const chain_id& id);
  chain_record wait_chain(const chain_id& id);
  chain_record cancel_chain(const chain_id& id);
  std::vector<chain_record> list_chains();

  /// The remote pool's handle, for CAF code of the caller's own.
  pool_client_actor handle() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claude_pool
