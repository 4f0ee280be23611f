#pragma once
/// A pool as a node of a CAF cluster: the actor system settings a node needs, publishing a
/// pool, and connecting to one. The distribution is CAF's BASP over the node's own
/// authenticated transport (runtime/node/node_transport: a token or a mutual-TLS certificate
/// before any BASP byte; CAF's plain `publish` only with --allow-insecure); the protocol is
/// the typed pool interface of messages/interfaces.hpp, the same one local CAF callers use.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "messages/interfaces.hpp"
#include "runtime/node/node_tls.hpp"

namespace caf {
class actor_system;
class actor_system_config;
}

namespace claude_pool {

class pool;

/// Where and how a node listens, and whom it lets in.
struct node_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0; ///< 0 picks a free port
  /// Run open: no credentials asked, every peer is an admin (anyone who can reach the port
  /// can submit work, spend the budget and read every record). Only when the user says so.
  bool allow_insecure = false;
  /// Mutual TLS: the certificate authenticates the peer (see the README's security model).
  tls_options tls;
  /// Without TLS: the directory of the node's token files, one per principal —
  /// `admin.token` and `submit.token`, which a node creates when missing, and any
  /// `NAME.admin.token` / `NAME.submit.token` an operator adds (read at each connection, so
  /// adding or deleting a file needs no restart). Empty: `default_token_dir()/node-PORT`.
  std::string token_dir;
};

/// What a node publishes: the pool's client protocol, the settings remote submissions are
/// checked against, and where audit events go.
struct node_target {
  pool_client_actor pool;
  pool_config config;
  std::function<void(pool_event)> audit;
};

/// A published pool: it accepts connections until destroyed (connections already made stay
/// until the actor system ends).
class published_pool {
public:
  virtual ~published_pool() = default;
  virtual std::uint16_t port() const = 0;
  /// The token directory (empty with TLS or --allow-insecure).
  virtual std::string token_dir() const = 0;
  /// Connections refused so far (tokens only).
  virtual std::uint64_t refused() const = 0;
};

/// Everything a node's actor system needs, set before the system starts: claude-pool's
/// message types, the middleman, heartbeats (so that a hung peer is noticed, not only a
/// closed connection). With TLS options it checks the files first (the transport builds its
/// TLS context when it publishes or connects). Throws `tls_error` for a bad certificate,
/// key, CA or passphrase.
void configure_node(caf::actor_system_config& cfg, const tls_options& tls);

/// Why these options must not be used to listen (non-loopback without TLS and without
/// `allow_insecure`), or empty.
std::string check_listen(const node_options& opts);

/// Publishes the pool's client protocol — through gate actors, one per principal, so a peer
/// reaches nothing else of the pool and only what its role allows (actors/pool_gate_actor.hpp;
/// runtime/node/node_transport.hpp says why the check must sit under BASP). Throws
/// `pool_error(node_unreachable)` naming the address when it cannot listen, `token_error`
/// for a token directory it cannot use, `pool_error(invalid_request)` for options that
/// must not be used together.
std::unique_ptr<published_pool> publish_pool(caf::actor_system& sys, node_target target,
                                             const node_options& opts);
/// The same for a pool of the caller's (its config, its event log).
std::unique_ptr<published_pool> publish_pool(caf::actor_system& sys, pool& p,
                                             const node_options& opts);

/// How a client proves itself to a node: TLS files, or the token (its value, see
/// `read_token_file`). Neither: only a node run with --allow-insecure lets it in.
struct node_credentials {
  tls_options tls;
  std::string token;
};

/// Connects to the pool published at host:port. Throws `pool_error(not_authenticated)` when
/// the node refuses the credentials, `pool_error(node_unreachable)` naming the address and
/// the reason (refused connection, failed handshake, a different interface at that port).
pool_client_actor connect_pool(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                               const node_credentials& creds);

/// The token a client presents: the file given (else $CLAUDE_POOL_TOKEN_FILE), read with
/// `read_token_file`'s checks; empty when neither names a file.
std::string client_token(const std::string& token_file);

/// "HOST:PORT" (IPv6 as "[::1]:PORT"). Throws `std::invalid_argument` naming the problem.
std::pair<std::string, std::uint16_t> parse_endpoint(const std::string& text);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(const std::string& host);

} // namespace claude_pool
