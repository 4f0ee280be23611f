#include "http_api/http_api_server.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/chain_registry.hpp"
#include "actors/pool_gate_actor.hpp"
#include "http_api/dashboard_page.hpp"
#include "http_api/event_feed.hpp"
#include "http_api/openapi_document.hpp"
#include "http_api/prometheus_metrics.hpp"
#include "messages/chain.hpp"
#include "messages/json.hpp"
#include "runtime/node/node_tls.hpp"
#include "runtime/node/node_tokens.hpp"

namespace claude_pool::http_api {

namespace {

using nlohmann::json;

/// The HTTP status a pool error answers with.
int http_status(const caf::error& err) {
  if (err.category() != caf::atom("claudepool"))
    return err == caf::sec::request_timeout ? 504 : 500;
  switch (static_cast<pool_errc>(err.code())) {
    case pool_errc::unknown_task:
    case pool_errc::unknown_chain: return 404;
    case pool_errc::invalid_request:
    case pool_errc::invalid_message:
    case pool_errc::out_of_bounds: return 400;
    case pool_errc::not_permitted: return 403;
    case pool_errc::not_authenticated: return 401;
    case pool_errc::already_finished:
    case pool_errc::not_pending_review: return 409;
    case pool_errc::budget_exhausted:
    case pool_errc::task_budget_exceeds_remaining: return 402;
    case pool_errc::draining:
    case pool_errc::store_failed:
    case pool_errc::node_lost:
    case pool_errc::node_unreachable: return 503;
    default: return 500;
  }
}

std::string error_code(const caf::error& err) {
  if (err.category() == caf::atom("claudepool"))
    return to_string(static_cast<pool_errc>(err.code()));
  return err == caf::sec::request_timeout ? "timeout" : "internal_error";
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message) {
  send_json(res, status, json{{"error", {{"code", code}, {"message", message}}}});
}

void send_error(httplib::Response& res, const caf::error& err) {
  send_error(res, http_status(err), error_code(err),
             error_context(err).value_or(to_string(err)));
}

bool loopback(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "::1" || host == "localhost";
}

/// A number from the query, within bounds; `fallback` when absent. Throws naming the field.
std::uint64_t query_number_text(const char* name, const std::string& text,
                                std::uint64_t max = UINT64_MAX) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v > max)
    throw std::invalid_argument(std::string(name) + ": \"" + text
                                + "\" is not a whole number from 0 to " + std::to_string(max));
  return v;
}

std::uint64_t query_number(const httplib::Request& req, const char* name, std::uint64_t fallback,
                           std::uint64_t max) {
  return req.has_param(name) ? query_number_text(name, req.get_param_value(name), max) : fallback;
}

json parse_body(const httplib::Request& req) {
  if (req.body.empty())
    return json::object();
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    throw std::invalid_argument("the request body is not a JSON object");
  return body;
}

/// An HTTPS server from the files, checked first so that a mistake is named (httplib only
/// says "not valid"). With a client CA the node's own rules apply (check_tls).
std::unique_ptr<httplib::Server> make_tls_server(const tls_files& tls) {
  if (tls.certificate.empty() || tls.key.empty())
    throw std::runtime_error(tls.certificate.empty()
                               ? "--http-tls-cert is required with --http-tls-key"
                               : "--http-tls-key is required with --http-tls-cert");
  if (!tls.client_ca.empty()) {
    check_tls(tls_options{tls.certificate, tls.key, tls.client_ca, tls.passphrase});
  } else {
    for (auto* f : {&tls.certificate, &tls.key})
      if (::access(f->c_str(), R_OK) != 0)
        throw std::runtime_error("cannot read " + *f + ": " + std::strerror(errno));
    struct stat st {};
    if (::stat(tls.key.c_str(), &st) == 0 && (st.st_mode & 077))
      throw std::runtime_error(tls.key + ": the key is readable by others; chmod 600 it");
  }
  auto server = std::make_unique<httplib::SSLServer>(
    tls.certificate.c_str(), tls.key.c_str(),
    tls.client_ca.empty() ? nullptr : tls.client_ca.c_str(), nullptr,
    tls.passphrase.empty() ? nullptr : tls.passphrase.c_str());
  if (!server->is_valid()) {
    char buf[256] = "unknown";
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error("cannot start HTTPS with " + tls.certificate + " and " + tls.key
                             + " (is the key the certificate's, and the passphrase right?): "
                             + buf);
  }
  return server;
}

} // namespace

/// The tasks a submit-role principal submitted over HTTP, so its event stream shows only
/// those; `in_flight` counts its submissions not answered yet (a task event may come before
/// the answer that tells whose it is).
struct owned_tasks {
  std::unordered_set<std::string> ids;
  int in_flight = 0;
};

struct server::impl {
  caf::actor_system& sys;
  target what;
  options opts;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  std::uint16_t bound = 0;
  std::mutex gates_mutex;
  std::map<std::pair<std::string, bool>, pool_client_actor> gates;
  /// Each principal's chains: a registry whose steps go through the principal's gate, so the
  /// node's policy applies to every step as to a task submitted alone.
  std::map<std::pair<std::string, bool>, chain_registry_actor> chain_registries;
  std::mutex owners_mutex;
  std::map<std::string, owned_tasks> owners;
  /// /metrics without a fed collector: the status' gauges only.
  std::shared_ptr<prometheus_metrics> metrics;

  impl(caf::actor_system& s, target t, options o)
    : sys(s), what(std::move(t)), opts(std::move(o)),
      metrics(opts.metrics ? opts.metrics : std::make_shared<prometheus_metrics>()) {}

  bool client_certificates() const { return !opts.tls.client_ca.empty(); }

  /// With client certificates: who the verified certificate stands for.
  std::optional<peer_credential> certificate_principal(const httplib::Request& req,
                                                       httplib::Response& res) {
    X509* cert = req.ssl ? SSL_get_peer_certificate(req.ssl) : nullptr;
    std::string problem = "no client certificate";
    if (cert) {
      try {
        auto id = identity_of(cert);
        X509_free(cert);
        return peer_credential{id.principal, id.role};
      } catch (const std::exception& e) {
        problem = e.what();
      }
      X509_free(cert);
    }
    if (what.audit)
      what.audit(pool_event{now_ms(), "client_refused", std::nullopt,
                            "HTTPS " + req.method + " " + req.path + " from " + req.remote_addr
                              + ": " + problem});
    send_error(res, 401, "not_authenticated", "a client certificate of the node's CA: " + problem);
    return std::nullopt;
  }

  /// The caller's principal, or nothing (then the response says why).
  std::optional<peer_credential> authenticate(const httplib::Request& req,
                                              httplib::Response& res) {
    if (client_certificates())
      return certificate_principal(req, res);
    if (opts.token_dir.empty())
      return peer_credential{"anyone (--allow-insecure)", node_role::admin};
    auto header = req.get_header_value("Authorization");
    const std::string bearer = "Bearer ";
    std::optional<peer_credential> who;
    if (header.rfind(bearer, 0) == 0) {
      who = find_token(opts.token_dir, header.substr(bearer.size()), [this](const std::string& w) {
        if (what.audit)
          what.audit(pool_event{now_ms(), "client_refused", std::nullopt, w});
      });
    }
    if (!who) {
      if (what.audit)
        what.audit(pool_event{now_ms(), "client_refused", std::nullopt,
                              "HTTP " + req.method + " " + req.path + " from "
                                + req.remote_addr + ": "
                                + (header.empty() ? "no bearer token" : "an unknown token")});
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "not_authenticated",
                 "present a token of the node's token directory: Authorization: Bearer TOKEN");
    }
    return who;
  }

  /// As `authenticate`, for the routes of the admin role (a submit token gets 403).
  std::optional<peer_credential> authenticate_admin(const httplib::Request& req,
                                                    httplib::Response& res) {
    auto who = authenticate(req, res);
    if (who && who->role != node_role::admin) {
      send_error(res, 403, "not_permitted", req.path + " needs the admin role");
      return std::nullopt;
    }
    return who;
  }

  /// The principal's gate: what a CAF client of that principal would talk to.
  pool_client_actor gate_for(const peer_credential& who) {
    std::lock_guard<std::mutex> lock(gates_mutex);
    auto key = std::make_pair(who.principal, who.role == node_role::admin);
    auto it = gates.find(key);
    if (it == gates.end())
      it = gates
             .emplace(key, sys.spawn(client_gate_behavior,
                                     client_gate_deps{what.pool,
                                                      gate_principal{who.principal, key.second},
                                                      what.config, what.audit}))
             .first;
    return it->second;
  }

  /// The principal's chain registry, made on first use.
  chain_registry_actor chains_for(const peer_credential& who) {
    auto gate = gate_for(who);
    std::lock_guard<std::mutex> lock(gates_mutex);
    auto key = std::make_pair(who.principal, who.role == node_role::admin);
    auto it = chain_registries.find(key);
    if (it == chain_registries.end()) {
      chain_registry_deps deps{gate, false, [] () -> std::shared_ptr<git_worktrees> {
                                 throw std::runtime_error(
                                   "worktree: chains submitted over HTTP run in the node's "
                                   "working directory (a worktree of the node's repository is "
                                   "the node operator's to ask for)");
                               },
                               nullptr, {}}; // not durable (see the README)
      it = chain_registries.emplace(key, sys.spawn(chain_registry_behavior, std::move(deps))).first;
    }
    return it->second;
  }

  /// The registry that holds chain `id` for the caller: its own; for the admin role, any
  /// principal's (the admin sees every chain, as every task).
  chain_registry_actor chains_holding(const peer_credential& who, const chain_id& id) {
    auto own = chains_for(who);
    if (who.role != node_role::admin)
      return own;
    std::vector<chain_registry_actor> all;
    {
      std::lock_guard<std::mutex> lock(gates_mutex);
      for (auto& [key, registry] : chain_registries)
        if (registry != own)
          all.push_back(registry);
    }
    caf::scoped_actor self{sys};
    for (auto& registry : all) {
      bool found = false;
      self->request(registry, std::chrono::seconds(30), status_atom_v, id)
        .receive([&](chain_record&) { found = true; }, [&](caf::error&) {});
      if (found)
        return registry;
    }
    return own; // which then answers unknown_chain
  }

  /// Asks the registry that holds chain `id` and answers as `ask` does.
  template <class Reply, class Ok, class... Ts>
  void ask_chain(const httplib::Request& req, httplib::Response& res, caf::timespan timeout,
                 const chain_id& id, Ok ok, Ts&&... xs) {
    auto who = authenticate(req, res);
    if (!who)
      return;
    auto chains = chains_holding(*who, id);
    caf::scoped_actor self{sys};
    self->request(chains, timeout, std::forward<Ts>(xs)...)
      .receive([&](Reply& reply) { ok(reply); }, [&](caf::error& err) { send_error(res, err); });
  }

  /// Asks the caller's gate and answers: `ok(reply)` on success, the error otherwise.
  template <class Reply, class Ok, class... Ts>
  void ask(const httplib::Request& req, httplib::Response& res, caf::timespan timeout, Ok ok,
           Ts&&... xs) {
    auto who = authenticate(req, res);
    if (!who)
      return;
    auto gate = gate_for(*who);
    caf::scoped_actor self{sys};
    self->request(gate, timeout, std::forward<Ts>(xs)...)
      .receive([&](Reply& reply) { ok(reply); }, [&](caf::error& err) { send_error(res, err); });
  }

  enum class visibility { shown, hidden, later };

  /// Whether `principal`'s stream shows `e`: its own tasks' changes; a task event not known
  /// to be its own waits (at most 10 s) while one of its submissions is unanswered.
  visibility shows(const std::string& principal, const event_feed::entry& e) {
    if (e.task.empty())
      return visibility::hidden; // pool events are the admin's
    std::lock_guard<std::mutex> lock(owners_mutex);
    auto it = owners.find(principal);
    if (it == owners.end())
      return visibility::hidden;
    if (it->second.ids.count(e.task))
      return visibility::shown;
    if (it->second.in_flight > 0
        && std::chrono::steady_clock::now() - e.at < std::chrono::seconds(10))
      return visibility::later;
    return visibility::hidden;
  }

  void routes();
};

void server::impl::routes() {
  using namespace std::chrono_literals;
  // Every handler answers bad input with a 400 naming the field.
  http->set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      send_error(res, 400, "invalid_request", e.what());
    } catch (...) {
      send_error(res, 500, "internal_error", "an unknown error");
    }
  });
  http->Post("/v1/tasks", [this](const httplib::Request& req, httplib::Response& res) {
    auto sub = parse_body(req).get<task_submission>();
    auto who = authenticate(req, res);
    if (!who)
      return;
    // A submit-role principal's event stream shows its own tasks: note the id before the
    // answer goes out (and hold its stream while the id is not known yet).
    bool tracked = who->role != node_role::admin;
    if (tracked) {
      std::lock_guard<std::mutex> lock(owners_mutex);
      ++owners[who->principal].in_flight;
    }
    auto gate = gate_for(*who);
    caf::scoped_actor self{sys};
    self->request(gate, 30s, submit_atom_v, std::move(sub))
      .receive(
        [&](task_id& id) {
          if (tracked) {
            std::lock_guard<std::mutex> lock(owners_mutex);
            owners[who->principal].ids.insert(id.value);
          }
          send_json(res, 201, json{{"id", id}});
        },
        [&](caf::error& err) { send_error(res, err); });
    if (tracked) {
      std::lock_guard<std::mutex> lock(owners_mutex);
      --owners[who->principal].in_flight;
    }
  });
  http->Get(R"(/v1/tasks/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    ask<task_record>(req, res, 30s, [&](task_record& r) { send_json(res, 200, json(r)); },
                     result_atom_v, task_id{req.matches[1]});
  });
  http->Get(R"(/v1/tasks/([^/]+)/wait)", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    auto secs = query_number(req, "timeout", 30, 3600);
    task_id id{req.matches[1]};
    auto who = authenticate(req, res);
    if (!who)
      return;
    auto gate = gate_for(*who);
    caf::scoped_actor self{sys};
    bool timed_out = false;
    self->request(gate, std::chrono::seconds(secs), wait_atom_v, id)
      .receive([&](task_record& r) { send_json(res, 200, json(r)); },
               [&](caf::error& err) {
                 if (err == caf::sec::request_timeout)
                   timed_out = true;
                 else
                   send_error(res, err);
               });
    if (timed_out) // not ended yet: 202 with the record as it is now
      self->request(gate, 30s, result_atom_v, id)
        .receive([&](task_record& r) { send_json(res, 202, json(r)); },
                 [&](caf::error& err) { send_error(res, err); });
  });
  http->Get("/v1/tasks", [this](const httplib::Request& req, httplib::Response& res) {
    task_filter filter;
    if (req.has_param("state"))
      filter.state = json(req.get_param_value("state")).get<task_state>();
    if (req.has_param("tag"))
      filter.tags = std::vector<std::string>{req.get_param_value("tag")};
    auto limit = query_number(req, "limit", 100, 1000);
    // One more than the page: whether there is a next page, without a second question.
    filter.limit = limit + 1;
    if (req.has_param("after"))
      filter.after = task_id{req.get_param_value("after")};
    ask<std::vector<task_record>>(
      req, res, 60s,
      [&](std::vector<task_record>& found) {
        json page = json::array();
        for (std::size_t i = 0; i < found.size() && i < limit; ++i)
          page.push_back(json(found[i]));
        json body{{"tasks", page}, {"next", nullptr}};
        if (found.size() > limit && !page.empty())
          body["next"] = page.back()["id"];
        send_json(res, 200, body);
      },
      list_atom_v, filter);
  });
  auto record_reply = [](httplib::Response& res) {
    return [&res](task_record& r) { send_json(res, 200, json(r)); };
  };
  http->Post(R"(/v1/tasks/([^/]+)/cancel)", [this, record_reply](const httplib::Request& req,
                                                httplib::Response& res) {
    ask<task_record>(req, res, 60s, record_reply(res), cancel_atom_v, task_id{req.matches[1]});
  });
  http->Post(R"(/v1/tasks/([^/]+)/approve)", [this, record_reply](const httplib::Request& req,
                                                 httplib::Response& res) {
    ask<task_record>(req, res, 30s, record_reply(res), approve_atom_v, task_id{req.matches[1]});
  });
  http->Post(R"(/v1/tasks/([^/]+)/reject)", [this, record_reply](const httplib::Request& req,
                                                httplib::Response& res) {
    auto body = parse_body(req);
    if (!body.contains("feedback") || !body["feedback"].is_string())
      throw std::invalid_argument("feedback: a string is required (what the next run is told)");
    ask<task_record>(req, res, 30s, record_reply(res), reject_atom_v, task_id{req.matches[1]},
                     body["feedback"].get<std::string>());
  });
  // Chains: the caller's own, each step a task through the caller's gate.
  http->Post("/v1/chains", [this](const httplib::Request& req, httplib::Response& res) {
    auto def = parse_body(req).get<chain_definition>();
    auto who = authenticate(req, res);
    if (!who)
      return;
    caf::scoped_actor self{sys};
    self->request(chains_for(*who), 30s, start_chain_atom_v, std::move(def))
      .receive([&](chain_id& id) { send_json(res, 201, json{{"id", id}}); },
               [&](caf::error& err) { send_error(res, err); });
  });
  http->Get(R"(/v1/chains/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    chain_id id{req.matches[1]};
    ask_chain<chain_record>(req, res, 30s, id,
                            [&](chain_record& c) { send_json(res, 200, json(c)); }, status_atom_v,
                            id);
  });
  http->Get(R"(/v1/chains/([^/]+)/wait)", [this](const httplib::Request& req,
                                                httplib::Response& res) {
    auto secs = query_number(req, "timeout", 30, 3600);
    chain_id id{req.matches[1]};
    auto who = authenticate(req, res);
    if (!who)
      return;
    auto chains = chains_holding(*who, id);
    caf::scoped_actor self{sys};
    bool timed_out = false;
    self->request(chains, std::chrono::seconds(secs), wait_atom_v, id)
      .receive([&](chain_record& c) { send_json(res, 200, json(c)); },
               [&](caf::error& err) {
                 if (err == caf::sec::request_timeout)
                   timed_out = true;
                 else
                   send_error(res, err);
               });
    if (timed_out) // still running: 202 with the chain as it is now
      self->request(chains, 30s, status_atom_v, id)
        .receive([&](chain_record& c) { send_json(res, 202, json(c)); },
                 [&](caf::error& err) { send_error(res, err); });
  });
  http->Post(R"(/v1/chains/([^/]+)/cancel)", [this](const httplib::Request& req,
                                                   httplib::Response& res) {
    chain_id id{req.matches[1]};
    ask_chain<chain_record>(req, res, 120s, id,
                            [&](chain_record& c) { send_json(res, 200, json(c)); }, cancel_atom_v,
                            id);
  });
  // Who the token is: the dashboard shows the admin's buttons only to the admin role.
  http->Get("/v1/whoami", [this](const httplib::Request& req, httplib::Response& res) {
    if (auto who = authenticate(req, res))
      send_json(res, 200, json{{"principal", who->principal},
                               {"role", who->role == node_role::admin ? "admin" : "submit"}});
  });
  http->Get("/v1/status", [this](const httplib::Request& req, httplib::Response& res) {
    ask<pool_status>(req, res, 30s, [&](pool_status& st) { send_json(res, 200, json(st)); },
                     status_atom_v);
  });
  http->Get("/v1/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    metrics_filter filter;
    if (req.has_param("since_ms"))
      filter.since_ms = query_number(req, "since_ms", 0, UINT64_MAX);
    if (req.has_param("until_ms"))
      filter.until_ms = query_number(req, "until_ms", 0, UINT64_MAX);
    if (req.has_param("model"))
      filter.model = req.get_param_value("model");
    if (req.has_param("tag"))
      filter.tags = std::vector<std::string>{req.get_param_value("tag")};
    ask<session_metrics>(req, res, 30s,
                         [&](session_metrics& m) { send_json(res, 200, json(m)); },
                         metrics_atom_v, filter);
  });
  http->Post("/v1/scale", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req);
    if (!body.contains("target") || !body["target"].is_number_unsigned())
      throw std::invalid_argument("target: a whole number of slots is required");
    bool force = body.value("force", false);
    ask<std::uint64_t>(req, res, 60s,
                       [&](std::uint64_t n) { send_json(res, 200, json{{"target_slots", n}}); },
                       set_target_atom_v, body["target"].get<std::uint64_t>(), force);
  });
  http->Post("/v1/drain", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req);
    std::uint64_t secs = body.value("timeout_secs", std::uint64_t{30});
    ask<drain_summary>(req, res, std::chrono::seconds(secs + 60),
                       [&](drain_summary& d) { send_json(res, 200, json(d)); }, drain_atom_v,
                       secs * 1000);
  });
  // The dashboard: a static page (it holds no secret; it asks for a token and calls the API
  // with it), so no token is needed to load it.
  http->Get("/", [](const httplib::Request&, httplib::Response& res) {
    auto page = dashboard_page();
    res.set_header("Cache-Control", "no-cache");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "img-src 'self' data:; connect-src 'self'");
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  });
  // The document of all of this; no token needed to read it.
  http->Get("/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, openapi_document());
  });
  // Server-Sent Events: task changes, live progress and pool events, numbered;
  // `Last-Event-ID` (or ?after=N) resumes after that event, else the stream starts with what
  // happens next. The admin role sees everything; a submit-role principal sees the changes
  // and progress of the tasks it submitted over HTTP (no pool events).
  http->Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate(req, res);
    if (!who)
      return;
    if (!opts.events) {
      send_error(res, 404, "invalid_request", "this node streams no events");
      return;
    }
    auto resume = req.get_header_value("Last-Event-ID");
    if (resume.empty() && req.has_param("after"))
      resume = req.get_param_value("after");
    auto cursor = std::make_shared<std::uint64_t>(
      resume.empty() ? opts.events->last_id() : query_number_text("Last-Event-ID", resume));
    auto feed = opts.events;
    std::optional<std::string> only; // the principal whose tasks it shows; unset: all
    if (who->role != node_role::admin)
      only = who->principal;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
      "text/event-stream", [this, feed, cursor, only](std::size_t, httplib::DataSink& sink) {
        bool lost = false;
        auto batch = feed->after(*cursor, std::chrono::seconds(15), lost);
        if (feed->closed() || !sink.is_writable())
          return false;
        std::string out;
        if (lost) // the client was away longer than the ring keeps events
          out += "event: events_lost\ndata: {}\n\n";
        bool held = false;
        for (auto& e : batch) {
          if (only) {
            auto verdict = shows(*only, e);
            if (verdict == visibility::later) {
              held = true; // an answer to its submission may still name this task
              break;
            }
            if (verdict == visibility::hidden) {
              *cursor = e.id;
              continue;
            }
          }
          out += "id: " + std::to_string(e.id) + "\nevent: " + e.kind + "\ndata: " + e.data
                 + "\n\n";
          *cursor = e.id;
        }
        if (out.empty() && !held)
          out += ": keep-alive\n\n";
        if (held)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return out.empty() || sink.write(out.data(), out.size());
      });
  });
  // Prometheus: the admin role (as the metrics of the CAF port), a bearer token in the
  // scrape config. Counters come from the collector, gauges from the status.
  http->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    auto who = authenticate_admin(req, res);
    if (!who)
      return;
    auto gate = gate_for(*who);
    caf::scoped_actor self{sys};
    self->request(gate, 30s, status_atom_v)
      .receive(
        [&](pool_status& st) {
          res.set_content(metrics->exposition(st), "text/plain; version=0.0.4; charset=utf-8");
        },
        [&](caf::error& err) { send_error(res, err); });
  });
}

server::server(caf::actor_system& sys, target what, options opts)
  : impl_(std::make_unique<impl>(sys, std::move(what), std::move(opts))) {
  auto& o = impl_->opts;
  if (!loopback(o.bind) && !o.allow_insecure && !o.tls.enabled())
    throw std::runtime_error("--http-bind " + o.bind
                             + ": another address than loopback needs TLS (--http-tls-cert and "
                               "--http-tls-key) or --allow-insecure");
  if (o.token_dir.empty() && !o.allow_insecure && o.tls.client_ca.empty())
    throw std::runtime_error("the HTTP API needs the node's token directory (or --allow-insecure)");
  impl_->http = o.tls.enabled() ? make_tls_server(o.tls) : std::make_unique<httplib::Server>();
  auto& http = *impl_->http;
  // Each event stream holds a worker while it is open.
  http.new_task_queue = [] { return new httplib::ThreadPool(64); };
  // Answers are small and clients keep connections open: without TCP_NODELAY, Nagle and the
  // client's delayed ACK hold each answer back ~40 ms.
  http.set_tcp_nodelay(true);
  http.set_payload_max_length(2 * impl_->what.config.remote.max_prompt_bytes + (1u << 20));
  impl_->routes();
  // Debian's cpp-httplib is a compiled library that listens with a backlog of 5: a burst of
  // clients overflows it and the kernel resets connections. Keep the listening socket (the
  // options hook sees it before bind) and listen again with a real backlog after the bind.
  auto listening = std::make_shared<int>(-1);
  http.set_socket_options([listening](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    *listening = sock;
  });
  int port = o.port == 0 ? http.bind_to_any_port(o.bind) : (http.bind_to_port(o.bind, o.port)
                                                               ? o.port
                                                               : -1);
  if (port <= 0)
    throw std::runtime_error("cannot listen for HTTP on " + o.bind + ":" + std::to_string(o.port));
  if (*listening >= 0)
    ::listen(*listening, 1024); // a second listen() only raises the backlog (Linux)
  impl_->bound = static_cast<std::uint16_t>(port);
  impl_->thread = std::thread([this] { impl_->http->listen_after_bind(); });
}

server::~server() {
  if (impl_->opts.events)
    impl_->opts.events->close(); // ends the event streams' waits
  impl_->http->stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

std::uint16_t server::port() const { return impl_->bound; }

const char* server::scheme() const { return impl_->opts.tls.enabled() ? "https" : "http"; }

} // namespace claude_pool::http_api
