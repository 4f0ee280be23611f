#pragma once
/// The node's authenticated transport, under CAF's BASP. CAF 0.17 has no notion of a peer's
/// identity: any process that completes a BASP handshake can address every actor whose handle
/// ever crossed the network by its (sequential) id, and can claim any source node in a
/// `routed_message`, even this node's own actors. So authentication cannot live in actors;
/// it lives here, before a byte of BASP is read:
///
/// - A connecting peer first proves who it is: with tokens it sends
///   `CLAUDE-POOL-AUTH/1 <token>\n`; with TLS it completes a mutual TLS handshake whose
///   certificate names its principal (CN) and role (OU). A thread of the listener (never
///   CAF's I/O loop, so a slow or silent peer holds up nothing) does this with a deadline,
///   answers one byte (`+` or `-`, inside TLS when TLS is on) and only then hands the socket
///   to CAF. A peer without valid credentials never reaches the BASP broker.
/// - Each principal (one token file) has its own door: a listening-less CAF doorman under a
///   port number of its own, with its own published actor (the principal's gate). The
///   handshake of a connection adopted through that door offers that gate and nothing else.
/// - Every byte an adopted connection sends is checked on its way in (BASP framing only):
///   `routed_message` and named receivers are refused, a message may carry no forwarding
///   stages, and a submit-role connection may address only its own gate. A breach drops
///   the connection.
///
/// So the gate's own checks (role, ownership, policy) can trust who is asking.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <caf/actor_control_block.hpp>

#include "runtime/node/node_tls.hpp"
#include "runtime/node/node_tokens.hpp"

namespace claude_pool {

/// What the listener asks of its owner.
struct listener_hooks {
  /// The credential a token stands for, or nothing (from the listener's thread). Not asked
  /// with TLS: there the certificate names the principal and role (identity_of).
  std::function<std::optional<peer_credential>(const std::string& token)> authenticate;
  /// The actor every connection of this principal sees, and its interface (CAF's message
  /// type names). Called once per principal, from the listener's thread.
  std::function<std::pair<caf::strong_actor_ptr, std::set<std::string>>(const peer_credential&)>
    gate_for;
  /// A refused or dropped connection, one sentence (rate-limited by the listener).
  std::function<void(const std::string& what)> on_refused;
};

/// The preamble's fixed parts (exposed for tests that play an attacker).
inline constexpr const char* auth_preamble_prefix = "CLAUDE-POOL-AUTH/1 ";
inline constexpr char auth_accepted = '+';
inline constexpr char auth_refused = '-';

/// Listens on `bind:port` (0 picks a free port) for authenticated peers of `sys`'s BASP:
/// peers presenting a token, or, given a TLS context, peers with a certificate from its CA
/// (then every byte of the connection is encrypted). Throws std::runtime_error naming the
/// address when it cannot listen. Destroying it stops accepting; connections already
/// adopted stay with CAF until the actor system ends.
class node_listener {
public:
  node_listener(caf::actor_system& sys, const std::string& bind, std::uint16_t port,
                listener_hooks hooks, tls_context tls = nullptr);
  ~node_listener();
  node_listener(const node_listener&) = delete;
  node_listener& operator=(const node_listener&) = delete;

  std::uint16_t port() const;
  /// Connections refused so far (no token, wrong token, malformed, too slow) and adopted
  /// connections dropped for a protocol breach.
  std::uint64_t refused() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The outcome of `connect_authenticated` when it fails: which kind, and a sentence.
struct connect_failure {
  enum class kind { unreachable, refused, handshake } what;
  std::string message;
};

/// Connects to a node_listener, presents `token` and completes the BASP handshake through
/// `sys`'s middleman. Returns the published actor and its interface, or why not.
/// `refused` means the node turned the credentials down.
struct connect_result {
  caf::strong_actor_ptr actor;
  std::set<std::string> interface;
  std::optional<connect_failure> failure;
};
connect_result connect_authenticated(caf::actor_system& sys, const std::string& host,
                                     std::uint16_t port, const std::string& token);

/// The same over mutual TLS: this node's certificate (from `tls`) is the credential, and the
/// node's certificate must verify against the same CA.
connect_result connect_authenticated(caf::actor_system& sys, const std::string& host,
                                     std::uint16_t port, const tls_context& tls);

} // namespace claude_pool
