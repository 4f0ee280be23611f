#include <catch2/catch.hpp>

#include "runtime/cli/cli_executor.hpp"
#include "runtime/cli/resolved_config.hpp"
#include "runtime/cli/stream_json.hpp"

using namespace claude_pool;
using namespace claude_pool::stream_json;

TEST_CASE("lines are split across chunks, empty lines dropped", "[stream_json]") {
  line_splitter s;
  CHECK(s.feed("{\"a\":1}\n{\"b\"").size() == 1);
  CHECK(s.pending() == 4);
  auto rest = s.feed(":2}\n\n{\"c\":3}\n");
  REQUIRE(rest.size() == 2);
  CHECK(rest[0] == "{\"b\":2}");
  CHECK(rest[1] == "{\"c\":3}");
}

TEST_CASE("user and control lines are one JSON object per line", "[stream_json]") {
  auto line = user_line("say \"hi\"\nthen stop");
  REQUIRE(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  auto j = nlohmann::json::parse(line);
  CHECK(j["type"] == "user");
  CHECK(j["message"]["content"] == "say \"hi\"\nthen stop");
  auto c = nlohmann::json::parse(control_line("r1", {{"subtype", "interrupt"}}));
  CHECK(c["type"] == "control_request");
  CHECK(c["request_id"] == "r1");
  CHECK(c["request"]["subtype"] == "interrupt");
}

TEST_CASE("cumulative result figures become the last task's own", "[stream_json]") {
  cumulative_cost before;
  auto first = nlohmann::json::parse(R"({"type":"result","total_cost_usd":0.01,"num_turns":1,
    "modelUsage":{"claude-opus-4-8[1m]":{"costUSD":0.01}}})");
  auto one = per_task_result(first, before);
  CHECK(one["total_cost_usd"].get<double>() == Approx(0.01));
  // The second task switched model: only the new model ran it.
  auto second = nlohmann::json::parse(R"({"type":"result","total_cost_usd":0.016,"num_turns":1,
    "modelUsage":{"claude-opus-4-8[1m]":{"costUSD":0.01},"claude-sonnet-4-5":{"costUSD":0.006}}})");
  auto two = per_task_result(second, before);
  CHECK(two["total_cost_usd"].get<double>() == Approx(0.006));
  REQUIRE(two["modelUsage"].size() == 1);
  CHECK(two["modelUsage"].contains("claude-sonnet-4-5"));
  CHECK(two["num_turns"] == 1);
  CHECK(before.total_usd == Approx(0.016));
}

TEST_CASE("warm argv reads and writes stream-json, the key ignores only the model",
          "[stream_json]") {
  auto args = warm_cli_args({"-p", "--output-format=json", "--model=x"});
  CHECK(args == std::vector<std::string>{"-p", "--input-format=stream-json", "--verbose",
                                         "--output-format=stream-json", "--model=x"});
  resolved_config a, b;
  a.model = "m1";
  b.model = "m2";
  CHECK(warm_process_key(a) == warm_process_key(b));
  b.system_prompt = "be brief";
  CHECK(warm_process_key(a) != warm_process_key(b));
  resolved_config c;
  CHECK(warm_process_key(a) == warm_process_key(c));
}
