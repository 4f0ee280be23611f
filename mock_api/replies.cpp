#include "mock_api/replies.hpp"

#include "mock_api/directives.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace claude_pool::mock_api::detail {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr std::size_t delta_bytes = 48;  // bytes per text_delta / input_json_delta

std::int64_t quarter(std::size_t bytes) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(bytes / 4));
}

// Splits at UTF-8 code point boundaries into pieces of about `size` bytes.
std::vector<std::string> split_utf8(const std::string& text, std::size_t size) {
  std::vector<std::string> pieces;
  std::size_t begin = 0;
  while (begin < text.size()) {
    auto end = std::min(text.size(), begin + size);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    pieces.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  return pieces;
}

std::string error_type(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string error_message(int status) {
  switch (status) {
    case 401: return "invalid x-api-key";
    case 403: return "Your API key does not have permission to use the specified resource.";
    case 404: return "Not found";
    case 413: return "Request exceeds the maximum allowed number of bytes.";
    case 429: return "Number of request tokens has exceeded your per-minute rate limit";
    case 529: return "Overloaded";
    default: return status >= 500 ? "Internal server error" : "Invalid request";
  }
}

bool offers_tool(const json& body, const std::string& name) {
  if (!body.contains("tools") || !body["tools"].is_array()) return false;
  return std::any_of(body["tools"].begin(), body["tools"].end(), [&](const json& tool) {
    return tool.is_object() && tool.value("name", std::string{}) == name;
  });
}

content_block text_block(std::string text) {
  content_block block;
  block.type = "text";
  block.text = std::move(text);
  return block;
}

content_block tool_block(std::string id, std::string name, ojson input) {
  content_block block;
  block.type = "tool_use";
  block.tool_id = std::move(id);
  block.tool_name = std::move(name);
  block.tool_input = std::move(input);
  return block;
}

// The model's words for a turn that makes no tool call.
std::string reply_text(const user_turn& turn, const parsed_text& parsed) {
  const auto& d = parsed.found;
  if (d.reply) return *d.reply;
  if (turn.answers_tool) return "Done.";
  if (d.echo) return turn.text;
  return "Answer: " + utf8_prefix(parsed.stripped, 200);
}

// A short title from the prompt inside <session>...</session> (or the whole user text).
std::string title_for(const std::string& text) {
  auto begin = text.find("<session>");
  auto end = text.find("</session>");
  std::string inner = text;
  if (begin != std::string::npos && end != std::string::npos && end > begin)
    inner = text.substr(begin + 9, end - begin - 9);
  auto words = parse_directives(inner).stripped;
  std::replace(words.begin(), words.end(), '\n', ' ');
  auto title = utf8_prefix(words, 40);
  return title.empty() ? "Mock session" : title;
}

// ---- subscription usage limits, as the API's unified rate-limit headers say them ----------

using header_list = std::vector<std::pair<std::string, std::string>>;

constexpr const char* unified = "anthropic-ratelimit-unified-";
constexpr std::int64_t hour_s = 3600;

// The per-window header infix of a claim. The CLI reads only the 5h, 7d, 7d_oi and overage
// windows; the Opus and Sonnet limits are weekly, so they speak through 7d.
std::string window_of(const std::string& claim) { return claim == "five_hour" ? "5h" : "7d"; }

std::int64_t window_seconds(const std::string& claim) {
  return claim == "five_hour" ? 5 * hour_s : 7 * 24 * hour_s;
}

// A fraction as a header value: `0.95`, `0.9`.
std::string decimal(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// The 429 of a subscription whose window is used up until `until`: the CLI shows "You've hit
// your session limit · resets <time>" only when the representative claim is present.
header_list rejected_headers(const std::string& claim, std::int64_t until) {
  const auto window = std::string{unified} + window_of(claim);
  return {{std::string{unified} + "status", "rejected"},
          {std::string{unified} + "reset", std::to_string(until)},
          {std::string{unified} + "representative-claim", claim},
          {window + "-utilization", "1.0"},
          {window + "-reset", std::to_string(until)}};
}

// A 200 once the limit has lifted: a fresh window, which resets one window length from now.
header_list allowed_headers(const std::string& claim, std::int64_t now_s) {
  return {{std::string{unified} + "status", "allowed"},
          {std::string{unified} + "reset", std::to_string(now_s + window_seconds(claim))}};
}

// A 200 near the limit. The CLI keeps `allowed_warning` only with a surpassed-threshold
// header (or utilization and elapsed time past its own thresholds), so one is always sent;
// a threshold cannot exceed the utilization that surpassed it.
header_list warning_headers(const std::string& claim, double utilization, std::int64_t now_s) {
  const auto window = std::string{unified} + window_of(claim);
  const auto reset = std::to_string(now_s + hour_s);
  return {{std::string{unified} + "status", "allowed_warning"},
          {std::string{unified} + "reset", reset},
          {std::string{unified} + "representative-claim", claim},
          {window + "-utilization", decimal(utilization)},
          {window + "-surpassed-threshold", decimal(std::min(0.9, utilization))},
          {window + "-reset", reset}};
}

// A 429 for a request made while its usage limit holds.
planned_reply& reject_for_limit(planned_reply& reply, const directives& d) {
  reply.status = 429;
  reply.error_body = error_body(429, "mock API: " + d.limit_claim +
                                         " usage limit reached, resets at " +
                                         std::to_string(*d.limit_until));
  reply.retry_after = d.retry_after;
  reply.headers = rejected_headers(d.limit_claim, *d.limit_until);
  return reply;
}

}  // namespace

bool asks_for_title_json(const json& body) {
  if (!body.is_object()) return false;
  const auto format = body.value("/output_config/format"_json_pointer, json{});
  return format.is_object() && format.contains("schema") && format["schema"].is_object() &&
         format["schema"].contains("properties") &&
         format["schema"]["properties"].is_object() &&
         format["schema"]["properties"].contains("title");
}

// The CLI's title request: its user text opens with "<session>" (the prompt as data) and it
// asks for a JSON object with a "title" field (or, failing that, its system prompt says
// "title"). Ordinary requests put a <system-reminder> block before the prompt instead.
bool is_title_request(const json& body) {
  if (!body.is_object()) return false;
  const auto text = find_user_turn(body).text;
  if (text.compare(0, 9, "<session>") != 0) return false;
  return asks_for_title_json(body) || system_text(body).find("title") != std::string::npos;
}

ojson error_body(int status, const std::string& message) {
  return {{"type", "error"},
          {"error", {{"type", error_type(status)}, {"message", message}}}};
}

planned_reply plan_reply(const json& body, const std::string& default_model,
                         std::uint64_t sequence, std::int64_t now_s,
                         const failure_counter& count_failure, const std::string& credential) {
  planned_reply reply;
  reply.id = "msg_mock" + std::to_string(sequence);
  reply.model = body.is_object() && body.contains("model") && body["model"].is_string()
                    ? body["model"].get<std::string>()
                    : default_model;
  const auto turn = find_user_turn(body);
  if (is_title_request(body)) {
    auto title = title_for(turn.text);
    reply.blocks.push_back(
        text_block(asks_for_title_json(body) ? ojson{{"title", title}}.dump() : title));
    reply.input_tokens = quarter(turn.text.size());
    reply.output_tokens = quarter(reply.blocks.back().text.size());
    return reply;
  }
  const auto parsed = parse_directives(turn.text);
  auto d = parsed.found;
  if (d.for_credential && *d.for_credential != credential) {
    // Meant for another login: this one is not limited, not failed, not warned.
    d.limit_until.reset();
    d.status = 0;
    d.warning.reset();
  }
  reply.delay = d.delay;
  reply.chunk_delay = d.chunk_delay;
  if (!d.problems.empty()) {
    std::string message = "mock API: ";
    for (std::size_t i = 0; i < d.problems.size(); ++i)
      message += (i ? "; " : "") + d.problems[i];
    reply.status = 400;
    reply.error_body = error_body(400, message);
    return reply;
  }
  // A used-up window rejects everything, whatever else the prompt asks for.
  if (d.limit_until && now_s < *d.limit_until) return reject_for_limit(reply, d);
  const bool fails = d.status != 0 && d.status != 200
                     && (!d.status_times || !count_failure
                         || count_failure(parsed.stripped, *d.status_times));
  if (fails) {
    reply.status = d.status;
    reply.error_body = error_body(d.status, error_message(d.status));
    reply.retry_after = d.retry_after;
    return reply;
  }
  if (d.warning)
    reply.headers = warning_headers(d.limit_claim, *d.warning, now_s);
  else if (d.limit_until)
    reply.headers = allowed_headers(d.limit_claim, now_s);
  const auto tool_id = "toolu_mock" + std::to_string(sequence);
  if (!turn.answers_tool && d.tool_use) {
    reply.blocks.push_back(tool_block(tool_id, d.tool_use->name, d.tool_use->input));
  } else if (!turn.answers_tool && d.structured && offers_tool(body, structured_output_tool)) {
    reply.blocks.push_back(tool_block(tool_id, structured_output_tool, *d.structured));
  } else {
    reply.blocks.push_back(text_block(reply_text(turn, parsed)));
  }
  std::size_t reply_bytes = 0;
  for (const auto& block : reply.blocks) {
    if (block.type == "tool_use") {
      reply.stop_reason = "tool_use";
      reply_bytes += block.tool_input.dump().size();
    } else {
      reply_bytes += block.text.size();
    }
  }
  reply.input_tokens = d.input_tokens.value_or(quarter(turn.text.size()));
  reply.output_tokens = d.output_tokens.value_or(quarter(reply_bytes));
  return reply;
}

namespace {

ojson usage_json(std::int64_t input, std::int64_t output) {
  return {{"input_tokens", input},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", 0},
          {"output_tokens", output},
          {"service_tier", "standard"}};
}

ojson block_json(const content_block& block, bool with_content) {
  if (block.type == "tool_use")
    return {{"type", "tool_use"},
            {"id", block.tool_id},
            {"name", block.tool_name},
            {"input", with_content ? block.tool_input : ojson::object()}};
  return {{"type", "text"}, {"text", with_content ? block.text : std::string{}}};
}

std::string event(const std::string& name, const ojson& data) {
  return "event: " + name + "\ndata: " + data.dump() + "\n\n";
}

}  // namespace

ojson render_message(const planned_reply& reply) {
  ojson content = ojson::array();
  for (const auto& block : reply.blocks) content.push_back(block_json(block, true));
  return {{"id", reply.id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", reply.model},
          {"content", std::move(content)},
          {"stop_reason", reply.stop_reason},
          {"stop_sequence", nullptr},
          {"usage", usage_json(reply.input_tokens, reply.output_tokens)}};
}

std::vector<std::string> render_events(const planned_reply& reply) {
  std::vector<std::string> events;
  ojson start = render_message(reply);
  start["content"] = ojson::array();
  start["stop_reason"] = nullptr;
  start["usage"] = usage_json(reply.input_tokens, 1);
  events.push_back(event("message_start", {{"type", "message_start"}, {"message", start}}));
  events.push_back(event("ping", {{"type", "ping"}}));
  for (std::size_t index = 0; index < reply.blocks.size(); ++index) {
    const auto& block = reply.blocks[index];
    events.push_back(event("content_block_start", {{"type", "content_block_start"},
                                                   {"index", index},
                                                   {"content_block", block_json(block, false)}}));
    const bool is_tool = block.type == "tool_use";
    const auto whole = is_tool ? block.tool_input.dump() : block.text;
    for (const auto& piece : split_utf8(whole, delta_bytes)) {
      ojson delta = is_tool ? ojson{{"type", "input_json_delta"}, {"partial_json", piece}}
                            : ojson{{"type", "text_delta"}, {"text", piece}};
      events.push_back(event("content_block_delta", {{"type", "content_block_delta"},
                                                     {"index", index},
                                                     {"delta", std::move(delta)}}));
    }
    events.push_back(
        event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
  }
  events.push_back(event(
      "message_delta",
      {{"type", "message_delta"},
       {"delta", {{"stop_reason", reply.stop_reason}, {"stop_sequence", nullptr}}},
       {"usage", {{"input_tokens", reply.input_tokens},
                  {"cache_creation_input_tokens", 0},
                  {"cache_read_input_tokens", 0},
                  {"output_tokens", reply.output_tokens}}}}));
  events.push_back(event("message_stop", {{"type", "message_stop"}}));
  return events;
}

json count_tokens(const json& body) {
  std::size_t bytes = system_text(body).size();
  if (body.is_object() && body.contains("messages") && body["messages"].is_array())
    for (const auto& message : body["messages"])
      if (message.is_object() && message.contains("content"))
        bytes += message["content"].is_string() ? message["content"].get<std::string>().size()
                                                : message["content"].dump().size();
  if (body.is_object() && body.contains("tools")) bytes += body["tools"].dump().size();
  return {{"input_tokens", quarter(bytes)}};
}

}  // namespace claude_pool::mock_api::detail
