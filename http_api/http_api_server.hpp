#pragma once
/// The node's HTTP/JSON API (`claude-pool serve --http PORT`), for clients that are not C++:
/// curl, Python, Prometheus. A request authenticates with `Authorization: Bearer TOKEN`, a
/// token of the node's token directory (the same principals and roles as the CAF port), and
/// goes through that principal's client gate — so what a role may do, which tasks a
/// principal sees and what the remote policy allows are exactly the CAF port's. JSON bodies
/// use the records' field names. Routes: see README "HTTP API".

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "claude_pool/pool.hpp"
#include "messages/config.hpp"
#include "messages/interfaces.hpp"

namespace caf {
class actor_system;
}

namespace claude_pool::http_api {

class event_feed;
class prometheus_metrics;

/// HTTPS: the server's certificate (chain) and key, PEM files. With `client_ca`, clients
/// authenticate with a certificate signed by it instead of a token (mutual TLS: the
/// certificate's CN is the principal and its OU the role, as on the node port).
struct tls_files {
  std::string certificate;
  std::string key;
  std::string passphrase; ///< if the key is encrypted
  std::string client_ca;
  bool enabled() const { return !certificate.empty() || !key.empty(); }
};

struct options {
  /// 127.0.0.1 by default; another address needs TLS or `allow_insecure`.
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0; ///< 0 picks a free one
  /// The node's token directory; empty only with `allow_insecure` (everyone is an admin) or
  /// with client certificates (`tls.client_ca`).
  std::string token_dir;
  bool allow_insecure = false;
  tls_files tls;
  /// What `GET /v1/events` streams and `GET /metrics` counts (fed by `watch`, see
  /// pool_watchers.hpp); unset: no event stream, and /metrics has the status' gauges only.
  std::shared_ptr<event_feed> events;
  std::shared_ptr<prometheus_metrics> metrics;
};

/// What the API serves.
struct target {
  pool_client_actor pool;
  pool_config config;                    ///< the node's (its remote policy)
  std::function<void(pool_event)> audit; ///< refusals and gate events
};

class server {
public:
  /// Listens at once; throws std::runtime_error naming the address when it cannot, the file
  /// when TLS cannot start, or the option when the combination is refused (a non-loopback
  /// bind without TLS or allow_insecure).
  server(caf::actor_system& sys, target what, options opts);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  std::uint16_t port() const;
  /// "https" or "http".
  const char* scheme() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claude_pool::http_api
