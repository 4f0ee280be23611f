#pragma once
/// The `claude` argv for one task. The prompt is never part of it: it goes to the child's
/// stdin, so its size, a leading `-`, quotes, `$(…)`, newlines and UTF-8 cannot matter.
/// Every value uses the `--flag=value` form, so no variadic option (`--allowedTools`,
/// `--mcp-config`) can swallow the next argument.

#include <optional>
#include <string>
#include <vector>

#include "runtime/cli/resolved_config.hpp"

namespace claude_pool {

/// How the CLI reports a run on stdout.
enum class cli_output {
  result_json,  ///< one JSON object at the end (`--output-format=json`)
  /// One JSON event per line, text deltas included (`--output-format=stream-json --verbose
  /// --include-partial-messages`), ending with a `result` event shaped like `result_json`'s
  /// object: for tasks whose progress is followed, and for warm processes.
  event_stream,
  /// The same events without the text deltas (`--output-format=stream-json --verbose`): what
  /// one-shot tasks run with, so that the pool sees the CLI's retry notices and usage-window
  /// events, and a stalled stream, at a line per message rather than per token.
  events,
};

/// Arguments after the executable: `-p --output-format=json …` (or the event stream's flags).
std::vector<std::string> build_cli_args(const resolved_config& cfg,
                                        const std::optional<std::string>& resume_session,
                                        cli_output output = cli_output::result_json);

/// The text for `--append-system-prompt`: the configured system prompt plus the slot's
/// identity (name, role, description); std::nullopt when there is neither.
std::optional<std::string> appended_system_prompt(const resolved_config& cfg);

/// A readable command line for failure reports (`TaskResult.failed_command`). Arguments are
/// quoted for reading, not for a shell; long values are shortened; the prompt is not there.
std::string describe_command(const std::string& executable, const std::vector<std::string>& args);

/// Dollars as the CLI reads them, without float noise (0.25 → "0.25").
std::string format_usd(double usd);

} // namespace claude_pool
