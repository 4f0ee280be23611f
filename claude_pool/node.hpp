#pragma once
/// A pool as a node of a CAF cluster: the actor system settings a node needs, publishing a
/// pool, and connecting to one. The distribution is CAF's own (middleman `publish` /
/// `remote_actor`, or their openssl variants with mutual TLS); the protocol is the typed
/// pool interface of messages/interfaces.hpp, the same one local CAF callers use.

#include <cstdint>
#include <string>
#include <utility>

#include "messages/interfaces.hpp"
#include "runtime/node/node_tls.hpp"

namespace caf {
class actor_system;
class actor_system_config;
}

namespace claude_pool {

/// Where and how a node listens.
struct node_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0; ///< 0 picks a free port
  /// Listen on a non-loopback address without TLS (anyone who can reach the port can then
  /// submit work, spend the budget and read every record): only when the user says so.
  bool allow_insecure = false;
  tls_options tls;
};

/// Everything a node's actor system needs, set before the system starts: claude-pool's
/// message types, the middleman, heartbeats (so that a hung peer is noticed, not only a
/// closed connection), and the openssl module with the node's certificate when TLS is on.
/// Throws `tls_error` for a bad certificate, key, CA or passphrase.
void configure_node(caf::actor_system_config& cfg, const tls_options& tls);

/// Why these options must not be used to listen (non-loopback without TLS and without
/// `allow_insecure`), or empty.
std::string check_listen(const node_options& opts);

/// Publishes the pool's client protocol — through a gate actor, so a peer reaches nothing
/// else of the pool (actors/pool_gate_actor.hpp) — and returns the port it listens on.
/// Throws `pool_error(node_unreachable)` naming the address when it cannot listen.
std::uint16_t publish_pool(caf::actor_system& sys, const pool_client_actor& pool,
                           const node_options& opts);

/// Connects to the pool published at host:port (with TLS when `tls.enabled()`). Throws
/// `pool_error(node_unreachable)` naming the address and CAF's reason (refused connection,
/// failed handshake, a different interface at that port).
pool_client_actor connect_pool(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                        const tls_options& tls);

/// "HOST:PORT" (IPv6 as "[::1]:PORT"). Throws `std::invalid_argument` naming the problem.
std::pair<std::string, std::uint16_t> parse_endpoint(const std::string& text);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(const std::string& host);

} // namespace claude_pool
