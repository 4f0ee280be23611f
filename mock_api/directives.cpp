#include "mock_api/directives.hpp"

#include <charconv>
#include <string_view>

namespace claude_pool::mock_api::detail {
namespace {

constexpr std::string_view opener = "[[mock:";
constexpr std::string_view closer = "]]";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> to_integer(std::string_view s) {
  s = trim(s);
  std::int64_t value = 0;
  const auto* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc{} || ptr != end || value < 0) return std::nullopt;
  return value;
}

std::optional<nlohmann::ordered_json> to_json(std::string_view s) {
  auto parsed = nlohmann::ordered_json::parse(s.begin(), s.end(), nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

// `NAME`, `NAME {json}` or `NAME:{json}`.
std::optional<tool_call> to_tool_call(std::string_view s) {
  s = trim(s);
  std::size_t i = 0;
  while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != ':' &&
         s[i] != '{')
    ++i;
  if (i == 0) return std::nullopt;
  tool_call call{std::string{s.substr(0, i)}};
  auto rest = trim(s.substr(i));
  if (!rest.empty() && rest.front() == ':') rest = trim(rest.substr(1));
  if (rest.empty()) return call;
  auto input = to_json(rest);
  if (!input || !input->is_object()) return std::nullopt;
  call.input = std::move(*input);
  return call;
}

// A decimal number (`0.95`, `1`) within [0, 1].
std::optional<double> to_fraction(std::string_view s) {
  s = trim(s);
  double value = 0;
  const auto* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc{} || ptr != end || !(value >= 0 && value <= 1))
    return std::nullopt;
  return value;
}

// The claims the API names in `anthropic-ratelimit-unified-representative-claim` for a
// subscription's own windows (the CLI also knows overage claims, which the mock lacks).
bool is_known_claim(std::string_view claim) {
  for (const char* known : {"five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet"})
    if (claim == known) return true;
  return false;
}

bool takes_json(std::string_view name) { return name == "structured" || name == "tool_use"; }

// Applies one directive; false if its value is malformed.
bool apply(std::string_view name, std::optional<std::string_view> value, directives& d) {
  using std::chrono::milliseconds;
  const auto integer = [&]() { return value ? to_integer(*value) : std::nullopt; };
  if (name == "echo") {
    d.echo = true;
    return !value;
  }
  if (name == "delay_ms" || name == "chunk_delay_ms") {
    auto ms = integer();
    if (!ms) return false;
    (name == "delay_ms" ? d.delay : d.chunk_delay) = milliseconds{*ms};
    return true;
  }
  if (name == "status") {
    auto code = integer();
    if (!code || *code < 100 || *code > 599) return false;
    d.status = static_cast<int>(*code);
    return true;
  }
  if (name == "status_times") {
    auto n = integer();
    if (!n || *n < 0 || *n > 1000000) return false;
    d.status_times = static_cast<int>(*n);
    return true;
  }
  if (name == "retry_after") {
    auto seconds = integer();
    if (!seconds || *seconds > 86400) return false;
    d.retry_after = static_cast<int>(*seconds);
    return true;
  }
  if (name == "usage") {
    if (!value) return false;
    auto slash = value->find('/');
    if (slash == std::string_view::npos) return false;
    auto in = to_integer(value->substr(0, slash));
    auto out = to_integer(value->substr(slash + 1));
    if (!in || !out) return false;
    d.input_tokens = *in;
    d.output_tokens = *out;
    return true;
  }
  if (name == "reply") {
    if (!value) return false;
    d.reply = std::string{*value};
    return true;
  }
  if (name == "tool_use") {
    auto call = value ? to_tool_call(*value) : std::nullopt;
    if (!call) return false;
    d.tool_use = std::move(*call);
    return true;
  }
  if (name == "structured") {
    auto parsed = value ? to_json(*value) : std::nullopt;
    if (!parsed || !parsed->is_object()) return false;
    d.structured = std::move(*parsed);
    return true;
  }
  if (name == "limit_until") {
    auto epoch = integer();
    if (!epoch) return false;
    d.limit_until = *epoch;
    return true;
  }
  if (name == "limit_claim") {
    if (!value) return false;
    const auto claim = std::string{trim(*value)};
    if (!is_known_claim(claim))
      d.problems.push_back("unknown claim '" + claim + "' in [[mock:limit_claim=" + claim +
                           "]] (five_hour, seven_day, seven_day_opus or seven_day_sonnet)");
    d.limit_claim = claim;
    return true;
  }
  if (name == "for_credential") {
    if (!value || trim(*value).empty()) return false;
    d.for_credential = std::string{trim(*value)};
    return true;
  }
  if (name == "warning") {
    auto utilization = value ? to_fraction(*value) : std::nullopt;
    if (!utilization) return false;
    d.warning = *utilization;
    return true;
  }
  d.problems.push_back("unknown directive [[mock:" + std::string{name} + "]]");
  return true;
}

// The end (index of "]]") of a directive value starting at `from`. A JSON value may hold
// "]]" itself, so for those the first closer after which the value parses wins.
std::size_t value_end(std::string_view text, std::size_t from, std::string_view name) {
  auto close = text.find(closer, from);
  if (!takes_json(name)) return close;
  for (auto c = close; c != std::string_view::npos; c = text.find(closer, c + 1)) {
    auto candidate = text.substr(from, c - from);
    if (name == "structured" ? to_json(candidate).has_value()
                             : to_tool_call(candidate).has_value())
      return c;
  }
  return close;  // nothing parses: report the shortest value as malformed
}

}  // namespace

parsed_text parse_directives(std::string_view text) {
  parsed_text out;
  std::size_t pos = 0;
  for (auto start = text.find(opener); start != std::string_view::npos;
       start = text.find(opener, pos)) {
    out.stripped.append(text.substr(pos, start - pos));
    auto name_begin = start + opener.size();
    auto i = name_begin;
    while (i < text.size() && is_name_char(text[i])) ++i;
    auto name = text.substr(name_begin, i - name_begin);
    std::optional<std::string_view> value;
    std::size_t end = std::string_view::npos;
    if (text.compare(i, closer.size(), closer) == 0) {
      end = i + closer.size();
    } else if (i < text.size() && text[i] == '=') {
      auto close = value_end(text, i + 1, name);
      if (close != std::string_view::npos) {
        value = text.substr(i + 1, close - i - 1);
        end = close + closer.size();
      }
    }
    if (end == std::string_view::npos || name.empty()) {
      auto shown = utf8_prefix(text.substr(start), 40);
      out.found.problems.push_back("malformed directive near '" + shown + "'");
      out.stripped.append(opener);
      pos = name_begin;
      continue;
    }
    if (!apply(name, value, out.found))
      out.found.problems.push_back("malformed directive [[mock:" +
                                   std::string{text.substr(name_begin, end - name_begin)});
    pos = end;
  }
  out.stripped.append(text.substr(pos));
  out.stripped = std::string{trim(out.stripped)};
  return out;
}

std::string utf8_prefix(std::string_view text, std::size_t max_code_points) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) != 0x80 && count++ == max_code_points) return std::string{text.substr(0, i)};
  }
  return std::string{text};
}

namespace {

// Text blocks of one message's content, joined by \n; notes tool_result blocks.
std::string content_text(const nlohmann::json& content, bool& has_tool_result) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  bool first = true;
  for (const auto& block : content) {
    if (!block.is_object()) continue;
    const auto type = block.value("type", std::string{});
    if (type == "tool_result") has_tool_result = true;
    if (type != "text" || !block.contains("text") || !block["text"].is_string()) continue;
    // Context the CLI adds to a user message is not the user's text: reminders, and the
    // record of a local command such as /clear (caveat, command name, its output).
    const auto& t = block["text"].get_ref<const std::string&>();
    bool added = false;
    for (const char* tag : {"<system-reminder>", "<local-command-caveat>", "<command-name>",
                            "<local-command-stdout>"})
      added = added || t.rfind(tag, 0) == 0;
    if (added) continue;
    if (!first) text += '\n';
    text += block["text"].get<std::string>();
    first = false;
  }
  return text;
}

}  // namespace

user_turn find_user_turn(const nlohmann::json& body) {
  user_turn turn;
  if (!body.is_object() || !body.contains("messages") || !body["messages"].is_array())
    return turn;
  const auto& messages = body["messages"];
  bool last_user = true;
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (!it->is_object() || it->value("role", std::string{}) != "user" ||
        !it->contains("content"))
      continue;
    bool has_tool_result = false;
    auto text = content_text((*it)["content"], has_tool_result);
    if (last_user) turn.answers_tool = has_tool_result;
    last_user = false;
    if (!text.empty()) {
      turn.text = std::move(text);
      break;
    }
  }
  return turn;
}

std::string system_text(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("system")) return {};
  bool ignored = false;
  return content_text(body["system"], ignored);
}

}  // namespace claude_pool::mock_api::detail
