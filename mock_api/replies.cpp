#include "mock_api/replies.hpp"

#include "mock_api/directives.hpp"

#include <algorithm>

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
                         std::uint64_t sequence, const failure_counter& count_failure) {
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
  const auto& d = parsed.found;
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
  const bool fails = d.status != 0 && d.status != 200
                     && (!d.status_times || !count_failure
                         || count_failure(parsed.stripped, *d.status_times));
  if (fails) {
    reply.status = d.status;
    reply.error_body = error_body(d.status, error_message(d.status));
    reply.retry_after = d.retry_after;
    return reply;
  }
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
