#pragma once
/// Live progress of one task, read from the CLI's stream-json events. The tracker is pure
/// (no I/O, no clock): it is fed every stdout line of a `--output-format=stream-json
/// --verbose --include-partial-messages` run and says what each line changed. The throttle
/// decides when a change is worth a call; the reporter ties both to a watcher, thread-safely.
/// See ../shared/CLI_FACTS.md and the recorded event shapes in the test.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "messages/records.hpp"

namespace claude_pool {

/// What a line changed, by how urgently a watcher wants to hear it.
enum class progress_change {
  none,      ///< nothing visible (system lines, tool results, garbage)
  text,      ///< the partial answer or the token counts and cost estimate moved
  milestone, ///< a new turn, a new tool call, or the final cost
};

/// List prices in dollars per million tokens (= microdollars per token).
struct token_prices {
  std::uint64_t input = 0;
  std::uint64_t output = 0;
};

/// The list price of a model family, by a substring of its name: `haiku` $1/$5, `sonnet`
/// $3/$15, everything else (opus 4.5+, and any name we do not know, since the CLI prices
/// unknown names like opus too) $5/$25. Older generations (opus 4.1 at $15/$75) are
/// under-estimated until the CLI's own figure arrives with the result.
token_prices list_prices(std::string_view model);

/// Microdollars for one message's tokens at `p`: cache reads at 0.1× and cache writes
/// (5-minute) at 1.25× the input price, as the API bills them; rounded to nearest.
std::uint64_t estimate_microdollars(const token_prices& p, std::uint64_t input,
                                    std::uint64_t cache_write, std::uint64_t cache_read,
                                    std::uint64_t output);

class progress_tracker {
public:
  /// Bytes of the current answer kept in `partial_output` (its end; cut on a UTF-8 boundary).
  static constexpr std::size_t partial_limit = 4096;

  /// One stdout line of the CLI. Never throws: a line that is not a JSON event, or an event
  /// of a shape we do not know, changes nothing.
  progress_change feed_line(std::string_view line);

  /// Same, for an event the caller already parsed.
  progress_change feed_event(const nlohmann::json& event);

  const task_progress& progress() const { return progress_; }

private:
  /// One API message's usage, as last reported.
  struct message_usage {
    std::uint64_t input = 0, cache_write = 0, cache_read = 0, output = 0;
    std::string model;
    bool final = false; ///< from `message_delta`: nothing later replaces it
  };

  progress_change on_stream_event(const nlohmann::json& event, const std::string& thread);
  progress_change on_assistant(const nlohmann::json& message, const std::string& thread);
  progress_change on_result(const nlohmann::json& event);
  /// Merges the usage fields present in `usage` into message `id`'s; false if none moved.
  bool take_usage(const std::string& id, const nlohmann::json& usage, bool final);
  void recount();
  void append_text(std::string_view text);

  task_progress progress_;
  std::map<std::string, message_usage> usage_; ///< by message id; a task has few messages
  std::set<std::string> turns_seen_;           ///< assistant message ids
  std::set<std::string> tools_seen_;           ///< tool_use block ids
  /// The message being streamed, per thread (the main one is ""; a subagent's is keyed by
  /// its parent_tool_use_id): `message_delta` names no message.
  std::map<std::string, std::string> streaming_;
  std::string shown_message_;                  ///< whose text is in partial_output
  bool shown_has_deltas_ = false;              ///< that text arrives as text_delta
};

/// When to pass progress on: milestones at once, text changes at most once per `interval`
/// (a fast stream would otherwise call the watcher for every few tokens).
class progress_throttle {
public:
  using clock = std::chrono::steady_clock;
  explicit progress_throttle(clock::duration interval = std::chrono::milliseconds(100))
    : interval_(interval) {}

  /// Whether a change seen at `now` is reported now. A withheld text change is reported
  /// with the next one that passes (its state is cumulative, so nothing is lost).
  bool admit(progress_change change, clock::time_point now);

private:
  clock::duration interval_;
  std::optional<clock::time_point> last_;
};

/// Feeds a tracker and calls a watcher (`execution_request::on_progress`) when the throttle
/// admits a change. The watcher runs under the reporter's lock, so calls never overlap or
/// reorder, and none follows `finish`; it must not block or call back into the reporter.
class progress_reporter {
public:
  using watcher = std::function<void(const task_progress&)>;

  explicit progress_reporter(watcher w,
                             progress_throttle::clock::duration interval =
                               std::chrono::milliseconds(100))
    : watcher_(std::move(w)), throttle_(interval) {}

  /// One stdout line (any thread). Ignored after `finish`.
  void feed_line(std::string_view line);

  /// The last call, whatever the throttle says (with the final cost when the result event
  /// came); later lines are ignored. Call it just before the task's `done`.
  void finish();

  task_progress snapshot() const;

private:
  void report(); ///< with the lock held

  mutable std::mutex mutex_;
  watcher watcher_;
  progress_tracker tracker_;
  progress_throttle throttle_;
  bool finished_ = false;
};

} // namespace claude_pool
