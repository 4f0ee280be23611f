#pragma once
// Internal to the mock API: the directive language (see mock_api_server.hpp) and where in a
// Messages API request the user text lives.

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace claude_pool::mock_api::detail {

/// A tool call asked for by `[[mock:tool_use=NAME {json}]]`.
struct tool_call {
  std::string name;
  nlohmann::ordered_json input = nlohmann::ordered_json::object();  ///< key order kept
};

/// Everything the directives of one user text ask for.
struct directives {
  std::chrono::milliseconds delay{0};
  std::chrono::milliseconds chunk_delay{0};
  int status = 0;  ///< 0 = answer normally
  std::optional<int> status_times;  ///< the status only for the first N requests of this text
  std::optional<int> retry_after;  ///< seconds
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
  bool echo = false;
  std::optional<std::string> reply;
  std::optional<tool_call> tool_use;
  std::optional<nlohmann::ordered_json> structured;  ///< key order kept
  std::optional<std::int64_t> limit_until;  ///< Unix seconds: a usage limit holds until then
  std::string limit_claim = "five_hour";  ///< the limit `limit_until` and `warning` speak of
  std::optional<double> warning;  ///< utilization (0..1) reported as allowed_warning
  /// `limit_until`, `status` and `warning` apply only to this credential (fingerprint).
  std::optional<std::string> for_credential;
  std::vector<std::string> problems;  ///< unknown or malformed directives, for a 400
};

/// The directives found in `text`, and the text with them removed.
struct parsed_text {
  directives found;
  std::string stripped;
};

/// Reads every `[[mock:...]]` in `text`.
parsed_text parse_directives(std::string_view text);

/// At most `max_code_points` UTF-8 code points from the start of `text`.
std::string utf8_prefix(std::string_view text, std::size_t max_code_points);

/// Where the user's words are in a Messages API request body.
struct user_turn {
  /// Text of the latest user message that has any (text blocks joined by \n), less the
  /// blocks the CLI adds: `<system-reminder>`, and the record of a local command (/clear).
  std::string text;
  bool answers_tool = false;  ///< the last user message carries a tool_result
};

/// Finds the latest user text; tool_result blocks and system prompts are never included.
user_turn find_user_turn(const nlohmann::json& body);

/// All text of the system prompt (string or text blocks), joined by \n.
std::string system_text(const nlohmann::json& body);

}  // namespace claude_pool::mock_api::detail
