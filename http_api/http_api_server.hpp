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

struct options {
  /// 127.0.0.1 by default; another address needs `allow_insecure` (no TLS on HTTP yet).
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0; ///< 0 picks a free one
  /// The node's token directory; empty only with `allow_insecure` (everyone is an admin).
  std::string token_dir;
  bool allow_insecure = false;
  /// What `GET /v1/events` streams (fed by the pool's on_event and on_task_change hooks, see
  /// `feed_from`); unset: no event stream.
  std::shared_ptr<event_feed> events;
};

/// Hooks the pool's `on_event` (keeping whatever it did) and `on_task_change` to `feed`;
/// call before the pool is made.
void feed_from(pool_options& pool, const std::shared_ptr<event_feed>& feed);

/// What the API serves.
struct target {
  pool_client_actor pool;
  pool_config config;                    ///< the node's (its remote policy)
  std::function<void(pool_event)> audit; ///< refusals and gate events
};

class server {
public:
  /// Listens at once; throws std::runtime_error naming the address when it cannot, or the
  /// option when the combination is refused (a non-loopback bind without allow_insecure).
  server(caf::actor_system& sys, target what, options opts);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  std::uint16_t port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace claude_pool::http_api
