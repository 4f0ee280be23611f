#include "program/node_commands.hpp"

#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/slot_host_actor.hpp"
#include "messages/json.hpp"
#include "program/metrics_table.hpp"
#include "program/signal_drain.hpp"
#include "runtime/cli/cli_executor.hpp"
#include "claude_pool/node.hpp"
#include "claude_pool/pool.hpp"
#include "claude_pool/remote_pool.hpp"
#include "http_api/event_feed.hpp"
#include "http_api/http_api_server.hpp"
#include "http_api/pool_watchers.hpp"
#include "http_api/prometheus_metrics.hpp"

namespace claude_pool::app {

namespace {

std::pair<std::string, std::uint16_t> endpoint(const std::string& text, const char* option) {
  try {
    return parse_endpoint(text);
  } catch (const std::invalid_argument& e) {
    throw usage_error(std::string(option) + ": " + e.what());
  }
}

void write_port_file(const std::string& path, std::uint16_t port) {
  if (path.empty())
    return;
  // Written whole under a temporary name and renamed: a reader never sees half a number.
  auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out)
      throw usage_error("--port-file: cannot write " + path);
    out << port << '\n';
  }
  std::rename(tmp.c_str(), path.c_str());
}

/// `submit --config FILE`: the task's TaskOverrides, checked as the library checks them.
task_overrides read_overrides(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw usage_error("--config: cannot read " + path);
  try {
    auto o = nlohmann::json::parse(in).get<task_overrides>();
    if (auto problem = validate(o); !problem.empty())
      throw usage_error("--config " + path + ": " + problem);
    return o;
  } catch (const nlohmann::json::exception& e) {
    throw usage_error("--config " + path + ": not a TaskOverrides JSON object (" + e.what() + ")");
  }
}

/// Waits for SIGINT or SIGTERM (blocked in every thread since main()).
int wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

/// True when SIGINT or SIGTERM is pending (takes it).
bool signal_pending() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec zero{0, 0};
  return sigtimedwait(&set, nullptr, &zero) > 0;
}

/// `serve --join`: this node contributes slots to another node's pool.
int serve_slots(const serve_options& opts, app_context& ctx, caf::actor_system& sys) {
  auto [host, port] = endpoint(opts.join, "--join");
  auto slots = opts.pool.slots.value_or(1);
  auto capacity = opts.max_slots.value_or(slots);
  if (capacity == 0)
    throw usage_error("--slots 0: a slot host without slots offers nothing; give --max-slots M "
                      "for room the pool's scaler may fill");
  if (capacity < slots)
    throw usage_error("--max-slots: " + std::to_string(capacity) + " is below --slots ("
                      + std::to_string(slots) + ")");
  auto pool = connect_pool(sys, host, port, node_credentials{opts.tls, client_token(opts.token_file)});
  std::string name = opts.name;
  if (name.empty()) {
    char buf[256] = {};
    ::gethostname(buf, sizeof(buf) - 1);
    name = std::string(buf) + "-" + std::to_string(::getpid());
  }
  std::mutex m;
  std::string ended_because;
  auto executor = std::make_shared<cli_executor>(ctx.config(), ctx.claude_bin());
  slot_host_deps deps;
  deps.pool = pool;
  deps.node = name;
  deps.slots = slots;
  deps.capacity = capacity;
  deps.executor = executor;
  deps.local = ctx.config();
  deps.on_end = [&m, &ended_because](const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(m);
      ended_because = why;
    }
    ::kill(::getpid(), SIGTERM); // wakes the main thread's sigwait
  };
  caf::scoped_actor self{sys};
  auto host_actor = sys.spawn(slot_host_behavior, std::move(deps));
  self->monitor(host_actor);
  std::cerr << "claude-pool: node " << name << " contributes " << slots << " slot"
            << (slots == 1 ? "" : "s")
            << (capacity > slots ? " (room for " + std::to_string(capacity - slots) + " more)"
                                 : std::string())
            << " to the pool at " << host << ":" << port
            << "; SIGTERM leaves gracefully\n";
  wait_for_signal();
  auto why = [&] {
    std::lock_guard<std::mutex> lock(m);
    return ended_because;
  };
  if (why().empty()) {
    // Leave: the pool routes nothing more here; running tasks get --drain-timeout, then
    // their processes are killed (the pool fails them as node_lost, or queues them again
    // when they have attempts left). A second signal kills them at once.
    auto grace = std::chrono::seconds(opts.pool.drain_timeout_secs);
    std::cerr << "claude-pool: leaving the pool (running tasks get up to "
              << opts.pool.drain_timeout_secs << " s; a second signal stops them now)\n";
    self->send(host_actor, leave_atom_v,
               static_cast<std::uint64_t>(
                 std::chrono::duration_cast<std::chrono::milliseconds>(grace).count()));
  }
  for (bool down = false; !down;) {
    self->receive([&](const caf::down_msg&) { down = true; },
                  caf::after(std::chrono::milliseconds(200)) >> [&] {
                    if (signal_pending() && why().empty())
                      self->send_exit(host_actor, caf::exit_reason::user_shutdown);
                  });
  }
  if (auto reason = why(); !reason.empty()) {
    std::cerr << "claude-pool: " << reason << '\n';
    return 1;
  }
  std::cerr << "claude-pool: node " << name << " left the pool\n";
  return 0;
}

/// `serve`: runs a pool and publishes it.
int serve_pool(const serve_options& opts, app_context& ctx, caf::actor_system& sys,
               bool coordinator) {
  auto cfg = ctx.config();
  if (coordinator) {
    cfg.initial_slots = 0;
    cfg.scaling.min_slots = 0;
  }
  auto pool_opts = ctx.pool_opts();
  http_api::watchers watching;
  if (opts.http_port) { // the event stream and /metrics hear the pool from its first event
    watching.events = std::make_shared<http_api::event_feed>();
    watching.metrics = std::make_shared<http_api::prometheus_metrics>();
    http_api::watch(pool_opts, watching);
  }
  claude_pool::pool p(sys, cfg, pool_opts);
  signal_drain on_signal(std::chrono::seconds(opts.pool.drain_timeout_secs));
  on_signal.watch(p);
  node_options node;
  node.bind = opts.bind;
  node.port = opts.port;
  node.allow_insecure = opts.allow_insecure;
  node.tls = opts.tls;
  node.token_dir = opts.token_dir;
  auto published = publish_pool(sys, p, node);
  auto port = published->port();
  write_port_file(opts.port_file, port);
  std::cerr << "claude-pool: serving a pool of " << cfg.initial_slots.value_or(cfg.scaling.min_slots)
            << " local slots on " << opts.bind << ":" << port
            << (opts.tls.enabled() ? " (mutual TLS)" : "") << "; SIGTERM drains and stops\n";
  if (!published->token_dir().empty())
    std::cerr << "claude-pool: clients present a token: " << published->token_dir()
              << "/admin.token (admin), " << published->token_dir()
              << "/submit.token (submit); give one with --token-file or CLAUDE_POOL_TOKEN_FILE\n";
  else if (opts.allow_insecure && !opts.tls.enabled())
    std::cerr << "claude-pool: WARNING: --allow-insecure: no credentials are asked; anyone who "
                 "can reach port "
              << port << " may submit work, scale, drain and read every task\n";
  std::unique_ptr<http_api::server> http;
  if (opts.http_port) {
    http_api::options ho;
    ho.bind = opts.http_bind;
    ho.port = *opts.http_port;
    ho.token_dir = published->token_dir();
    ho.allow_insecure = opts.allow_insecure;
    ho.events = watching.events;
    ho.metrics = watching.metrics;
    ho.tls = http_api::tls_files{opts.http_tls_cert, opts.http_tls_key, opts.http_tls_passphrase, {}};
    if (!ho.tls.enabled() && opts.tls.enabled()) // a TLS node: its files, clients by certificate
      ho.tls = http_api::tls_files{opts.tls.certificate, opts.tls.key, opts.tls.passphrase,
                                   opts.tls.cafile};
    try {
      http = std::make_unique<http_api::server>(
        sys, http_api::target{p.handle(), p.config(),
                              [&p](pool_event ev) { p.record_event(std::move(ev)); }},
        ho);
    } catch (const std::runtime_error& e) {
      throw usage_error(std::string("--http: ") + e.what());
    }
    write_port_file(opts.http_port_file, http->port());
    std::cerr << "claude-pool: HTTP API on " << http->scheme() << "://" << opts.http_bind << ":"
              << http->port()
              << "/v1/ (Prometheus: /metrics)\n";
  }
  on_signal.wait_until_drained();
  http.reset(); // no more requests into a pool that is going away
  auto st = p.status();
  std::cerr << "claude-pool: drained: " << st.completed << " completed, " << st.failed
            << " failed, " << st.cancelled << " cancelled\n";
  return 0;
}

void print_record(const task_record& rec, bool json) {
  if (json)
    std::cout << to_json_text(nlohmann::json(rec)) << '\n';
  else if (rec.result)
    (rec.state == task_state::completed ? std::cout : std::cerr) << rec.result->output << '\n';
}

int record_exit(const task_record& rec) {
  return rec.state == task_state::completed || rec.state == task_state::pending_review
             || rec.state == task_state::pending || rec.state == task_state::running
           ? 0
           : 1;
}

} // namespace

int serve_command(const serve_options& opts) {
  if (!opts.join.empty() && opts.port != 0)
    throw usage_error("--port: a slot host (--join) does not listen; it connects to the pool");
  // `serve --slots 0`: a coordinator that only routes to its slot hosts' slots, or with
  // --join a slot host that only offers room (--max-slots) for slots the pool places.
  auto pool_opts = opts.pool;
  bool zero_slots = pool_opts.slots && *pool_opts.slots == 0;
  bool coordinator = opts.join.empty() && zero_slots;
  if (zero_slots)
    pool_opts.slots.reset();
  app_context ctx(pool_opts);
  caf::actor_system_config cfg;
  configure_node(cfg, opts.tls);
  // See claude_pool/pool.cpp and pool_options::scheduler_threads: the sharing scheduler
  // sleeps while idle; one worker needs no thread woken per message.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  if (opts.scheduler_threads > 0)
    cfg.set("scheduler.max-threads", static_cast<caf::config_value::integer>(opts.scheduler_threads));
  caf::actor_system sys{cfg};
  return opts.join.empty() ? serve_pool(opts, ctx, sys, coordinator)
                           : serve_slots(opts, ctx, sys);
}

int client_command(const client_options& opts) {
  auto [host, port] = endpoint(opts.node, "--node");
  remote_pool pool(host, port, node_credentials{opts.tls, client_token(opts.token_file)});
  if (opts.action == "submit") {
    if (opts.argument.empty())
      throw usage_error("submit: the prompt is empty");
    task_submission sub{opts.argument, opts.tags, std::nullopt};
    if (!opts.overrides_file.empty())
      sub.config = read_overrides(opts.overrides_file);
    sub.review_required = opts.review;
    auto id = pool.submit(std::move(sub));
    if (!opts.wait) {
      if (opts.json)
        print_record(pool.result(id), true);
      else
        std::cout << id.value << '\n';
      return 0;
    }
    auto rec = pool.wait(id);
    print_record(rec, opts.json);
    return record_exit(rec);
  }
  if (opts.action == "result" || opts.action == "cancel" || opts.action == "wait") {
    task_id id{opts.argument};
    auto rec = opts.action == "result" ? pool.result(id)
               : opts.action == "cancel" ? pool.cancel(id)
                                         : pool.wait(id);
    print_record(rec, true);
    return opts.action == "cancel" ? 0 : record_exit(rec);
  }
  if (opts.action == "approve" || opts.action == "reject") {
    task_id id{opts.argument};
    if (opts.action == "reject" && opts.feedback.empty())
      throw usage_error("reject: --feedback must say what the next run should change");
    auto rec = opts.action == "approve" ? pool.approve(id) : pool.reject(id, opts.feedback);
    print_record(rec, true);
    return record_exit(rec);
  }
  if (opts.action == "list") {
    task_filter filter;
    if (!opts.state.empty()) {
      try {
        filter.state = nlohmann::json(opts.state).get<task_state>();
      } catch (const std::exception&) {
        throw usage_error("list: --state \"" + opts.state + "\" is not a task state (pending, "
                          "running, completed, failed, cancelled, pending_review)");
      }
    }
    if (!opts.tags.empty())
      filter.tags = opts.tags;
    filter.limit = opts.limit + 1; // one more: whether another page follows
    if (!opts.after.empty())
      filter.after = task_id{opts.after};
    auto page = pool.list(filter);
    for (std::size_t i = 0; i < page.size() && i < opts.limit; ++i)
      std::cout << to_json_text(nlohmann::json(page[i])) << '\n';
    if (page.size() > opts.limit)
      std::cerr << "next page: --after " << page[opts.limit - 1].id.value << '\n';
    return 0;
  }
  if (opts.action == "status") {
    auto st = pool.status();
    if (opts.json)
      std::cout << to_json_text(nlohmann::json(st)) << '\n';
    else
      print_status_table(std::cout, st);
    return 0;
  }
  if (opts.action == "metrics") {
    auto m = pool.metrics();
    if (opts.json)
      std::cout << to_json_text(nlohmann::json(m)) << '\n';
    else
      print_metrics_table(std::cout, m);
    return 0;
  }
  if (opts.action == "scale") {
    auto& n = opts.argument;
    if (n.empty() || n.size() > 9 || n.find_first_not_of("0123456789") != std::string::npos)
      throw usage_error("scale: the slot count must be a whole number, not \"" + n + "\"");
    auto target = pool.set_target(std::stoull(n), opts.force);
    std::cout << target << '\n';
    return 0;
  }
  if (opts.action == "drain") {
    auto sum = pool.drain(std::chrono::seconds(opts.drain_timeout_secs));
    std::cout << to_json_text(nlohmann::json(sum)) << '\n';
    return 0;
  }
  throw usage_error("unknown action " + opts.action);
}

} // namespace claude_pool::app
