#include "claude_pool/node.hpp"

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/pool_gate_actor.hpp"
#include "claude_pool/pool.hpp"
#include "messages/ids.hpp"
#include "runtime/node/node_tokens.hpp"
#include "runtime/node/node_transport.hpp"

namespace claude_pool {

void configure_node(caf::actor_system_config& cfg, const tls_options& tls) {
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  // Without heartbeats CAF notices a closed connection at once but a hung peer (stopped,
  // or a cable pulled without a FIN) never; with them, within a few seconds.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
  // TLS itself is the node transport's (runtime/node): the files are checked here so that a
  // bad option fails before anything starts.
  check_tls(tls);
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

namespace {

/// The open way (--allow-insecure): one gate for every peer, published with CAF's own
/// middleman.
class caf_published final : public published_pool {
public:
  explicit caf_published(std::uint16_t port) : port_(port) {}
  std::uint16_t port() const override { return port_; }
  std::string token_dir() const override { return {}; }
  std::uint64_t refused() const override { return 0; }

private:
  std::uint16_t port_;
};

/// The authenticated listener (tokens or TLS certificates), a gate per principal.
class token_published final : public published_pool {
public:
  std::uint16_t port() const override { return listener->port(); }
  std::string token_dir() const override { return dir; }
  std::uint64_t refused() const override { return listener->refused(); }

  std::unique_ptr<node_listener> listener;
  std::string dir;
};

/// With TLS the certificate names principal and role (identity_of); without, a token file.
std::unique_ptr<published_pool> publish_authenticated(caf::actor_system& sys, node_target target,
                                                      const node_options& opts) {
  auto out = std::make_unique<token_published>();
  auto audit = target.audit;
  struct shared_dir {
    std::mutex m;
    std::string path;
    std::string get() {
      std::lock_guard<std::mutex> lock(m);
      return path;
    }
  };
  auto dir = std::make_shared<shared_dir>();
  listener_hooks hooks;
  hooks.on_refused = [audit](const std::string& what) {
    if (audit)
      audit(pool_event{now_ms(), "client_refused", std::nullopt, what});
  };
  hooks.authenticate = [dir, warn = hooks.on_refused](const std::string& token) {
    auto path = dir->get();
    return path.empty() ? std::nullopt : find_token(path, token, warn);
  };
  hooks.gate_for = [&sys, target](const peer_credential& who) {
    client_gate_deps deps{target.pool,
                          gate_principal{who.principal, who.role == node_role::admin},
                          target.config, target.audit};
    auto gate = sys.spawn(client_gate_behavior, std::move(deps));
    return std::make_pair(caf::actor_cast<caf::strong_actor_ptr>(gate),
                          sys.message_types<pool_client_actor>());
  };
  tls_context tls;
  try {
    tls = make_tls_context(opts.tls);
  } catch (const tls_error& e) {
    throw pool_error(pool_errc::invalid_request, e.what());
  }
  try {
    out->listener = std::make_unique<node_listener>(sys, opts.bind, opts.port, std::move(hooks),
                                                    tls);
  } catch (const std::runtime_error& e) {
    throw pool_error(pool_errc::node_unreachable, e.what());
  }
  if (tls)
    return out;
  auto path = opts.token_dir.empty()
                ? default_token_dir() + "/node-" + std::to_string(out->listener->port())
                : opts.token_dir;
  // A fresh node gets one credential per role; an operator may add more (see node_options).
  ensure_token_file(path + "/admin.token");
  ensure_token_file(path + "/submit.token");
  {
    std::lock_guard<std::mutex> lock(dir->m);
    dir->path = path;
  }
  out->dir = path;
  return out;
}

} // namespace

std::unique_ptr<published_pool> publish_pool(caf::actor_system& sys, node_target target,
                                             const node_options& opts) {
  if (auto problem = check_listen(opts); !problem.empty())
    throw pool_error(pool_errc::invalid_request, problem);
  if (opts.tls.enabled() && !opts.token_dir.empty())
    throw pool_error(pool_errc::invalid_request,
                     "--token-dir: with TLS the certificate is the credential; give one or "
                     "the other");
  if (opts.tls.enabled() || !opts.allow_insecure)
    return publish_authenticated(sys, std::move(target), opts);
  // Open: one gate for every peer, and everyone is an admin.
  gate_principal who{"anyone (--allow-insecure)", true};
  auto gate = sys.spawn(client_gate_behavior,
                        client_gate_deps{target.pool, who, target.config, target.audit});
  // An empty address would make CAF listen on every interface.
  const char* addr = opts.bind.c_str();
  auto port = sys.middleman().publish(gate, opts.port, addr, true);
  if (!port)
    throw pool_error(pool_errc::node_unreachable,
                     "cannot listen on " + opts.bind + ":" + std::to_string(opts.port) + ": "
                       + sys.render(port.error()));
  return std::make_unique<caf_published>(*port);
}

std::unique_ptr<published_pool> publish_pool(caf::actor_system& sys, pool& p,
                                             const node_options& opts) {
  node_target target{p.handle(), p.config(), [&p](pool_event ev) { p.record_event(std::move(ev)); }};
  return publish_pool(sys, std::move(target), opts);
}

std::string client_token(const std::string& token_file) {
  auto path = token_file.empty() ? token_file_from_env() : token_file;
  return path.empty() ? std::string() : read_token_file(path);
}

pool_client_actor connect_pool(caf::actor_system& sys, const std::string& host, std::uint16_t port,
                               const node_credentials& creds) {
  auto where = host + ":" + std::to_string(port);
  if (creds.tls.enabled() || !creds.token.empty()) {
    connect_result got;
    if (creds.tls.enabled()) {
      tls_context tls;
      try {
        tls = make_tls_context(creds.tls);
      } catch (const tls_error& e) {
        throw pool_error(pool_errc::invalid_request, e.what());
      }
      got = connect_authenticated(sys, host, port, tls);
    } else {
      got = connect_authenticated(sys, host, port, creds.token);
    }
    if (got.failure)
      throw pool_error(got.failure->what == connect_failure::kind::refused
                         ? pool_errc::not_authenticated
                         : pool_errc::node_unreachable,
                       got.failure->message);
    if (!sys.assignable(got.interface, sys.message_types<pool_client_actor>()))
      throw pool_error(pool_errc::node_unreachable,
                       "the actor published at " + where + " is not a claude-pool node");
    return caf::actor_cast<pool_client_actor>(got.actor);
  }
  // No credentials: only a node serving with --allow-insecure answers.
  auto handle = sys.middleman().remote_actor<pool_client_actor>(host, port);
  if (!handle)
    throw pool_error(pool_errc::node_unreachable,
                     "no claude-pool node at " + where + " (" + sys.render(handle.error())
                       + "; a node asks for a token: give --token-file or "
                         "CLAUDE_POOL_TOKEN_FILE, or TLS options if it serves with TLS)");
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
