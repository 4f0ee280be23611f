#pragma once
/// What every pool-running subcommand of `claude-pool` shares: option values, config
/// loading, the choice of `claude` binary, and the embedded mock API used when no API key is
/// set.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "messages/config.hpp"
#include "claude_pool/pool.hpp"

namespace claude_pool::mock_api {
class server;
}

namespace claude_pool::http_api {
class webhook_sender;
}

namespace claude_pool::app {

/// A usage or configuration problem: printed, exit code 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Options shared by `run` and `batch`.
struct pool_options_cli {
  std::string config_file;
  std::optional<std::uint64_t> slots;
  std::string model;
  std::string claude_bin;
  std::optional<std::uint64_t> timeout_secs;
  std::string mock_mode = "auto"; ///< auto | on | off
  std::uint64_t drain_timeout_secs = 30; ///< grace for running tasks after SIGINT/SIGTERM
  std::optional<double> budget_usd;      ///< hard cap on spend (budget_microdollars)
  std::optional<double> reserve_usd;     ///< budget_default_reservation_microdollars
  bool quiet = false;                    ///< no event lines on stderr
  bool worktrees = false;                ///< worktree_isolation: slots and chains in git worktrees
  std::string store;                     ///< --store: the durable task store (SQLite file)
};

/// A pool configuration ready to run, plus the embedded mock API when one is in use.
class app_context {
public:
  explicit app_context(const pool_options_cli& opts);
  ~app_context();

  const pool_config& config() const { return cfg_; }
  /// The `claude` executable to use when the config names none.
  const std::string& claude_bin() const { return claude_bin_; }
  /// Facade options: the chosen `claude` binary, pool events (restarts, budget warnings,
  /// scaling) printed as lines on stderr unless `--quiet`, and the config's webhooks.
  pool_options pool_opts() const;

private:
  void start_mock();

  pool_config cfg_;
  std::string claude_bin_;
  /// Delivers `pool_config.webhooks` (outlives the pool: made before it, gone after it).
  std::shared_ptr<http_api::webhook_sender> webhooks_;
  std::unique_ptr<mock_api::server> mock_;
  std::string temp_home_;
  bool quiet_ = false;
};

/// Reads a `pool_config` JSON file; throws usage_error naming the file and field.
pool_config load_config_file(const std::string& path);

/// `--claude-bin`, else `$CLAUDE_POOL_CLAUDE_BIN`, else the config's `claude_bin`, else the
/// CLI that `scripts/setup` installed, else `claude` on PATH.
std::string choose_claude_bin(const std::string& flag, const pool_config& cfg);

} // namespace claude_pool::app
