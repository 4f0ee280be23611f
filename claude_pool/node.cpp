#include "claude_pool/node.hpp"

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/pool_gate_actor.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool {

void configure_node(caf::actor_system_config& cfg, const tls_options& tls) {
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  // Without heartbeats CAF notices a closed connection at once but a hung peer (stopped,
  // or a cable pulled without a FIN) never; with them, within a few seconds.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
  if (tls.enabled())
    apply_tls(cfg, tls); // checks the files first: CAF itself hangs on a bad passphrase
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string check_listen(const node_options& opts) {
  if (opts.tls.enabled() || is_loopback(opts.bind) || opts.allow_insecure)
    return {};
  return "refusing to listen on " + opts.bind
         + " without TLS: anyone who reaches the port could submit work and read every record. "
           "Give --tls-cert/--tls-key/--tls-ca, or --allow-insecure to accept the risk";
}

std::uint16_t publish_pool(caf::actor_system& sys, const pool_client_actor& pool,
                           const node_options& opts) {
  if (auto problem = check_listen(opts); !problem.empty())
    throw pool_error(pool_errc::invalid_request, problem);
  // An empty address would make CAF listen on every interface.
  const char* addr = opts.bind.c_str();
  auto gate = sys.spawn(client_gate_behavior, pool);
  auto port = opts.tls.enabled() ? caf::openssl::publish(gate, opts.port, addr, true)
                                 : sys.middleman().publish(gate, opts.port, addr, true);
  if (!port)
    throw pool_error(pool_errc::node_unreachable,
                     "cannot listen on " + opts.bind + ":" + std::to_string(opts.port) + ": "
                       + sys.render(port.error()));
  return *port;
}

pool_client_actor connect_pool(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                        const tls_options& tls) {
  auto where = host + ":" + std::to_string(port);
  auto handle = tls.enabled() ? caf::openssl::remote_actor<pool_client_actor>(sys, host, port)
                              : sys.middleman().remote_actor<pool_client_actor>(host, port);
  if (!handle)
    throw pool_error(pool_errc::node_unreachable,
                     "no claude-pool node at " + where + " (" + sys.render(handle.error())
                       + (tls.enabled() ? "; with TLS, check both sides' certificates and CA"
                                        : "; is it serving with TLS?")
                       + ")");
  return *handle;
}

std::pair<std::string, std::uint16_t> parse_endpoint(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw std::invalid_argument("\"" + text + "\" is not [IPV6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw std::invalid_argument("\"" + text + "\" is not HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos
      || std::stoul(port) == 0 || std::stoul(port) > 65535)
    throw std::invalid_argument("\"" + text + "\": the port must be 1-65535");
  return {host, static_cast<std::uint16_t>(std::stoul(port))};
}

} // namespace claude_pool
