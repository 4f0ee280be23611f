#pragma once
/// The surroundings of a real-CLI benchmark: the bundled mock of the Messages API on
/// 127.0.0.1, a temporary HOME (the CLI writes its sessions there, never into the user's),
/// and a `pool_config` that points the CLI at both. Every run in a benchmark — through the
/// pool or not — uses this one config, so argv and environment are identical.

#include <memory>
#include <string>

#include "benchmarks/common/temp_dir.hpp"
#include "messages/config.hpp"

namespace claude_pool::mock_api {
class server;
}

namespace claude_pool::bench {

class mock_cli_env {
public:
  /// Starts the mock and creates the HOME; throws std::runtime_error when either fails.
  explicit mock_cli_env(std::string claude_bin);
  /// Stops the mock; the HOME goes with everything the CLI wrote there.
  ~mock_cli_env();
  mock_cli_env(const mock_cli_env&) = delete;
  mock_cli_env& operator=(const mock_cli_env&) = delete;

  /// Ephemeral slots (each run starts a fresh session, as a bare CLI run does), working
  /// directory = HOME, and cli_env: ANTHROPIC_BASE_URL (the mock), ANTHROPIC_API_KEY, HOME,
  /// CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1.
  const pool_config& config() const { return cfg_; }
  const std::string& home() const { return home_.path(); }

private:
  temp_dir home_;
  std::unique_ptr<mock_api::server> mock_;
  pool_config cfg_;
};

} // namespace claude_pool::bench
