#pragma once
/// The cluster subcommands: `serve` (publish a pool, or contribute slots to one with
/// `--join`) and the thin clients `submit`, `status`, `metrics`, `result`, `wait`,
/// `cancel`, `drain` with `--node HOST:PORT`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "program/app_context.hpp"
#include "runtime/node/node_tls.hpp"

namespace claude_pool::app {

struct serve_options {
  pool_options_cli pool;
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;
  bool allow_insecure = false;
  tls_options tls;
  std::string join;      ///< HOST:PORT of the pool to contribute slots to
  std::string name;      ///< this slot host's name (default: hostname-pid)
  /// With --join: the most slots this host runs, counting the ones the pool's scaler places
  /// here (default: --slots, i.e. no room for more).
  std::optional<std::uint64_t> max_slots;
  std::string port_file; ///< write the port listened on here (useful with --port 0)
  std::string token_dir;  ///< the node's token files (see node_options::token_dir)
  std::string token_file; ///< with --join: the pool node's admin token
  /// The HTTP/JSON API (http_api/): its port (unset: none, 0 picks one), address and port file.
  std::optional<std::uint16_t> http_port;
  std::string http_bind = "127.0.0.1";
  std::string http_port_file;
  /// HTTPS for the HTTP API (server certificate and key); a TLS node without them serves
  /// HTTPS with its own files and authenticates clients by certificate.
  std::string http_tls_cert;
  std::string http_tls_key;
  std::string http_tls_passphrase;
  /// The actor system's worker threads (see pool_options::scheduler_threads); 0: one per core.
  std::size_t scheduler_threads = 1;
};

struct client_options {
  std::string action;   ///< submit, result, wait, cancel, approve, reject, status, metrics,
                        ///< drain, scale
  std::string node;     ///< HOST:PORT
  tls_options tls;
  std::string argument; ///< the prompt (submit) or the task id
  std::vector<std::string> tags;
  bool wait = false;    ///< submit: wait for the end and print the output
  bool json = false;
  std::uint64_t drain_timeout_secs = 30;
  bool force = false;   ///< scale: cancel the tasks of busy slots chosen for removal
  bool review = false;  ///< submit: the task ends pending_review until approved or rejected
  std::string feedback; ///< reject: what the task's next run is told
  std::string token_file;     ///< the node's token for this client
  std::string overrides_file; ///< submit: a TaskOverrides JSON file
  // list: a page of the task list (see task_filter)
  std::string state;          ///< only tasks in this state
  std::uint64_t limit = 100;  ///< at most this many
  std::string after;          ///< the cursor: the previous page's last id
};

int serve_command(const serve_options& opts);
int client_command(const client_options& opts);

} // namespace claude_pool::app
