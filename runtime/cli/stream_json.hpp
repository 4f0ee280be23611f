#pragma once
/// The CLI's stream-json protocol as plain functions (no I/O): the lines a warm slot writes
/// (`--input-format stream-json`) and what it makes of the events it reads
/// (`--output-format stream-json --verbose`). See ../shared/CLI_FACTS.md.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace claude_pool::stream_json {

/// `{"type":"user","message":{"role":"user","content":TEXT}}` and a newline.
std::string user_line(const std::string& text);

/// A control request (`interrupt`, `set_model`) and a newline.
std::string control_line(const std::string& request_id, const nlohmann::json& request);

/// Splits a byte stream into lines; `feed` returns the lines completed by `chunk`.
class line_splitter {
public:
  std::vector<std::string> feed(std::string_view chunk);
  /// Bytes of an unfinished line (a line longer than `limit` is a protocol error).
  std::size_t pending() const { return partial_.size(); }

private:
  std::string partial_;
};

/// What the process has spent so far: `total_cost_usd` and `modelUsage[*].costUSD` of the
/// latest `result`, both cumulative over the process's life.
struct cumulative_cost {
  double total_usd = 0;
  std::map<std::string, double> by_model; ///< keyed as the CLI keys `modelUsage`
};

/// Turns a cumulative `result` event into the result of the last task alone: cost and
/// `modelUsage` become the differences to `before`, which is advanced to the event's figures.
/// The event is otherwise what one-shot `--output-format json` prints, so the one-shot parser
/// reads it unchanged.
nlohmann::json per_task_result(const nlohmann::json& result_event, cumulative_cost& before);

} // namespace claude_pool::stream_json
