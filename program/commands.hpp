#pragma once
/// The subcommands of `claude-pool`. Each returns the process exit code: 0 when every task
/// succeeded, 1 when any failed, 2 on usage or configuration errors.

#include <cstdint>
#include <string>

#include "program/app_context.hpp"
#include "runtime/node/node_tls.hpp"

namespace claude_pool::app {

struct run_options {
  pool_options_cli pool;
  std::string prompt; ///< "-" reads the prompt from stdin
  bool json = false;
};

struct batch_options {
  pool_options_cli pool;
  std::string file; ///< "-" reads stdin
  bool progress = true;
  bool metrics = false;       ///< print the session metrics table on stderr at the end
  std::string metrics_json;   ///< write the session metrics as JSON to this file
  bool status = false;        ///< print the pool status table on stderr at the end
  std::string status_json;    ///< write the pool status as JSON to this file
  bool live = false;          ///< run every task with live progress, shown on stderr
};

struct chain_options {
  pool_options_cli pool;
  std::string file;      ///< the chain definition (JSON)
  bool json = false;     ///< print the chain record as JSON (else the final output)
  bool progress = true;  ///< live progress lines on stderr
  /// With --store: wait for a chain an earlier pool on the store left running (the pool
  /// resumes it at start) instead of starting one from a file.
  std::string resume;
  /// A served pool instead of a pool of this process: HOST:PORT and how to prove who we are.
  std::string node;
  std::string token_file;
  tls_options tls;
};

struct mock_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string log_path;
};

int run_command(const run_options& opts);
int batch_command(const batch_options& opts);
int chain_command(const chain_options& opts);
int mock_api_command(const mock_options& opts);

} // namespace claude_pool::app
