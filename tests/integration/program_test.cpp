// The claude-pool program as a user runs it: exit codes, batch order, errors that name the
// problem. It runs the real CLI against its own bundled mock API (no ANTHROPIC_API_KEY).
#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <sstream>

#include "messages/json.hpp"
#include "real_cli_fixture.hpp"
#include "runtime/process/process_runner.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

namespace {

runtime::process_outcome run_program(std::vector<std::string> args, std::string stdin_data = {}) {
  static runtime::process_runner runner;
  runtime::process_request req;
  req.executable = CLAUDE_POOL_APP;
  req.args = std::move(args);
  req.stdin_data = std::move(stdin_data);
  req.env_unset = {"ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_POOL_CLAUDE_BIN"};
  req.timeout = std::chrono::minutes(5);
  std::promise<runtime::process_outcome> done;
  runner.start(req, [&](runtime::process_outcome o) { done.set_value(std::move(o)); });
  return done.get_future().get();
}

std::vector<nlohmann::json> lines_of(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty())
      v.push_back(nlohmann::json::parse(line));
  return v;
}

std::string write_temp(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << content;
  return path.string();
}

} // namespace

TEST_CASE("claude-pool batch prints one record per input line, in order, and exits 1 when "
          "one failed",
          "[integration][program]") {
  auto file = write_temp("claude-pool-batch-test.jsonl",
                         R"({"prompt": "first [[mock:delay_ms=800]]", "tags": ["a"]})" "\n"
                         R"({"prompt": "second fails [[mock:status=401]]"})" "\n"
                         "\n"
                         R"({"prompt": "third", "config": {"max_turns": 3}})" "\n");
  auto out = run_program({"batch", "--slots", "3", file});
  INFO(out.stderr_data);
  CHECK(out.exit_code == 1);
  auto lines = lines_of(out.stdout_data);
  REQUIRE(lines.size() == 3);
  auto first = lines[0].get<task_record>();
  auto second = lines[1].get<task_record>();
  auto third = lines[2].get<task_record>();
  CHECK(first.prompt == "first [[mock:delay_ms=800]]");
  CHECK(first.state == task_state::completed);
  CHECK(first.tags == std::vector<std::string>{"a"});
  CHECK(second.state == task_state::failed);
  CHECK(second.result->api_error_status == 401);
  CHECK(third.state == task_state::completed);
  CHECK(third.config->max_turns == 3u);
  CHECK_THAT(out.stderr_data, Catch::Contains("mock API"));
}

TEST_CASE("claude-pool run prints the answer and exits 0, --json prints the TaskRecord",
          "[integration][program]") {
  auto plain = run_program({"run", "hello there"});
  CHECK(plain.exit_code == 0);
  CHECK(plain.stdout_data == "Answer: hello there\n");
  auto json = run_program({"run", "--json", "-"}, "from stdin");
  CHECK(json.exit_code == 0);
  auto rec = nlohmann::json::parse(json.stdout_data).get<task_record>();
  CHECK(rec.prompt == "from stdin");
  CHECK(rec.state == task_state::completed);
}

TEST_CASE("claude-pool refuses bad input with exit code 2 and a message naming the problem",
          "[integration][program]") {
  auto bad_line = write_temp("claude-pool-bad.jsonl",
                             R"({"prompt": "ok"})" "\n" R"({"prompt": "x", "config": {"max_turns": "many"}})" "\n");
  auto out = run_program({"batch", bad_line});
  CHECK(out.exit_code == 2);
  CHECK_THAT(out.stderr_data, Catch::Contains("claude-pool-bad.jsonl:2"));
  CHECK_THAT(out.stderr_data, Catch::Contains("max_turns"));
  CHECK(out.stdout_data.empty());

  auto bad_cfg = write_temp("claude-pool-bad-config.json", R"({"scaling": {"min_slots": "two"}})");
  out = run_program({"run", "--config", bad_cfg, "hi"});
  CHECK(out.exit_code == 2);
  CHECK_THAT(out.stderr_data, Catch::Contains("pool_config.scaling.min_slots"));

  out = run_program({"run", "--slots", "0", "hi"});
  CHECK(out.exit_code == 2);
  CHECK_THAT(out.stderr_data, Catch::Contains("--slots"));

  out = run_program({"frobnicate"});
  CHECK(out.exit_code == 2);
}

TEST_CASE("claude-pool run with a missing CLI fails with exit code 1 naming the binary",
          "[integration][program]") {
  auto out = run_program({"run", "--claude-bin", "/nonexistent/claude", "hi"});
  CHECK(out.exit_code == 1);
  CHECK_THAT(out.stderr_data, Catch::Contains("/nonexistent/claude"));
}

TEST_CASE("claude-pool batch --metrics prints the session metrics and --metrics-json writes "
          "them",
          "[integration][program]") {
  auto file = write_temp("claude-pool-metrics.jsonl",
                         R"({"prompt": "one [[mock:usage=1000/200]]", "tags": ["m"]})" "\n"
                         R"({"prompt": "two [[mock:usage=1000/200]]"})" "\n");
  auto json_path = (std::filesystem::temp_directory_path() / "claude-pool-metrics.json").string();
  auto out = run_program({"batch", "--slots", "2", "--metrics", "--metrics-json", json_path, file});
  INFO(out.stderr_data);
  CHECK(out.exit_code == 0);
  CHECK_THAT(out.stderr_data, Catch::Contains("tasks      2 (2 completed"));
  CHECK_THAT(out.stderr_data, Catch::Contains("$0.020000 total"));
  std::ifstream in(json_path);
  auto m = nlohmann::json::parse(in).get<session_metrics>();
  CHECK(m.completed_tasks == 2);
  CHECK(m.total_spend_microdollars == 20000); // 2 × (1000 in + 200 out at $5/$25 per M)
  CHECK(m.tasks_by_model.at("claude-opus-4-8") == 2);
}

TEST_CASE("claude-pool batch --budget: one line per input, refusals as failed lines with the "
          "reason, warnings on stderr, the budget in --status",
          "[integration][program][budget]") {
  auto file = write_temp("claude-pool-budget.jsonl",
                         R"({"prompt": "too big", "config": {"max_budget_usd": 1.0}})" "\n"
                         R"({"prompt": "a [[mock:usage=1000/200]]"})" "\n"
                         R"({"prompt": "b [[mock:usage=1000/200]]"})" "\n"
                         R"({"prompt": "c [[mock:usage=1000/200]]"})" "\n"
                         R"({"prompt": "d [[mock:usage=1000/200]]"})" "\n"
                         R"({"prompt": "e [[mock:usage=1000/200]]"})" "\n");
  auto out = run_program(
    {"batch", "--slots", "2", "--budget", "0.035", "--reserve", "0.011", "--status", file});
  INFO(out.stderr_data);
  CHECK(out.exit_code == 1);
  auto lines = lines_of(out.stdout_data);
  REQUIRE(lines.size() == 6);
  auto big = lines[0].get<task_record>();
  CHECK(big.state == task_state::failed);
  CHECK(big.result->subtype == std::string("task_budget_exceeds_remaining"));
  CHECK_THAT(big.result->output, Catch::Contains("$1.000000") && Catch::Contains("$0.035000 cap"));
  int completed = 0, exhausted = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto rec = lines[i].get<task_record>();
    if (rec.state == task_state::completed)
      ++completed;
    else if (rec.result && rec.result->subtype == std::string("budget_exhausted"))
      ++exhausted;
  }
  CHECK(completed == 3); // $0.03 of $0.035; the next would need $0.0125
  CHECK(exhausted == 2);
  CHECK_THAT(out.stderr_data, Catch::Contains("claude-pool: budget_warning: 50 % of the budget"));
  CHECK_THAT(out.stderr_data, Catch::Contains("budget     $0.030000 spent"));
}

TEST_CASE("claude-pool chain runs a chain file, prints the last output, and --json the record",
          "[integration][program][chain]") {
  auto file = write_temp("claude-pool-chain-test.json", R"({
    "steps": [
      {"name": "plan", "prompt": "plan [[mock:reply={\"target\": \"a.cpp\"}]]",
       "output_vars": {"target": "target"}},
      {"name": "do", "prompt": "work on {steps.plan.target} [[mock:echo]]"}
    ]
  })");
  auto out = run_program({"chain", file});
  INFO(out.stderr_data);
  CHECK(out.exit_code == 0);
  CHECK(out.stdout_data.find("work on a.cpp") != std::string::npos);
  CHECK(out.stderr_data.find("[chain] step \"plan\": completed") != std::string::npos);

  auto js = run_program({"chain", "--json", file});
  INFO(js.stderr_data);
  CHECK(js.exit_code == 0);
  auto rec = nlohmann::json::parse(js.stdout_data);
  CHECK(rec["state"] == "completed");
  CHECK(rec["steps"].size() == 2);
  CHECK(rec["steps"][0]["vars"]["target"] == "a.cpp");
  CHECK(rec["steps"][1]["state"] == "completed");
  CHECK(rec["cost_microdollars"].get<std::uint64_t>() > 0);
}

TEST_CASE("claude-pool chain names a bad chain file and exits 2, a failed chain exits 1",
          "[integration][program][chain]") {
  auto bad = write_temp("claude-pool-chain-bad.json",
                        R"({"steps": [{"name": "a", "prompt": "{steps.b.x}"}]})");
  auto out = run_program({"chain", bad});
  CHECK(out.exit_code == 2);
  CHECK(out.stderr_data.find("chain.steps[0].prompt: {steps.b.x} names no earlier step")
        != std::string::npos);

  auto typo = write_temp("claude-pool-chain-typo.json",
                         R"({"steps": [{"name": "a", "prompt": "x", "retries": 2}]})");
  out = run_program({"chain", typo});
  CHECK(out.exit_code == 2);
  CHECK(out.stderr_data.find("chain.steps[0].retries") != std::string::npos);

  auto failing = write_temp("claude-pool-chain-fails.json",
                            R"({"steps": [{"name": "a", "prompt": "x [[mock:status=400]]"},
                                          {"name": "b", "prompt": "y"}]})");
  out = run_program({"chain", "--json", failing});
  CHECK(out.exit_code == 1);
  auto rec = nlohmann::json::parse(out.stdout_data);
  CHECK(rec["state"] == "failed");
  CHECK(rec["steps"][1]["state"] == "skipped");
}

TEST_CASE("claude-pool batch --live prints progress lines for running tasks",
          "[integration][program][progress]") {
  auto file = write_temp("claude-pool-live-test.jsonl",
                         R"({"prompt": "slow answer [[mock:delay_ms=1500]] [[mock:reply=all done]]"})" "\n");
  auto out = run_program({"batch", "--live", file});
  INFO(out.stderr_data);
  CHECK(out.exit_code == 0);
  auto lines = lines_of(out.stdout_data);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["live_progress"] == true);
  REQUIRE(lines[0].contains("progress"));
  CHECK(lines[0]["progress"]["cost_is_final"] == true);
  CHECK(lines[0]["progress"]["turns"].get<int>() >= 1);
  // While it ran, stderr got at least one line about it.
  auto id = lines[0]["id"].get<std::string>();
  CHECK(out.stderr_data.find("[" + id + "] turns") != std::string::npos);
}
