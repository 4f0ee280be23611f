#include "runtime/cli/progress_tracker.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "messages/utf8.hpp"

using namespace claude_pool;
using namespace std::chrono_literals;

namespace {

// Lines recorded from the pinned CLI 2.1.197 (`-p --output-format=stream-json --verbose
// --include-partial-messages --bare`) against the mock API, for the prompt
// `[[mock:tool_use=Bash {"command":"echo hi"}]] [[mock:usage=1000/200]]
// [[mock:reply=The final answer is here.]]`; long fields (init's command lists, uuids,
// timestamps) left out, the shapes and the order as printed.
const std::vector<std::string> tool_run = {
  R"({"type":"system","subtype":"init","cwd":"/tmp/pg-wd","session_id":"ec51","tools":["Bash","Edit","Read"],"model":"claude-opus-4-8[1m]"})",
  R"({"type":"system","subtype":"status","status":"requesting","session_id":"ec51"})",
  R"({"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_mock4","type":"message","role":"assistant","model":"claude-opus-4-8","content":[],"stop_reason":null,"usage":{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_mock4","name":"Bash","input":{}}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"command\":\"echo hi\"}"}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"assistant","message":{"id":"msg_mock4","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_mock4","name":"Bash","input":{"command":"echo hi"}}],"stop_reason":null,"usage":{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"ec51"})",
  R"({"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":200}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"message_stop"},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_mock4","type":"tool_result","content":"hi","is_error":false}]},"parent_tool_use_id":null,"session_id":"ec51"})",
  R"({"type":"system","subtype":"status","status":"requesting","session_id":"ec51"})",
  R"({"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_mock5","type":"message","role":"assistant","model":"claude-opus-4-8","content":[],"stop_reason":null,"usage":{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The final answer "}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"is here."}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"assistant","message":{"id":"msg_mock5","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"The final answer is here."}],"stop_reason":null,"usage":{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"ec51"})",
  R"({"type":"stream_event","event":{"type":"content_block_stop","index":0},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":200}},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"stream_event","event":{"type":"message_stop"},"session_id":"ec51","parent_tool_use_id":null})",
  R"({"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"The final answer is here.","session_id":"ec51","total_cost_usd":0.02,"usage":{"input_tokens":2000,"output_tokens":400},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":2000,"outputTokens":400,"costUSD":0.02}}})",
};

std::string message_start(const std::string& id, const std::string& model, int in, int out,
                           const std::string& parent = "null") {
  return R"({"type":"stream_event","event":{"type":"message_start","message":{"id":")" + id
         + R"(","model":")" + model + R"(","usage":{"input_tokens":)" + std::to_string(in)
         + R"(,"output_tokens":)" + std::to_string(out) + R"(}}},"parent_tool_use_id":)"
         + parent + "}";
}

std::string text_delta(const std::string& text, const std::string& parent = "null") {
  return R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)"
         + nlohmann::json(text).dump() + R"(}},"parent_tool_use_id":)" + parent + "}";
}

std::string assistant(const std::string& id, const std::string& model,
                      const nlohmann::json& block, const std::string& parent = "null") {
  nlohmann::json e{{"type", "assistant"},
                   {"message",
                    {{"id", id},
                     {"model", model},
                     {"content", nlohmann::json::array({block})},
                     {"usage", {{"input_tokens", 1000}, {"output_tokens", 1}}}}},
                   {"parent_tool_use_id", nullptr}};
  if (parent != "null")
    e["parent_tool_use_id"] = parent;
  return e.dump();
}

nlohmann::json text_block(const std::string& text) { return {{"type", "text"}, {"text", text}}; }

nlohmann::json tool_block(const std::string& id, const std::string& name) {
  return {{"type", "tool_use"}, {"id", id}, {"name", name}, {"input", nlohmann::json::object()}};
}

} // namespace

TEST_CASE("a recorded tool-using run: two turns, one Bash call, the answer, the result's cost",
          "[progress]") {
  progress_tracker t;
  for (auto& line : tool_run)
    t.feed_line(line);
  auto& p = t.progress();
  CHECK(p.turns == 2);
  CHECK(p.tool_uses == 1);
  CHECK(p.last_tool == std::optional<std::string>("Bash"));
  CHECK(p.partial_output == "The final answer is here.");
  CHECK(p.input_tokens == 2000);
  CHECK(p.output_tokens == 400);
  CHECK(p.cost_microdollars == 20000);
  CHECK(p.cost_is_final);
}

TEST_CASE("each line says what it changed: milestones for turns, tools and the result",
          "[progress]") {
  progress_tracker t;
  std::vector<progress_change> changes;
  for (auto& line : tool_run)
    changes.push_back(t.feed_line(line));
  using c = progress_change;
  CHECK(changes == std::vector<c>{c::none, c::none,
                                  c::text,      // message_start: usage
                                  c::none, c::none,
                                  c::milestone, // turn 1 and the Bash call
                                  c::none,
                                  c::text,      // message_delta: the final usage
                                  c::none, c::none, c::none,
                                  c::text,      // message_start of turn 2
                                  c::none,
                                  c::text, c::text, // the answer's deltas
                                  c::milestone, // turn 2
                                  c::none,
                                  c::text,
                                  c::none,
                                  c::milestone}); // the final cost
}

TEST_CASE("while a run streams, the cost is estimated from the final usage of each message",
          "[progress]") {
  progress_tracker t;
  for (std::size_t i = 0; i < 9; ++i) // through turn 1's message_stop
    t.feed_line(tool_run[i]);
  auto p = t.progress();
  CHECK(p.turns == 1);
  CHECK(p.input_tokens == 1000);
  CHECK(p.output_tokens == 200);
  CHECK(p.cost_microdollars == 10000); // 1000 × $5 + 200 × $25 per MTok
  CHECK_FALSE(p.cost_is_final);

  // An assistant event printed after message_delta carries the stale message_start usage.
  t.feed_line(tool_run[5]);
  CHECK(t.progress().output_tokens == 200);
  CHECK(t.progress().turns == 1);
}

TEST_CASE("a message counts once though the CLI prints an assistant event per content block",
          "[progress]") {
  progress_tracker t;
  t.feed_line(message_start("m1", "claude-opus-4-8", 10, 1));
  t.feed_line(text_delta("Let me look."));
  CHECK(t.feed_line(assistant("m1", "claude-opus-4-8", text_block("Let me look.")))
        == progress_change::milestone);
  CHECK(t.feed_line(assistant("m1", "claude-opus-4-8", tool_block("t1", "Read")))
        == progress_change::milestone);
  CHECK(t.feed_line(assistant("m1", "claude-opus-4-8", tool_block("t2", "Bash")))
        == progress_change::milestone);
  CHECK(t.feed_line(assistant("m1", "claude-opus-4-8", tool_block("t2", "Bash")))
        == progress_change::none); // the same block again
  auto& p = t.progress();
  CHECK(p.turns == 1);
  CHECK(p.tool_uses == 2);
  CHECK(p.last_tool == std::optional<std::string>("Bash"));
  CHECK(p.partial_output == "Let me look."); // not doubled by the assistant event
  CHECK(p.input_tokens == 1000);             // the assistant events' usage, counted once
}

TEST_CASE("partial output restarts with each message and keeps its last 4 KiB whole",
          "[progress]") {
  progress_tracker t;
  t.feed_line(message_start("m1", "claude-opus-4-8", 1, 1));
  t.feed_line(text_delta("first message"));
  CHECK(t.progress().partial_output == "first message");
  CHECK(t.feed_line(message_start("m2", "claude-opus-4-8", 1, 1)) == progress_change::text);
  CHECK(t.progress().partial_output.empty());

  std::string piece;
  for (int i = 0; i < 100; ++i)
    piece += "é€"; // 2- and 3-byte characters: 5 bytes a pair
  for (int i = 0; i < 20; ++i)
    t.feed_line(text_delta(piece));
  t.feed_line(text_delta("THE END"));
  auto& out = t.progress().partial_output;
  CHECK(out.size() <= progress_tracker::partial_limit);
  CHECK(out.size() >= progress_tracker::partial_limit - 3);
  CHECK_FALSE(first_invalid_utf8(out));
  CHECK(out.substr(out.size() - 7) == "THE END");
}

TEST_CASE("without partial messages the text comes from the assistant events", "[progress]") {
  progress_tracker t;
  t.feed_line(assistant("m1", "claude-sonnet-4-5", text_block("one ")));
  t.feed_line(assistant("m1", "claude-sonnet-4-5", text_block("two")));
  CHECK(t.progress().partial_output == "one two");
  CHECK(t.progress().turns == 1);
  CHECK(t.progress().cost_microdollars == 1000 * 3 + 1 * 15); // sonnet, from the usage there
  t.feed_line(assistant("m2", "claude-sonnet-4-5", text_block("three")));
  CHECK(t.progress().partial_output == "three");
  CHECK(t.progress().turns == 2);
}

TEST_CASE("a synthetic assistant message (an API error) is shown but is no turn", "[progress]") {
  progress_tracker t;
  auto line = R"({"type":"assistant","message":{"id":"c42c","model":"<synthetic>","role":"assistant","usage":{"input_tokens":0,"output_tokens":0},"content":[{"type":"text","text":"API Error: 529 Overloaded."}]},"parent_tool_use_id":null})";
  CHECK(t.feed_line(line) == progress_change::text);
  CHECK(t.progress().turns == 0);
  CHECK(t.progress().partial_output == "API Error: 529 Overloaded.");
  CHECK(t.progress().cost_microdollars == 0);
}

TEST_CASE("a subagent's turns and tools count, its text stays out of the answer",
          "[progress]") {
  progress_tracker t;
  t.feed_line(message_start("m1", "claude-opus-4-8", 10, 1));
  t.feed_line(text_delta("main answer"));
  t.feed_line(assistant("m1", "claude-opus-4-8", text_block("main answer")));
  t.feed_line(message_start("sub1", "claude-haiku-4-5", 100, 1, R"("toolu_task")"));
  t.feed_line(text_delta("subagent text", R"("toolu_task")"));
  t.feed_line(assistant("sub1", "claude-haiku-4-5", text_block("subagent text"), "toolu_task"));
  t.feed_line(assistant("sub1", "claude-haiku-4-5", tool_block("t9", "Read"), "toolu_task"));
  auto& p = t.progress();
  CHECK(p.partial_output == "main answer");
  CHECK(p.turns == 2);
  CHECK(p.tool_uses == 1);
  CHECK(p.last_tool == std::optional<std::string>("Read"));
  CHECK(p.input_tokens == 1000 + 1000); // each message's latest usage (the helper's 1000)
  CHECK(p.cost_microdollars == (1000 * 5 + 25) + (1000 * 1 + 5)); // opus + haiku
}

TEST_CASE("the result's cost is final, nothing later moves it", "[progress]") {
  progress_tracker t;
  t.feed_line(message_start("m1", "claude-opus-4-8", 1000, 200));
  CHECK(t.progress().cost_microdollars == 10000);
  CHECK(t.feed_line(R"({"type":"result","subtype":"success","total_cost_usd":0.0123456})")
        == progress_change::milestone);
  CHECK(t.progress().cost_microdollars == 12346);
  CHECK(t.progress().cost_is_final);
  t.feed_line(message_start("m2", "claude-opus-4-8", 5000, 5000));
  CHECK(t.progress().cost_microdollars == 12346);
  CHECK(t.progress().input_tokens == 6000);
}

TEST_CASE("cache reads cost a tenth and cache writes a quarter more than input",
          "[progress]") {
  CHECK(estimate_microdollars({5, 25}, 0, 0, 1000, 0) == 500);
  CHECK(estimate_microdollars({5, 25}, 0, 1000, 0, 0) == 6250);
  CHECK(estimate_microdollars({3, 15}, 1000, 1000, 1000, 100) == 3000 + 3750 + 300 + 1500);
  CHECK(estimate_microdollars({1, 5}, 3, 0, 3, 0) == 3); // 3 + 0.3, rounded

  progress_tracker t;
  t.feed_line(
    R"({"type":"stream_event","event":{"type":"message_start","message":{"id":"m","model":"claude-opus-4-8","usage":{"input_tokens":10,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":1}}},"parent_tool_use_id":null})");
  CHECK(t.progress().input_tokens == 3010);
  CHECK(t.progress().cost_microdollars == 50 + 6250 + 1000 + 25);
}

TEST_CASE("list prices go by model family, unknown models are priced like opus",
          "[progress]") {
  auto same = [](token_prices a, token_prices b) {
    return a.input == b.input && a.output == b.output;
  };
  CHECK(same(list_prices("claude-opus-4-8"), {5, 25}));
  CHECK(same(list_prices("claude-sonnet-4-5-20250929"), {3, 15}));
  CHECK(same(list_prices("claude-haiku-4-5"), {1, 5}));
  CHECK(same(list_prices("some-local-model"), {5, 25}));
  CHECK(same(list_prices(""), {5, 25}));
}

TEST_CASE("garbage lines change nothing and never throw", "[progress]") {
  progress_tracker t;
  t.feed_line(message_start("m1", "claude-opus-4-8", 7, 1));
  auto before = t.progress();
  for (std::string line :
       {"", "not json", "{", "[]", "42", "null", R"({"type":5})", R"({"no":"type"})",
        R"({"type":"assistant"})", R"({"type":"assistant","message":"x"})",
        R"({"type":"assistant","message":{"id":7,"content":"x"}})",
        R"({"type":"assistant","message":{"id":"m9","content":[1,null,{"type":"tool_use"}]}})",
        R"({"type":"stream_event"})", R"({"type":"stream_event","event":[1,2]})",
        R"({"type":"stream_event","event":{"type":"message_delta","usage":{"output_tokens":"lots"}}})",
        R"({"type":"stream_event","event":{"type":"message_delta","usage":{"output_tokens":-5}}})",
        R"({"type":"stream_event","event":{"type":"content_block_delta","delta":{"type":"text_delta","text":7}}})",
        R"({"type":"result","total_cost_usd":"free"})", "\xff\xfe{\"type\":\"result\"}"}) {
    INFO(line);
    CHECK_NOTHROW(t.feed_line(line));
  }
  auto& after = t.progress();
  CHECK(after.partial_output == before.partial_output);
  CHECK(after.input_tokens == before.input_tokens);
  CHECK(after.output_tokens == before.output_tokens);
  CHECK(after.tool_uses == 0);
  CHECK_FALSE(after.cost_is_final);
  CHECK(after.turns == 1); // "m9" is an assistant message, however odd its blocks
}

TEST_CASE("the throttle passes milestones at once and text at most every interval",
          "[progress]") {
  progress_throttle th(100ms);
  auto t0 = progress_throttle::clock::time_point{} + 1h;
  CHECK_FALSE(th.admit(progress_change::none, t0));
  CHECK(th.admit(progress_change::text, t0));
  CHECK_FALSE(th.admit(progress_change::text, t0 + 50ms));
  CHECK_FALSE(th.admit(progress_change::text, t0 + 99ms));
  CHECK(th.admit(progress_change::milestone, t0 + 99ms));
  CHECK(th.admit(progress_change::milestone, t0 + 100ms));
  CHECK_FALSE(th.admit(progress_change::text, t0 + 150ms));
  CHECK(th.admit(progress_change::text, t0 + 200ms));
}

TEST_CASE("the reporter calls its watcher throttled, once more at finish, never after",
          "[progress]") {
  std::vector<task_progress> seen;
  progress_reporter r([&](const task_progress& p) { seen.push_back(p); }, 1h);
  for (auto& line : tool_run)
    r.feed_line(line);
  // The first text change, then each milestone (2 turns, the result); other text withheld.
  REQUIRE(seen.size() == 4);
  CHECK(seen[1].turns == 1);
  CHECK(seen[1].tool_uses == 1);
  CHECK(seen[2].turns == 2);
  CHECK(seen[2].partial_output == "The final answer is here.");
  CHECK(seen[3].cost_is_final);
  for (auto& p : seen)
    CHECK(p.updated_at_ms > 0);
  r.finish();
  REQUIRE(seen.size() == 5);
  CHECK(seen[4].cost_microdollars == 20000);
  CHECK(seen[4].output_tokens == 400);
  r.feed_line(message_start("late", "claude-opus-4-8", 1, 1));
  r.finish();
  CHECK(seen.size() == 5);
  CHECK(r.snapshot().turns == 2);
}
