#pragma once
/// Turns one finished CLI process into a `task_result`. `is_error: true` is a failure even
/// when `subtype` says success; a non-zero exit, empty or unparsable stdout, a missing
/// binary, a spawn failure, a timeout and a cancel each become a failed result carrying the
/// command (the prompt is on stdin, never in it), the exit code and the stderr (capped).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "messages/records.hpp"
#include "runtime/process/process_runner.hpp"

namespace claude_pool {

/// What the parser needs to know besides the process's outcome.
struct cli_run_context {
  std::string command;               ///< from describe_command()
  bool detect_permission_prompts = true;
  bool wants_structured_output = false;
  std::optional<double> max_budget_usd;
  std::uint64_t timeout_secs = 0;    ///< for the timeout message
  /// stdout is a stream-json event stream (cli_output::event_stream): its last `result`
  /// event is read like the one JSON object of `--output-format=json`; without one, the run
  /// fails just as a JSON run without its object, described by the stream's last line.
  bool event_stream = false;
};

/// Bytes of stderr kept in a failed result.
constexpr std::size_t result_stderr_limit = 8 * 1024;

task_result interpret_cli_run(const runtime::process_outcome& run, const cli_run_context& ctx);

/// Dollars → microdollars, rounded to nearest (0.0000015 → 2), never truncated.
std::uint64_t usd_to_microdollars(double usd);

/// A sentence describing a permission prompt found in the CLI's text, or std::nullopt.
/// Matches the CLI's own phrasing ("requested permissions to use", "haven't granted it
/// yet", …), not ordinary words such as "Permission denied".
std::optional<std::string> find_permission_prompt(std::string_view text);

/// `claude-opus-4-8[1m]` → `claude-opus-4-8`: the bracket is a context-window tag.
std::string model_name_of(std::string_view usage_key);

} // namespace claude_pool
