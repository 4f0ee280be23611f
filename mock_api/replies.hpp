#pragma once
// Internal to the mock API: what to answer to one Messages API request, and how to write it
// as plain JSON or as the Server-Sent Events the real API streams. Rendered JSON keeps the
// API's key order (type first), hence ordered_json.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace claude_pool::mock_api::detail {

/// One content block of an assistant message.
struct content_block {
  std::string type;  ///< "text" or "tool_use"
  std::string text;
  std::string tool_id;
  std::string tool_name;
  nlohmann::ordered_json tool_input;
};

/// The answer decided for one request.
struct planned_reply {
  int status = 200;
  nlohmann::ordered_json error_body;  ///< set when status != 200
  std::optional<int> retry_after;
  /// More response headers: the unified rate-limit headers of `limit_until` and `warning`.
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};
  std::chrono::milliseconds chunk_delay{0};
  std::string id;  ///< msg_...
  std::string model;
  std::vector<content_block> blocks;
  std::string stop_reason = "end_turn";
  std::int64_t input_tokens = 1;
  std::int64_t output_tokens = 1;
};

/// The name of the tool the CLI offers for `--json-schema`.
inline constexpr const char* structured_output_tool = "StructuredOutput";

/// True for the CLI's request asking for a short session title.
bool is_title_request(const nlohmann::json& body);

/// True when the request asks for a JSON answer with a "title" field (`output_config.format`).
bool asks_for_title_json(const nlohmann::json& body);

/// Counts a failure for `key` (the prompt without directives) and says whether it is still
/// within the first `times` ones: how `[[mock:status_times=N]]` fails only N times.
using failure_counter = std::function<bool(const std::string& key, int times)>;

/// Decides the answer to a `POST /v1/messages` body. `sequence` makes ids unique; `now_s`
/// (Unix seconds) is the server's clock, which `[[mock:limit_until=EPOCH]]` is judged by;
/// `credential` is the fingerprint of the key or token the request presented, which
/// `[[mock:for_credential=FP]]` is judged by.
planned_reply plan_reply(const nlohmann::json& body, const std::string& default_model,
                         std::uint64_t sequence, std::int64_t now_s,
                         const failure_counter& count_failure = {},
                         const std::string& credential = {});

/// Anthropic's error body for an HTTP status.
nlohmann::ordered_json error_body(int status, const std::string& message);

/// The reply as one plain JSON message object.
nlohmann::ordered_json render_message(const planned_reply& reply);

/// The reply as Server-Sent Events, one string per event ("event: ...\ndata: ...\n\n").
std::vector<std::string> render_events(const planned_reply& reply);

/// A plausible `POST /v1/messages/count_tokens` answer.
nlohmann::json count_tokens(const nlohmann::json& body);

}  // namespace claude_pool::mock_api::detail
