// The pool running the real pinned `claude` CLI against the loopback mock API.
#include <catch2/catch.hpp>

#include <algorithm>

#include "real_cli_fixture.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

TEST_CASE("one task runs through the real CLI and reports its result, cost and session",
          "[integration]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  auto rec = p.run("Say hello [[mock:usage=1000/200]]");
  INFO(nlohmann::json(rec).dump());
  REQUIRE(rec.state == task_state::completed);
  REQUIRE(rec.result);
  CHECK(rec.result->output == "Answer: Say hello");
  // 1000 in + 200 out at the CLI's opus prices ($5 / $25 per million): $0.01.
  CHECK(rec.result->cost_microdollars == 10000);
  CHECK(rec.result->turns_used == 1);
  CHECK(rec.result->model == std::string("claude-opus-4-8"));
  REQUIRE(rec.result->session_id);
  CHECK(rec.result->session_id->size() == 36);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].session_header == *rec.result->session_id);
}

TEST_CASE("8 tasks on 4 slots run overlapping in time", "[integration]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(4));
  std::vector<task_id> ids;
  auto start = now_ms();
  for (int i = 0; i < 8; ++i)
    ids.push_back(p.submit("task " + std::to_string(i) + " [[mock:delay_ms=1500]]"));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  std::set<std::string> slots_used;
  std::uint64_t busy_sum = 0;
  for (auto& id : ids) {
    auto rec = p.wait(id);
    INFO(nlohmann::json(rec).dump());
    REQUIRE(rec.state == task_state::completed);
    spans.emplace_back(*rec.started_at_ms, *rec.completed_at_ms);
    busy_sum += *rec.completed_at_ms - *rec.started_at_ms;
    slots_used.insert(rec.slot_id->value);
  }
  auto wall = now_ms() - start;
  // The largest number of tasks running at the same moment.
  std::size_t max_overlap = 0;
  for (auto& [s, e] : spans) {
    auto at_s = std::count_if(spans.begin(), spans.end(),
                              [&](auto& o) { return o.first <= s && s < o.second; });
    max_overlap = std::max<std::size_t>(max_overlap, static_cast<std::size_t>(at_s));
  }
  INFO("wall " << wall << " ms, sum of task times " << busy_sum << " ms");
  CHECK(max_overlap >= 3);
  CHECK(max_overlap <= 4);
  CHECK(slots_used.size() == 4);
  CHECK(wall < busy_sum); // parallel, not one after another
}

TEST_CASE("a persistent slot resumes its session: the second request carries the first "
          "exchange",
          "[integration]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.slot_mode = slot_mode::persistent;
  claude_pool::pool p(cfg);
  auto first = p.run("first question [[mock:reply=first answer]]");
  REQUIRE(first.state == task_state::completed);
  auto second = p.run("second question");
  REQUIRE(second.state == task_state::completed);
  // Forked from the first task's session: a new id, the same conversation.
  CHECK(second.result->session_id != first.result->session_id);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 2);
  auto texts = user_texts(reqs[1].body);
  auto has = [&](const std::string& needle) {
    return std::any_of(texts.begin(), texts.end(),
                       [&](auto& t) { return t.find(needle) != std::string::npos; });
  };
  CHECK(has("first question"));
  CHECK(has("second question"));
  CHECK(reqs[1].body.dump().find("first answer") != std::string::npos);
}

TEST_CASE("a failed task's prompt does not leak into a persistent slot's next task",
          "[integration]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  REQUIRE(p.run("remember the colour blue").state == task_state::completed);
  REQUIRE(p.run("this one fails [[mock:status=500]]").state == task_state::failed);
  REQUIRE(p.run("what colour?").state == task_state::completed);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 3);
  auto last = reqs[2].body.dump();
  CHECK(last.find("remember the colour blue") != std::string::npos);
  CHECK(last.find("this one fails") == std::string::npos);
}

TEST_CASE("an ephemeral slot starts every task in a fresh session", "[integration]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.slot_mode = slot_mode::ephemeral;
  claude_pool::pool p(cfg);
  auto first = p.run("first question");
  auto second = p.run("second question");
  REQUIRE(second.state == task_state::completed);
  CHECK(second.result->session_id != first.result->session_id);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].body.dump().find("first question") == std::string::npos);
}

TEST_CASE("a 1 MB prompt with shell syntax, quotes, newlines and UTF-8 arrives intact",
          "[integration]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  std::string prompt = "-starts with a dash $(rm -rf /) `id` \"quoted\" 'single' ; | & \n"
                       "ünïcödé ✓ 日本語 emoji 🚀\n";
  while (prompt.size() < (1u << 20))
    prompt += "line " + std::to_string(prompt.size()) + " with $HOME and \\ backslash\n";
  auto rec = p.run(prompt);
  INFO((rec.result ? rec.result->output.substr(0, 300) : std::string("no result")));
  REQUIRE(rec.state == task_state::completed);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 1);
  auto texts = user_texts(reqs[0].body);
  bool intact = std::any_of(texts.begin(), texts.end(), [&](const std::string& t) {
    // The CLI may trim trailing blanks; everything else must be byte-exact.
    auto trimmed = prompt.substr(0, prompt.find_last_not_of(" \n") + 1);
    return t == prompt || t == trimmed;
  });
  CHECK(intact);
}

TEST_CASE("cancelling a running task leaves no CLI process behind", "[integration]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  auto id = p.submit("hang for a while [[mock:delay_ms=60000]]");
  // Wait until the CLI is really talking to the API.
  REQUIRE(eventually([&] { return fx.model_requests().size() == 1; }));
  REQUIRE(processes_with_marker(fx.marker) >= 1);
  auto rec = p.cancel(id);
  CHECK(rec.state == task_state::cancelled);
  CHECK(processes_with_marker(fx.marker) == 0);
  CHECK(p.result(id).state == task_state::cancelled);
}

TEST_CASE("a task that exceeds its timeout fails and its processes are gone",
          "[integration]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.task_timeout_secs = 3;
  claude_pool::pool p(cfg);
  auto rec = p.run("slow [[mock:delay_ms=60000]]");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "timeout");
  CHECK_THAT(rec.result->output, Catch::Contains("timeout of 3 s"));
  CHECK(processes_with_marker(fx.marker) == 0);
}

TEST_CASE("a missing claude binary gives a clear failed result", "[integration]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.claude_bin = "/nonexistent/bin/claude";
  claude_pool::pool p(cfg);
  auto rec = p.run("hello");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "spawn_failed");
  CHECK_THAT(rec.result->output, Catch::Contains("/nonexistent/bin/claude"));
  REQUIRE(rec.result->failed_command);
  CHECK(rec.result->failed_command->find("hello") == std::string::npos);
}

TEST_CASE("a 401 from the real CLI fails the task and opens the breaker: no retry storm",
          "[integration]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  auto rec = p.run("please fail [[mock:status=401]]");
  REQUIRE(rec.state == task_state::failed);
  CHECK(rec.result->api_error_status == 401);
  CHECK(rec.result->exit_code == 1);
  CHECK_THAT(rec.result->output, Catch::Contains("401"));
  CHECK_THAT(rec.result->output, Catch::Contains("fix credential \"default\""));
  // The account is refused: the pool stops routing (auth_failure: fail, the default), so
  // the next task fails at once, saying why, without starting a CLI.
  auto next = p.run("would fail the same way");
  REQUIRE(next.state == task_state::failed);
  CHECK(next.result->subtype == "auth_failed");
  CHECK_THAT(next.result->output, Catch::Contains("login was refused"));
  auto st = p.status();
  REQUIRE(st.slots.size() == 1);
  CHECK(st.slots[0].state != slot_state::errored); // the breaker, not the supervisor
  CHECK(st.slots[0].restart_count == 0);
  CHECK(fx.model_requests().size() == 1); // no second request: no retry storm
}

TEST_CASE("structured output from the real CLI lands in the result", "[integration]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  task_overrides o;
  o.json_schema = nlohmann::json::parse(
    R"({"type":"object","properties":{"k":{"type":"string"}},"required":["k"]})");
  auto rec = p.run(task_submission{R"(give json [[mock:structured={"k":"v"}]])", {}, o});
  INFO(nlohmann::json(rec).dump());
  REQUIRE(rec.state == task_state::completed);
  REQUIRE(rec.result->structured_output);
  CHECK((*rec.result->structured_output)["k"] == "v");
}

TEST_CASE("a 529 from the real CLI pauses the pool, then the task runs without using an "
          "attempt",
          "[integration][supervision]") {
  real_cli_fixture fx;
  auto cfg = fx.config(2);
  cfg.rate_limit_cooldown_secs = 1;
  claude_pool::pool p(cfg);
  auto rec = p.run("busy API [[mock:status=529]] [[mock:status_times=1]]");
  INFO(nlohmann::json(rec).dump());
  REQUIRE(rec.state == task_state::completed);
  CHECK(rec.rate_limit_waits == 1);
  CHECK(rec.attempts.empty());
  CHECK(fx.model_requests().size() == 2);
  auto st = p.status();
  bool seen = false;
  for (auto& e : st.events)
    seen |= e.kind == "rate_limited";
  CHECK(seen);
  for (auto& s : st.slots)
    CHECK(s.restart_count == 0);
}

TEST_CASE("a 500 from the real CLI fails the task, keeps the slot, and a task with attempts "
          "is retried",
          "[integration][supervision]") {
  real_cli_fixture fx;
  claude_pool::pool p(fx.config(1));
  auto once = p.run("server trouble [[mock:status=500]]");
  REQUIRE(once.state == task_state::failed);
  CHECK(once.result->api_error_status == 500);
  auto retried = p.run(task_submission{"flaky server [[mock:status=500]] [[mock:status_times=1]]",
                                       {}, {}, 2});
  INFO(nlohmann::json(retried).dump());
  REQUIRE(retried.state == task_state::completed);
  REQUIRE(retried.attempts.size() == 1);
  CHECK_THAT(retried.attempts[0].reason, Catch::Contains("500"));
  CHECK(p.status().slots[0].restart_count == 0);
}
