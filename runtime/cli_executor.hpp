#pragma once
/// The real executor: builds the argv, runs `claude` through the process runner with the
/// prompt on stdin, and parses its JSON result.

#include <memory>
#include <string>

#include "messages/config.hpp"
#include "runtime/task_executor.hpp"

namespace claude_pool {

namespace runtime {
class process_runner;
}

class cli_executor : public task_executor {
public:
  /// Process settings come from the pool config: `claude_bin`, `working_dir`,
  /// `task_timeout_secs`, `cli_env`, `cli_max_retries`, `max_output_bytes`,
  /// `detect_permission_prompts`. `default_claude_bin` is used when `claude_bin` is unset.
  cli_executor(const pool_config& cfg, std::string default_claude_bin);
  ~cli_executor() override;

  std::uint64_t start(execution_request req, completion done) override;
  void cancel(std::uint64_t execution) override;

  /// The executable this executor runs.
  const std::string& claude_bin() const { return claude_bin_; }

private:
  std::string claude_bin_;
  pool_config cfg_;
  std::unique_ptr<runtime::process_runner> runner_;
};

/// The environment variables the pool removes from every CLI child: set by an outer Claude
/// Code session, they would make the child believe it is nested inside one.
extern const char* const stripped_cli_env[2];

} // namespace claude_pool
