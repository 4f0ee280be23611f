#pragma once
/// The pool's gates: actors that stand for the pool where a handle leaves the process and let
/// through only one interface. Anything else — the pool's internal messages — meets CAF's
/// `unexpected_message`: a peer that connects untyped, or that names another interface, gets
/// an error, never an effect.
///
/// - A client gate is what a node publishes (claude_pool/node.hpp): one per principal (a
///   token file, a certificate's role, or the open gate of `--allow-insecure`). It applies
///   the principal's role (submit or admin: see the README's "Security model"), the node's
///   policy for remote submissions (actors/submission_policy.hpp) and the per-client limits,
///   and it knows which tasks its principal submitted: a submit-role client reads, waits for
///   and cancels only those.
///   Its chains run through the gate itself (a registry of its own), so every step meets the
///   same checks; an admin also reaches the pool's own chains (the node operator's).
/// - A member gate is what a slot host gets from `join` (one per host): its slots report
///   their tasks and the host announces slots and leaves through it. It stops with the host.
/// Both stop when the pool does.

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "messages/config.hpp"
#include "messages/interfaces.hpp"

namespace claude_pool {

/// Who is behind a client gate.
struct gate_principal {
  std::string name; ///< as refusals and audit events name it
  bool admin = false;
};

/// What a client gate needs.
struct client_gate_deps {
  pool_client_actor pool;
  gate_principal who;
  /// The node's configuration: its `remote` policy and its own settings, which a remote
  /// task may not exceed.
  pool_config node;
  /// Audit events (client_refused, override_refused) go here: the pool's status and log.
  std::function<void(pool_event)> audit;
};

struct client_gate_state {
  std::set<std::string> owned;  ///< ids of the tasks this principal submitted
  std::uint64_t unfinished = 0; ///< of those, the ones not yet ended
  std::uint64_t audit_window_end_ms = 0;
  std::uint64_t audit_held_back = 0;
  /// The principal's chains, run through this gate (made on first use): each step is a
  /// submission of this principal's, checked like any other.
  chain_registry_actor chains;
  static inline const char* name = "claude_pool.client_gate";
};

pool_client_actor::behavior_type
client_gate_behavior(pool_client_actor::stateful_pointer<client_gate_state> self,
                     client_gate_deps deps);

/// `node` is the host's name: what the gate lets through about slots must be about that
/// host's slots (`node` set to it), so a host can neither announce nor report another's.
pool_member_actor::behavior_type member_gate_behavior(pool_member_actor::pointer self,
                                                      pool_member_actor pool, caf::actor host,
                                                      std::string node);

} // namespace claude_pool
