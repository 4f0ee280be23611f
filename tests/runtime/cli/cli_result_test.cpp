#include "runtime/cli/cli_result.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "messages/json.hpp"

using namespace claude_pool;
using claude_pool::runtime::process_end;
using claude_pool::runtime::process_outcome;
using nlohmann::json;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

const std::string command = "claude -p --output-format=json --bare < (prompt on stdin)";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(CLAUDE_POOL_TEST_FIXTURES) + "/" + name);
  INFO("fixture " << name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

process_outcome exited(int code, std::string out, std::string err = {}) {
  process_outcome o;
  o.end = process_end::exited;
  o.exit_code = code;
  o.stdout_data = std::move(out);
  o.stderr_data = std::move(err);
  o.elapsed = std::chrono::milliseconds(1234);
  o.pid = 4242;
  return o;
}

cli_run_context context() {
  cli_run_context ctx;
  ctx.command = command;
  return ctx;
}

/// A minimal result object as the CLI prints it.
json result_json(const std::string& subtype, bool is_error) {
  return json{{"type", "result"},       {"subtype", subtype},  {"is_error", is_error},
              {"num_turns", 1},         {"result", "text"},    {"session_id", "s-1"},
              {"total_cost_usd", 0.001}, {"modelUsage", json::object()}};
}

} // namespace

// ---- fixtures captured from the pinned CLI --------------------------------------------------

TEST_CASE("the success fixture becomes a successful result with text, cost, turns, session "
          "and model",
          "[cli_result]") {
  auto raw = fixture("success.json");
  auto doc = json::parse(raw);
  auto r = interpret_cli_run(exited(0, raw), context());
  CHECK(r.success);
  CHECK(r.output == "Answer: Summarise the plan in one line.");
  CHECK(r.cost_microdollars
        == static_cast<std::uint64_t>(std::llround(doc.at("total_cost_usd").get<double>() * 1e6)));
  CHECK(r.cost_microdollars == 265);
  CHECK(r.turns_used == 1);
  CHECK(r.session_id == std::optional<std::string>("c48f39c2-2bc5-4688-89db-51d626584fbb"));
  CHECK(r.model == std::optional<std::string>("claude-opus-4-8"));
  CHECK(r.subtype == std::optional<std::string>("success"));
  CHECK(r.elapsed_ms == 1234);
  CHECK_FALSE(r.api_error_status);
  CHECK_FALSE(r.failed_command);
  CHECK_FALSE(r.exit_code);
  CHECK_FALSE(r.stderr_text);
  CHECK_FALSE(r.budget_exceeded);
  CHECK_FALSE(r.structured_output);
}

TEST_CASE("the 401 fixture becomes a failure naming the API error", "[cli_result]") {
  auto r = interpret_cli_run(exited(1, fixture("error_401.json")), context());
  CHECK_FALSE(r.success);
  CHECK(r.api_error_status == std::optional<std::int32_t>(401));
  CHECK(r.exit_code == std::optional<std::int32_t>(1));
  CHECK(r.failed_command == std::optional<std::string>(command));
  CHECK_THAT(r.output, Contains("401"));
  CHECK_THAT(r.output, Contains("Invalid API key"));
  CHECK(r.session_id == std::optional<std::string>("2f9f7737-9933-4944-a1ba-5f6343e22cd0"));
  CHECK(r.cost_microdollars == 0);
  CHECK_FALSE(r.model); // modelUsage is empty
}

TEST_CASE("the 529 fixture becomes a failure naming the API error", "[cli_result]") {
  auto r = interpret_cli_run(exited(1, fixture("error_529.json")), context());
  CHECK_FALSE(r.success);
  CHECK(r.api_error_status == std::optional<std::int32_t>(529));
  CHECK(r.exit_code == std::optional<std::int32_t>(1));
  CHECK(r.failed_command == std::optional<std::string>(command));
  CHECK_THAT(r.output, Contains("529"));
  CHECK_THAT(r.output, Contains("Overloaded"));
}

TEST_CASE("the max_turns fixture becomes a failure with subtype error_max_turns",
          "[cli_result]") {
  auto r = interpret_cli_run(exited(1, fixture("max_turns.json")), context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("error_max_turns"));
  CHECK_THAT(r.output, Contains("Reached maximum number of turns (1)"));
  CHECK(r.turns_used == 2);
  CHECK(r.cost_microdollars == 380);
  CHECK(r.exit_code == std::optional<std::int32_t>(1));
  CHECK(r.failed_command == std::optional<std::string>(command));
  CHECK(r.model == std::optional<std::string>("claude-opus-4-8"));
  CHECK_FALSE(r.budget_exceeded);
}

TEST_CASE("the structured_output fixture carries the fixture's structured output",
          "[cli_result]") {
  auto raw = fixture("structured_output.json");
  auto doc = json::parse(raw);
  auto ctx = context();
  ctx.wants_structured_output = true;
  auto r = interpret_cli_run(exited(0, raw), ctx);
  CHECK(r.success);
  REQUIRE(r.structured_output);
  CHECK(*r.structured_output == doc.at("structured_output"));
  CHECK(*r.structured_output == json{{"name", "pool"}, {"size", 3}});
  CHECK(r.turns_used == 2);
  CHECK(r.cost_microdollars == 230);
}

TEST_CASE("a success without structured output fails when the task asked for a json_schema",
          "[cli_result]") {
  auto ctx = context();
  ctx.wants_structured_output = true;
  auto r = interpret_cli_run(exited(0, fixture("success.json")), ctx);
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("missing_structured_output"));
  CHECK_THAT(r.output, Contains("Answer: Summarise the plan in one line."));
  CHECK(r.failed_command == std::optional<std::string>(command));
  CHECK(r.cost_microdollars == 265); // what was spent is still reported
}

TEST_CASE("the budget_exceeded fixture is flagged budget_exceeded", "[cli_result]") {
  auto ctx = context();
  ctx.max_budget_usd = 0.0001;
  auto r = interpret_cli_run(exited(1, fixture("budget_exceeded.json")), ctx);
  CHECK_FALSE(r.success);
  CHECK(r.budget_exceeded);
  CHECK(r.subtype == std::optional<std::string>("error_max_budget_usd"));
  CHECK(r.cost_microdollars == 1'000'000);
  CHECK_THAT(r.output, Contains("Reached maximum budget"));
  CHECK(r.exit_code == std::optional<std::int32_t>(1));

  // The CLI's subtype alone is enough, even without the pool knowing the cap.
  auto without_cap = interpret_cli_run(exited(1, fixture("budget_exceeded.json")), context());
  CHECK(without_cap.budget_exceeded);
}

// ---- constructed outcomes -------------------------------------------------------------------

TEST_CASE("is_error true with subtype success is a failure even on exit 0", "[cli_result]") {
  auto j = result_json("success", true);
  auto r = interpret_cli_run(exited(0, j.dump()), context());
  CHECK_FALSE(r.success);
  CHECK(r.exit_code == std::optional<std::int32_t>(0));
  CHECK(r.failed_command == std::optional<std::string>(command));

  auto fine = interpret_cli_run(exited(0, result_json("success", false).dump()), context());
  CHECK(fine.success);
  CHECK(fine.output == "text");
}

TEST_CASE("a success result with a non-zero exit is a failure", "[cli_result]") {
  auto r = interpret_cli_run(exited(1, result_json("success", false).dump()), context());
  CHECK_FALSE(r.success);
  CHECK(r.exit_code == std::optional<std::int32_t>(1));
}

TEST_CASE("a non-zero exit with empty stdout fails with the exit code and capped stderr",
          "[cli_result]") {
  std::string err(20'000, 'e');
  err.replace(0, 6, "FIRST:");
  auto r = interpret_cli_run(exited(3, "", err), context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("exit_error"));
  CHECK(r.exit_code == std::optional<std::int32_t>(3));
  CHECK_THAT(r.output, Contains("3"));
  CHECK(r.failed_command == std::optional<std::string>(command));
  REQUIRE(r.stderr_text);
  CHECK(r.stderr_text->size() < err.size());
  CHECK(r.stderr_text->size() < result_stderr_limit + 100);
  CHECK(r.stderr_text->substr(0, result_stderr_limit) == err.substr(0, result_stderr_limit));
  CHECK_THAT(*r.stderr_text, StartsWith("FIRST:"));

  auto small = interpret_cli_run(exited(2, "", "short complaint"), context());
  CHECK(small.stderr_text == std::optional<std::string>("short complaint"));
}

TEST_CASE("exit 0 with garbage on stdout is unparsable_output", "[cli_result]") {
  auto r = interpret_cli_run(exited(0, "this is not JSON {"), context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("unparsable_output"));
  CHECK_THAT(r.output, Contains("this is not JSON"));
  CHECK(r.exit_code == std::optional<std::int32_t>(0));

  // Valid JSON that is not a result object is no better.
  auto other = interpret_cli_run(exited(0, R"({"type":"assistant"})"), context());
  CHECK(other.subtype == std::optional<std::string>("unparsable_output"));
}

TEST_CASE("exit 0 with empty stdout is empty_output", "[cli_result]") {
  auto r = interpret_cli_run(exited(0, ""), context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("empty_output"));
  CHECK(r.failed_command == std::optional<std::string>(command));
}

TEST_CASE("a child killed by a signal is crashed with exit code 128 plus the signal",
          "[cli_result]") {
  process_outcome o;
  o.end = process_end::signaled;
  o.exit_code = -1;
  o.signal = 9;
  o.stderr_data = "Killed";
  auto r = interpret_cli_run(o, context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("crashed"));
  CHECK(r.exit_code == std::optional<std::int32_t>(137));
  CHECK_THAT(r.output, Contains("9"));
  CHECK(r.stderr_text == std::optional<std::string>("Killed"));
}

TEST_CASE("a spawn failure is spawn_failed carrying the spawn error and the command",
          "[cli_result]") {
  process_outcome o;
  o.end = process_end::spawn_failed;
  o.spawn_error = "cannot execute /opt/nowhere/claude: No such file or directory";
  auto r = interpret_cli_run(o, context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("spawn_failed"));
  CHECK_THAT(r.output, Contains("/opt/nowhere/claude: No such file or directory"));
  CHECK(r.failed_command == std::optional<std::string>(command));
}

TEST_CASE("a timed-out run is a timeout failure naming the limit", "[cli_result]") {
  process_outcome o;
  o.end = process_end::timed_out;
  o.signal = 2;
  o.stdout_data = fixture("success.json"); // whatever it printed, a timeout is a timeout
  auto ctx = context();
  ctx.timeout_secs = 90;
  auto r = interpret_cli_run(o, ctx);
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("timeout"));
  CHECK_THAT(r.output, Contains("90"));
  CHECK(r.failed_command == std::optional<std::string>(command));
}

TEST_CASE("a cancelled run is a cancelled failure that keeps any cost it reported",
          "[cli_result]") {
  process_outcome o;
  o.end = process_end::cancelled;
  o.exit_code = 1;
  auto r = interpret_cli_run(o, context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("cancelled"));
  CHECK_THAT(r.output, Contains("cancelled"));
  CHECK(r.failed_command == std::optional<std::string>(command));

  o.stdout_data = result_json("error_during_execution", true).dump();
  auto with_cost = interpret_cli_run(o, context());
  CHECK(with_cost.subtype == std::optional<std::string>("cancelled"));
  CHECK(with_cost.cost_microdollars == 1000);
}

TEST_CASE("truncated stdout is output_too_large", "[cli_result]") {
  auto o = exited(0, fixture("success.json"));
  o.stdout_truncated = true;
  auto r = interpret_cli_run(o, context());
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("output_too_large"));
}

TEST_CASE("log lines before the result JSON are tolerated", "[cli_result]") {
  auto out = "warning: something odd\n[debug] more noise {not json}\n" + fixture("success.json");
  auto r = interpret_cli_run(exited(0, out), context());
  CHECK(r.success);
  CHECK(r.output == "Answer: Summarise the plan in one line.");
  CHECK(r.cost_microdollars == 265);
}

// ---- helpers --------------------------------------------------------------------------------

TEST_CASE("usd_to_microdollars rounds to the nearest microdollar", "[cli_result]") {
  CHECK(usd_to_microdollars(0.0000015) == 2);
  CHECK(usd_to_microdollars(0.0012345) == 1235);
  CHECK(usd_to_microdollars(0.000265) == 265);
  CHECK(usd_to_microdollars(1.0) == 1'000'000);
  CHECK(usd_to_microdollars(0.0) == 0);
  CHECK(usd_to_microdollars(-0.5) == 0);
  CHECK(usd_to_microdollars(std::numeric_limits<double>::quiet_NaN()) == 0);
  CHECK(usd_to_microdollars(std::numeric_limits<double>::infinity()) == 0);
}

TEST_CASE("model_name_of drops the context-window suffix", "[cli_result]") {
  CHECK(model_name_of("claude-opus-4-8[1m]") == "claude-opus-4-8");
  CHECK(model_name_of("claude-haiku-4-5") == "claude-haiku-4-5");
}

TEST_CASE("find_permission_prompt fires on the CLI's prompt phrasing and not on ordinary "
          "permission errors",
          "[cli_result]") {
  auto hit = find_permission_prompt(
    "Claude requested permissions to use Bash, but you haven't granted it yet.");
  REQUIRE(hit);
  CHECK_THAT(*hit, Contains("Bash"));

  auto in_log = find_permission_prompt(
    "line one\nClaude requested permissions to use Write, but you haven't granted it yet.\nend");
  REQUIRE(in_log);
  CHECK_THAT(*in_log, Contains("Write"));
  CHECK(in_log->find("line one") == std::string::npos);

  CHECK_FALSE(find_permission_prompt("cat: /etc/shadow: Permission denied"));
  CHECK_FALSE(find_permission_prompt("permission denied"));
  CHECK_FALSE(find_permission_prompt(""));
}

TEST_CASE("a failed run whose stderr holds a permission prompt is reported as one only when "
          "detection is on",
          "[cli_result]") {
  const std::string err =
    "Claude requested permissions to use Bash, but you haven't granted it yet.\n";
  auto on = context();
  on.detect_permission_prompts = true;
  auto r = interpret_cli_run(exited(1, "", err), on);
  CHECK_FALSE(r.success);
  CHECK(r.subtype == std::optional<std::string>("permission_prompt"));
  CHECK_THAT(r.output, Contains("allowed_tools"));
  CHECK(r.exit_code == std::optional<std::int32_t>(1));

  auto off = context();
  off.detect_permission_prompts = false;
  auto r2 = interpret_cli_run(exited(1, "", err), off);
  CHECK_FALSE(r2.success);
  CHECK(r2.subtype == std::optional<std::string>("exit_error"));

  // An ordinary "Permission denied" on stderr is not a prompt.
  auto r3 = interpret_cli_run(exited(1, "", "cat: /etc/shadow: Permission denied\n"), on);
  CHECK(r3.subtype == std::optional<std::string>("exit_error"));

  // A successful run is never turned into a failure by prompt-like stderr.
  auto r4 = interpret_cli_run(exited(0, fixture("success.json"), err), on);
  CHECK(r4.success);
  CHECK(r4.subtype == std::optional<std::string>("success"));
}

// ---- stream-json event streams (tasks run with live progress) --------------------------------

namespace {

/// The events the pinned CLI prints before its result with `--output-format=stream-json
/// --verbose --include-partial-messages` (shortened: fewer fields, same shapes).
std::string stream_before_result() {
  return R"({"type":"system","subtype":"init","cwd":"/tmp/w","session_id":"s-1","tools":["Bash"],"model":"claude-opus-4-8[1m]"})"
         "\n"
         R"({"type":"system","subtype":"status","status":"requesting","session_id":"s-1"})"
         "\n"
         R"({"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_1","model":"claude-opus-4-8","usage":{"input_tokens":1000,"output_tokens":1}}},"session_id":"s-1","parent_tool_use_id":null})"
         "\n"
         R"({"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Answer"}},"session_id":"s-1","parent_tool_use_id":null})"
         "\n"
         R"({"type":"assistant","message":{"id":"msg_1","model":"claude-opus-4-8","content":[{"type":"text","text":"Answer"}],"usage":{"input_tokens":1000,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"s-1"})"
         "\n";
}

cli_run_context stream_context() {
  auto ctx = context();
  ctx.event_stream = true;
  return ctx;
}

} // namespace

TEST_CASE("an event stream's result event reads exactly like the JSON result", "[cli_result][progress]") {
  auto raw = fixture("success.json");
  auto single_line = json::parse(raw).dump();
  auto from_json = interpret_cli_run(exited(0, raw), context());
  auto from_stream =
    interpret_cli_run(exited(0, stream_before_result() + single_line + "\n"), stream_context());
  CHECK(from_stream.success);
  CHECK(nlohmann::json(from_stream) == nlohmann::json(from_json));

  // An API error reported in the stream is the same failure as in JSON.
  auto error_line = json::parse(fixture("error_529.json")).dump();
  auto err_json = interpret_cli_run(exited(1, fixture("error_529.json")), context());
  auto err_stream =
    interpret_cli_run(exited(1, stream_before_result() + error_line + "\n"), stream_context());
  CHECK_FALSE(err_stream.success);
  CHECK(err_stream.api_error_status == err_json.api_error_status);
  CHECK(err_stream.output == err_json.output);
  CHECK(err_stream.subtype == err_json.subtype);
  CHECK(err_stream.exit_code == std::optional<std::int32_t>(1));
}

TEST_CASE("the last result event of a stream wins", "[cli_result][progress]") {
  auto first = result_json("success", false);
  first["result"] = "first";
  auto last = result_json("success", false);
  last["result"] = "last";
  auto out = stream_before_result() + first.dump() + "\n" + stream_before_result() + last.dump()
             + "\n";
  auto r = interpret_cli_run(exited(0, out), stream_context());
  CHECK(r.success);
  CHECK(r.output == "last");
}

TEST_CASE("an event stream without a result event fails as a JSON run without one does",
          "[cli_result][progress]") {
  auto events = stream_before_result();
  SECTION("exit 0: unparsable output, described by the stream's last line") {
    auto r = interpret_cli_run(exited(0, events, "some stderr"), stream_context());
    CHECK_FALSE(r.success);
    CHECK(r.subtype == std::optional<std::string>("unparsable_output"));
    CHECK_THAT(r.output, Contains("without a result event"));
    CHECK_THAT(r.output, Contains(R"("type":"assistant")"));
    CHECK(r.exit_code == std::optional<std::int32_t>(0));
    CHECK(r.stderr_text == std::optional<std::string>("some stderr"));
    CHECK(r.failed_command == std::optional<std::string>(command));
  }
  SECTION("a non-zero exit: exit_error with the code and the stderr") {
    auto r = interpret_cli_run(exited(3, events, "boom"), stream_context());
    CHECK(r.subtype == std::optional<std::string>("exit_error"));
    CHECK(r.exit_code == std::optional<std::int32_t>(3));
    CHECK(r.stderr_text == std::optional<std::string>("boom"));
  }
  SECTION("killed by a signal: crashed") {
    auto o = exited(-1, events, "Killed");
    o.end = process_end::signaled;
    o.signal = 9;
    auto r = interpret_cli_run(o, stream_context());
    CHECK(r.subtype == std::optional<std::string>("crashed"));
    CHECK(r.exit_code == std::optional<std::int32_t>(137));
  }
  SECTION("nothing at all: empty_output") {
    auto r = interpret_cli_run(exited(0, ""), stream_context());
    CHECK(r.subtype == std::optional<std::string>("empty_output"));
  }
}

TEST_CASE("the result's usage becomes the task's token counts", "[cli_result]") {
  auto r = interpret_cli_run(exited(0, fixture("success.json")), context());
  REQUIRE(r.usage);
  CHECK(r.usage->input_tokens == 8);
  CHECK(r.usage->output_tokens == 9);
  CHECK(r.usage->cache_creation_input_tokens == 0);
  auto j = result_json("success", false);
  j["usage"] = json{{"input_tokens", 3}, {"output_tokens", 4},
                    {"cache_creation_input_tokens", 5}, {"cache_read_input_tokens", 600}};
  auto with = interpret_cli_run(exited(0, j.dump()), context());
  REQUIRE(with.usage);
  CHECK(with.usage->cache_read_input_tokens == 600);
  CHECK(nlohmann::json(with)["usage"]["cache_creation_input_tokens"] == 5);
  // No usage, or an odd one: none, rather than zeros that look measured.
  CHECK_FALSE(interpret_cli_run(exited(0, result_json("success", false).dump()), context()).usage);
  j["usage"] = "lots";
  CHECK_FALSE(interpret_cli_run(exited(0, j.dump()), context()).usage);
}
