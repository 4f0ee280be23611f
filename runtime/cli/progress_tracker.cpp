#include "runtime/cli/progress_tracker.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "runtime/cli/cli_result.hpp"

// What the pinned CLI (2.1.197) prints with `--include-partial-messages`, per API message:
//   stream_event message_start      (message id, model, usage with output_tokens 1)
//   stream_event content_block_*    (text_delta / input_json_delta pieces)
//   assistant                       (one per content block, same message id, usage still
//                                    the message_start figures)
//   stream_event message_delta      (the message's final usage)
// then `user` (tool results), and finally one `result`. Failed API calls and `/clear` show
// up as `assistant` events whose model is "<synthetic>": not a model turn, no tokens.

namespace claude_pool {

using nlohmann::json;

namespace {

const json& member(const json& j, const char* key) {
  static const json null_json;
  if (!j.is_object())
    return null_json;
  auto it = j.find(key);
  return it == j.end() ? null_json : *it;
}

std::string text_of(const json& j, const char* key) {
  auto& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

/// Lines the tracker never needs (tool results can be large): skipped without parsing. The
/// CLI writes `type` first; a line written otherwise is simply parsed.
bool skippable(std::string_view line) {
  for (std::string_view prefix : {R"({"type":"user")", R"({"type":"system")"})
    if (line.substr(0, prefix.size()) == prefix)
      return true;
  return false;
}

} // namespace

token_prices list_prices(std::string_view model) {
  if (model.find("haiku") != std::string_view::npos)
    return {1, 5};
  if (model.find("sonnet") != std::string_view::npos)
    return {3, 15};
  return {5, 25}; // opus 4.5+, and unknown names: the CLI prices those like opus as well
}

std::uint64_t estimate_microdollars(const token_prices& p, std::uint64_t input,
                                    std::uint64_t cache_write, std::uint64_t cache_read,
                                    std::uint64_t output) {
  // In hundredths of a microdollar, so 0.1× and 1.25× stay exact.
  std::uint64_t centi = input * p.input * 100 + cache_write * p.input * 125
                        + cache_read * p.input * 10 + output * p.output * 100;
  return (centi + 50) / 100;
}

progress_change progress_tracker::feed_line(std::string_view line) {
  if (skippable(line))
    return progress_change::none;
  auto event = json::parse(line.begin(), line.end(), nullptr, false);
  if (event.is_discarded())
    return progress_change::none;
  return feed_event(event);
}

progress_change progress_tracker::feed_event(const json& event) {
  try {
    auto type = text_of(event, "type");
    // Events of a subagent (the Task tool) carry the id of the tool call that started it.
    auto thread = text_of(event, "parent_tool_use_id");
    if (type == "stream_event")
      return on_stream_event(member(event, "event"), thread);
    if (type == "assistant")
      return on_assistant(member(event, "message"), thread);
    if (type == "result")
      return on_result(event);
  } catch (const std::exception&) {
    // An event of an unexpected shape; the accessors above make this unlikely.
  }
  return progress_change::none;
}

progress_change progress_tracker::on_stream_event(const json& ev, const std::string& thread) {
  auto type = text_of(ev, "type");
  auto change = progress_change::none;
  if (type == "message_start") {
    auto& message = member(ev, "message");
    auto id = text_of(message, "id");
    streaming_[thread] = id;
    if (thread.empty()) {
      if (!progress_.partial_output.empty())
        change = progress_change::text;
      progress_.partial_output.clear();
      shown_message_ = id;
      shown_has_deltas_ = false;
    }
    if (!id.empty()) {
      auto& u = usage_[id];
      if (u.model.empty())
        u.model = text_of(message, "model");
      if (take_usage(id, member(message, "usage"), false))
        change = progress_change::text;
    }
    return change;
  }
  if (type == "content_block_delta") {
    auto& delta = member(ev, "delta");
    if (!thread.empty() || text_of(delta, "type") != "text_delta")
      return change;
    auto text = text_of(delta, "text");
    if (text.empty())
      return change;
    shown_has_deltas_ = true;
    append_text(text);
    return progress_change::text;
  }
  if (type == "message_delta") {
    auto it = streaming_.find(thread);
    if (it != streaming_.end() && !it->second.empty()
        && take_usage(it->second, member(ev, "usage"), true))
      return progress_change::text;
  }
  return change;
}

progress_change progress_tracker::on_assistant(const json& message, const std::string& thread) {
  auto id = text_of(message, "id");
  if (id.empty())
    return progress_change::none;
  auto model = text_of(message, "model");
  bool synthetic = model == "<synthetic>";
  auto change = progress_change::none;
  if (!synthetic) {
    if (turns_seen_.insert(id).second) {
      ++progress_.turns;
      change = progress_change::milestone;
    }
    auto& u = usage_[id];
    if (u.model.empty())
      u.model = model;
    if (take_usage(id, member(message, "usage"), false) && change == progress_change::none)
      change = progress_change::text;
  }
  auto& content = member(message, "content");
  if (!content.is_array())
    return change;
  for (auto& block : content) {
    auto type = text_of(block, "type");
    if (type == "tool_use") {
      auto tool_id = text_of(block, "id");
      if (tool_id.empty() || !tools_seen_.insert(tool_id).second)
        continue;
      ++progress_.tool_uses;
      progress_.last_tool = text_of(block, "name");
      change = progress_change::milestone;
    } else if (type == "text" && thread.empty()) {
      // Without partial messages (or for a synthetic message) the text comes only here, one
      // block per event: start over for a new message, append for the same one.
      if (id == shown_message_ && shown_has_deltas_)
        continue;
      if (id != shown_message_) {
        progress_.partial_output.clear();
        shown_message_ = id;
        shown_has_deltas_ = false;
      }
      append_text(text_of(block, "text"));
      if (change == progress_change::none)
        change = progress_change::text;
    }
  }
  return change;
}

progress_change progress_tracker::on_result(const json& event) {
  auto& cost = member(event, "total_cost_usd");
  if (!cost.is_number())
    return progress_change::none;
  progress_.cost_microdollars = usd_to_microdollars(cost.get<double>());
  progress_.cost_is_final = true;
  return progress_change::milestone;
}

bool progress_tracker::take_usage(const std::string& id, const json& usage, bool final) {
  if (!usage.is_object())
    return false;
  auto& u = usage_[id];
  if (u.final && !final)
    return false; // an assistant event's usage is older than message_delta's
  bool moved = false;
  auto take = [&](const char* key, std::uint64_t& field) {
    auto& v = member(usage, key);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
      return;
    auto n = v.get<std::uint64_t>();
    moved = moved || n != field;
    field = n;
  };
  take("input_tokens", u.input);
  take("cache_creation_input_tokens", u.cache_write);
  take("cache_read_input_tokens", u.cache_read);
  take("output_tokens", u.output);
  u.final = u.final || final;
  if (moved)
    recount();
  return moved;
}

void progress_tracker::recount() {
  std::uint64_t input = 0, output = 0, cost = 0;
  for (auto& [id, u] : usage_) {
    input += u.input + u.cache_write + u.cache_read;
    output += u.output;
    cost += estimate_microdollars(list_prices(u.model), u.input, u.cache_write, u.cache_read,
                                  u.output);
  }
  progress_.input_tokens = input;
  progress_.output_tokens = output;
  if (!progress_.cost_is_final)
    progress_.cost_microdollars = cost;
}

void progress_tracker::append_text(std::string_view text) {
  auto& out = progress_.partial_output;
  out.append(text);
  if (out.size() <= partial_limit)
    return;
  auto cut = out.size() - partial_limit;
  // Never start inside a character: skip its continuation bytes (10xxxxxx).
  while (cut < out.size() && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80)
    ++cut;
  out.erase(0, cut);
}

bool progress_throttle::admit(progress_change change, clock::time_point now) {
  if (change == progress_change::none)
    return false;
  if (change == progress_change::text && last_ && now - *last_ < interval_)
    return false;
  last_ = now;
  return true;
}

void progress_reporter::feed_line(std::string_view line) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_)
    return;
  auto change = tracker_.feed_line(line);
  if (throttle_.admit(change, progress_throttle::clock::now()))
    report();
}

void progress_reporter::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_)
    return;
  finished_ = true;
  report();
}

task_progress progress_reporter::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tracker_.progress();
}

void progress_reporter::report() {
  if (!watcher_)
    return;
  auto p = tracker_.progress();
  p.updated_at_ms = static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  try {
    watcher_(p);
  } catch (...) {
    // A watcher must not throw; the task's run and result do not depend on it.
  }
}

} // namespace claude_pool
