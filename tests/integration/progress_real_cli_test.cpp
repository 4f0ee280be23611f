// Live progress through the real CLI and the mock API: the executor runs a task with
// `live_progress`, the CLI's event stream feeds the progress tracker, the watcher hears
// about turns, tools, partial text and the final cost before the task's result; and a
// task's own working directory is where the CLI really runs.
#include <catch2/catch.hpp>

#include <cctype>
#include <condition_variable>
#include <mutex>

#include "runtime/cli/cli_executor.hpp"
#include "real_cli_fixture.hpp"
#include "../support/temp_dir.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t request_cost = 10000; // usage=1000/200 at $5/$25 per MTok

/// What one execution reported, in order, and whether anything came after its result.
struct progress_log {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<task_progress> calls;
  std::optional<task_result> result;
  std::size_t calls_before_done = 0;
  bool called_after_done = false;

  /// Starts `req` on `exec` with live progress recorded here.
  void start(cli_executor& exec, execution_request req) {
    req.live_progress = true;
    req.on_progress = [this](const task_progress& p) {
      std::lock_guard<std::mutex> lock(mutex);
      if (result)
        called_after_done = true;
      calls.push_back(p);
    };
    exec.start(std::move(req), [this](task_result r) {
      std::lock_guard<std::mutex> lock(mutex);
      calls_before_done = calls.size();
      result = std::move(r);
      changed.notify_all();
    });
  }

  /// The result, once `done` ran (fails the test after two minutes).
  task_result wait() {
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::minutes(2), [&] { return result.has_value(); }));
    return *result;
  }

  std::vector<task_progress> seen() {
    std::lock_guard<std::mutex> lock(mutex);
    return calls;
  }
};

execution_request request(const pool_config& cfg, std::string prompt) {
  execution_request req;
  req.task = make_task_id();
  req.slot = slot_id{"slot-1"};
  req.prompt = std::move(prompt);
  req.config = resolve_config(cfg, slot_config{}, nullptr);
  req.config.allowed_tools = {"Bash"};
  return req;
}

pool_config bare_config(const real_cli_fixture& fx) {
  auto cfg = fx.config(1);
  cfg.bare = true;
  return cfg;
}

/// The CLI's session directory name for a working directory: every character other than a
/// letter or digit becomes `-`.
std::string project_dir_name(const std::string& cwd) {
  std::string out = cwd;
  for (auto& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      c = '-';
  return out;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const std::string tool_prompt = R"(run it [[mock:tool_use=Bash {"command":"echo hi"}]] )"
                                "[[mock:usage=1000/200]] [[mock:reply=The final answer is here.]]";

} // namespace

TEST_CASE("a one-shot task with live progress reports turns, the tool, the answer and the "
          "final cost before its result",
          "[integration][progress]") {
  real_cli_fixture fx;
  auto cfg = bare_config(fx);
  progress_log log;
  {
    cli_executor exec(cfg, real_cli());
    log.start(exec, request(cfg, tool_prompt));
    auto r = log.wait();
    INFO(nlohmann::json(r).dump());
    REQUIRE(r.success);
    CHECK(r.output == "The final answer is here.");
    CHECK(r.session_id);
    CHECK(r.turns_used == 2);
    CHECK(r.cost_microdollars == 2 * request_cost); // a tool call and the answer: 2 requests
    CHECK(r.model == std::optional<std::string>("claude-opus-4-8"));
  } // the executor is gone: every callback it could make has run

  auto calls = log.seen();
  REQUIRE(calls.size() >= 2);
  CHECK(log.calls_before_done == calls.size());
  CHECK_FALSE(log.called_after_done);
  // Progress while running: an estimate, then the final figure last.
  CHECK_FALSE(calls.front().cost_is_final);
  auto& last = calls.back();
  CHECK(last.cost_is_final);
  CHECK(last.cost_microdollars == log.result->cost_microdollars);
  CHECK(last.turns >= 2);
  CHECK(last.tool_uses >= 1);
  CHECK(last.last_tool == std::optional<std::string>("Bash"));
  CHECK(last.partial_output == "The final answer is here.");
  CHECK(last.input_tokens == 2000);
  CHECK(last.output_tokens == 400);
  CHECK(last.updated_at_ms > 0);
  // The tool call was reported as it happened, before the answer's turn.
  bool tool_before_answer = false;
  for (auto& p : calls)
    if (p.tool_uses == 1 && p.turns == 1)
      tool_before_answer = true;
  CHECK(tool_before_answer);
  // Nothing goes backwards.
  for (std::size_t i = 1; i < calls.size(); ++i) {
    CHECK(calls[i].turns >= calls[i - 1].turns);
    CHECK(calls[i].tool_uses >= calls[i - 1].tool_uses);
    CHECK(calls[i].updated_at_ms >= calls[i - 1].updated_at_ms);
  }
}

TEST_CASE("a slowly streamed answer is reported piece by piece", "[integration][progress]") {
  real_cli_fixture fx;
  auto cfg = bare_config(fx);
  std::string answer;
  for (int i = 0; i < 8; ++i)
    answer += "Sentence number " + std::to_string(i) + " of a long streamed answer. ";
  progress_log log;
  cli_executor exec(cfg, real_cli());
  log.start(exec,
            request(cfg, "stream [[mock:usage=1000/200]] [[mock:chunk_delay_ms=150]] [[mock:reply="
                           + answer + "]]"));
  auto r = log.wait();
  INFO(nlohmann::json(r).dump());
  REQUIRE(r.success);
  CHECK(r.cost_microdollars == request_cost);
  auto calls = log.seen();
  std::size_t partial = 0;
  for (auto& p : calls)
    if (!p.partial_output.empty() && p.partial_output.size() < r.output.size()) {
      CHECK(r.output.compare(0, p.partial_output.size(), p.partial_output) == 0);
      ++partial;
    }
  CHECK(partial >= 2); // the mock sends 48-byte deltas 150 ms apart: each one is a report
  CHECK(calls.back().partial_output == r.output);
  CHECK(calls.back().cost_microdollars == request_cost);
  CHECK(calls.back().cost_is_final);
}

TEST_CASE("a failed one-shot task with live progress still parses as a failure",
          "[integration][progress]") {
  real_cli_fixture fx;
  auto cfg = bare_config(fx);
  progress_log log;
  cli_executor exec(cfg, real_cli());
  log.start(exec, request(cfg, "fail [[mock:status=529]]"));
  auto r = log.wait();
  INFO(nlohmann::json(r).dump());
  CHECK_FALSE(r.success);
  CHECK(r.api_error_status == std::optional<std::int32_t>(529));
  CHECK(r.exit_code == std::optional<std::int32_t>(1));
  auto calls = log.seen();
  REQUIRE_FALSE(calls.empty());
  CHECK(calls.back().turns == 0); // the CLI's synthetic error message is no model turn
  CHECK(calls.back().cost_is_final);
  CHECK(calls.back().cost_microdollars == 0);
}

TEST_CASE("a task's working_dir is where the CLI runs, one-shot", "[integration][progress]") {
  real_cli_fixture fx;
  auto cfg = bare_config(fx); // its working_dir is the fixture's HOME
  temp_dir wd{"claude-pool-progress-wd"};
  progress_log log;
  cli_executor exec(cfg, real_cli());
  auto req = request(cfg, R"(where [[mock:tool_use=Bash {"command":"pwd > where.txt"}]])");
  req.working_dir = wd.path;
  log.start(exec, std::move(req));
  auto r = log.wait();
  INFO(nlohmann::json(r).dump());
  REQUIRE(r.success);
  REQUIRE(r.session_id);
  // The Bash tool ran there, and the CLI filed the session under that directory.
  CHECK(read_all(wd / "where.txt") == wd.path + "\n");
  auto projects = fx.home / ".claude" / "projects";
  CHECK(fs::exists(projects / project_dir_name(wd.path) / (*r.session_id + ".jsonl")));
  CHECK_FALSE(fs::exists(projects / project_dir_name(fx.home.string())));
}

TEST_CASE("warm tasks report their own progress, another working_dir takes another process",
          "[integration][progress][warm]") {
  real_cli_fixture fx;
  auto cfg = bare_config(fx);
  cfg.execution = execution_mode::warm;
  cfg.slot_mode = slot_mode::ephemeral;
  temp_dir wd{"claude-pool-progress-wd"};
  cli_executor exec(cfg, real_cli());
  auto warm_request = [&](std::string prompt) {
    auto req = request(cfg, std::move(prompt));
    req.config.execution = execution_mode::warm;
    return req;
  };

  // Two tasks in one process: the second's final cost is its own, not the process's total.
  for (int i = 0; i < 2; ++i) {
    progress_log log;
    log.start(exec, warm_request(tool_prompt));
    auto r = log.wait();
    INFO(nlohmann::json(r).dump());
    REQUIRE(r.success);
    CHECK(r.cost_microdollars == 2 * request_cost);
    auto calls = log.seen();
    REQUIRE(calls.size() >= 2);
    CHECK(log.calls_before_done == calls.size());
    auto& last = calls.back();
    CHECK(last.turns == 2); // /clear before the second task is not counted
    CHECK(last.tool_uses == 1);
    CHECK(last.last_tool == std::optional<std::string>("Bash"));
    CHECK(last.partial_output == "The final answer is here.");
    CHECK(last.output_tokens == 400);
    CHECK(last.cost_is_final);
    CHECK(last.cost_microdollars == r.cost_microdollars);
  }
  CHECK(exec.warm_processes_started() == 1);

  // Same slot, another directory: a new process, running there.
  progress_log log;
  auto req = warm_request(R"(where [[mock:tool_use=Bash {"command":"pwd > where.txt"}]])");
  req.working_dir = wd.path;
  log.start(exec, std::move(req));
  auto r = log.wait();
  INFO(nlohmann::json(r).dump());
  REQUIRE(r.success);
  CHECK(exec.warm_processes_started() == 2);
  CHECK(read_all(wd / "where.txt") == wd.path + "\n");
  CHECK_FALSE(log.called_after_done);
}
