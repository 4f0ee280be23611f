#pragma once
/// The pool's gates: actors that stand for the pool where a handle leaves the process and let
/// through only one interface, delegating each message to the pool (the reply goes straight
/// from the pool to the caller, and the pool sees the caller as the sender). Anything else
/// — the pool's internal messages — meets CAF's `unexpected_message`: a peer that connects
/// untyped, or that names another interface, gets an error, never an effect.
///
/// - The client gate is what a node publishes (claude_pool/node.hpp).
/// - A member gate is what a slot host gets from `join` (one per host): its slots report
///   their tasks and the host announces slots and leaves through it. It stops with the host.
/// Both stop when the pool does.

#include "messages/interfaces.hpp"

namespace claude_pool {

pool_client_actor::behavior_type client_gate_behavior(pool_client_actor::pointer self,
                                                      pool_client_actor pool);

/// `node` is the host's name: what the gate lets through about slots must be about that
/// host's slots (`node` set to it), so a host can neither announce nor report another's.
pool_member_actor::behavior_type member_gate_behavior(pool_member_actor::pointer self,
                                                      pool_member_actor pool, caf::actor host,
                                                      std::string node);

} // namespace claude_pool
