// Warm slots through the real CLI and the mock API: one long-lived stream-json process per
// slot, per-task figures, fresh context for ephemeral slots, process-fixed settings, cancel
// and a killed process.
#include <catch2/catch.hpp>

#include <signal.h>

#include "runtime/cli/cli_executor.hpp"
#include "real_cli_fixture.hpp"

using namespace claude_pool;
using namespace claude_pool::testing;

namespace {

constexpr std::uint64_t task_cost = 10000; // 1000 in + 200 out at $5/$25 per M

struct warm_pool {
  std::shared_ptr<cli_executor> exec;
  std::unique_ptr<claude_pool::pool> pool;

  warm_pool(const real_cli_fixture& fx, std::uint64_t slots, slot_mode mode,
            std::optional<std::uint64_t> timeout = std::nullopt)
    : warm_pool(with_mode(fx.config(slots), mode, timeout)) {}

  explicit warm_pool(pool_config cfg) {
    cfg.execution = execution_mode::warm;
    cfg.restart_backoff_min_ms = 10;
    cfg.restart_backoff_max_ms = 20;
    exec = std::make_shared<cli_executor>(cfg, real_cli());
    pool_options opts;
    opts.executor = exec;
    pool = std::make_unique<claude_pool::pool>(cfg, opts);
  }

  static pool_config with_mode(pool_config cfg, slot_mode mode,
                               std::optional<std::uint64_t> timeout) {
    cfg.slot_mode = mode;
    cfg.task_timeout_secs = timeout;
    return cfg;
  }
};

bool mentions(const nlohmann::json& body, const std::string& word) {
  for (auto& t : user_texts(body))
    if (t.find(word) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("50 tasks on 2 warm slots: two processes, each task's own cost, sums that match",
          "[integration][warm]") {
  real_cli_fixture fx;
  warm_pool w(fx, 2, slot_mode::ephemeral);
  std::vector<task_id> ids;
  for (int i = 0; i < 50; ++i)
    ids.push_back(w.pool->submit("task " + std::to_string(i) + " [[mock:usage=1000/200]]"));
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto rec = w.pool->wait(ids[i]);
    INFO(nlohmann::json(rec).dump());
    REQUIRE(rec.state == task_state::completed);
    CHECK(rec.result->output == "Answer: task " + std::to_string(i));
    CHECK(rec.result->cost_microdollars == task_cost); // not the process's running total
    CHECK(rec.result->turns_used == 1);
    CHECK(rec.result->model == std::string("claude-opus-4-8"));
    total += rec.result->cost_microdollars;
  }
  CHECK(w.exec->warm_processes_started() == 2);
  CHECK(total == 50 * task_cost);
  std::uint64_t by_slots = 0;
  for (auto& s : w.pool->status().slots)
    by_slots += s.cost_microdollars;
  CHECK(by_slots == total);
  CHECK(fx.model_requests().size() == 50);
}

TEST_CASE("an ephemeral warm slot gives every task a fresh context", "[integration][warm]") {
  real_cli_fixture fx;
  warm_pool w(fx, 1, slot_mode::ephemeral);
  for (auto word : {"alpha", "bravo", "charlie"})
    REQUIRE(w.pool->run(std::string("say ") + word).state == task_state::completed);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 3);
  CHECK(w.exec->warm_processes_started() == 1);
  // Each request carries its own task's words and none of the earlier tasks'.
  CHECK(mentions(reqs[0].body, "alpha"));
  CHECK(mentions(reqs[1].body, "bravo"));
  CHECK_FALSE(mentions(reqs[1].body, "alpha"));
  CHECK(mentions(reqs[2].body, "charlie"));
  CHECK_FALSE(mentions(reqs[2].body, "alpha"));
  CHECK_FALSE(mentions(reqs[2].body, "bravo"));
}

TEST_CASE("a persistent warm slot keeps the conversation across tasks", "[integration][warm]") {
  real_cli_fixture fx;
  warm_pool w(fx, 1, slot_mode::persistent);
  REQUIRE(w.pool->run("remember delta").state == task_state::completed);
  REQUIRE(w.pool->run("and echo").state == task_state::completed);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 2);
  CHECK(mentions(reqs[1].body, "remember delta"));
  CHECK(mentions(reqs[1].body, "and echo"));
  CHECK(w.exec->warm_processes_started() == 1);
}

TEST_CASE("a task with a different system prompt gets a fresh process, a model change does not",
          "[integration][warm]") {
  real_cli_fixture fx;
  warm_pool w(fx, 1, slot_mode::ephemeral);
  REQUIRE(w.pool->run("plain").state == task_state::completed);
  task_submission other{"with a system prompt", {}, task_overrides{}};
  other.config->system_prompt = "You are terse.";
  REQUIRE(w.pool->run(other).state == task_state::completed);
  CHECK(w.exec->warm_processes_started() == 2);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].body.dump().find("You are terse.") != std::string::npos);
  CHECK(reqs[0].body.dump().find("You are terse.") == std::string::npos);
}

TEST_CASE("cancelling a warm task interrupts it, the next task runs clean", "[integration][warm]") {
  real_cli_fixture fx;
  warm_pool w(fx, 1, slot_mode::persistent);
  REQUIRE(w.pool->run("warm up").state == task_state::completed);
  auto id = w.pool->submit("hang here [[mock:delay_ms=60000]]");
  REQUIRE(eventually([&] { return fx.model_requests().size() == 2; }));
  auto rec = w.pool->cancel(id);
  CHECK(rec.state == task_state::cancelled);
  auto next = w.pool->run("after the cancel");
  REQUIRE(next.state == task_state::completed);
  auto reqs = fx.model_requests();
  CHECK_FALSE(mentions(reqs.back().body, "hang here")); // the interrupted prompt did not leak
  CHECK(mentions(reqs.back().body, "warm up"));        // the good history did carry over
}

TEST_CASE("a warm process killed with SIGKILL mid-task: the task fails, the slot recovers",
          "[integration][warm]") {
  real_cli_fixture fx;
  warm_pool w(fx, 1, slot_mode::ephemeral);
  REQUIRE(w.pool->run("warm up").state == task_state::completed);
  auto id = w.pool->submit("hang here [[mock:delay_ms=60000]]");
  REQUIRE(eventually([&] { return fx.model_requests().size() == 2; }));
  // Kill the CLI itself (not its guardian, which is a copy of this test program).
  int killed = 0;
  for (auto& [pid, name] : pids_with_marker(fx.marker))
    if (name.find("claude_pool") == std::string::npos) {
      ::kill(pid, SIGKILL);
      ++killed;
    }
  REQUIRE(killed >= 1);
  auto rec = w.pool->wait(id);
  CHECK(rec.state == task_state::failed);
  INFO(nlohmann::json(rec).dump());
  auto after = w.pool->run("after the crash");
  CHECK(after.state == task_state::completed);
  CHECK(w.exec->warm_processes_started() == 2);
  CHECK(eventually([&] { return w.pool->status().slots.at(0).restart_count == 1; }));
}

TEST_CASE("a warm task past its timeout fails as timed out and leaves no process",
          "[integration][warm]") {
  real_cli_fixture fx;
  {
    warm_pool w(fx, 1, slot_mode::ephemeral, 3);
    auto rec = w.pool->run("slow [[mock:delay_ms=60000]]");
    REQUIRE(rec.state == task_state::failed);
    CHECK(rec.result->subtype == std::string("timeout"));
  }
  CHECK(eventually([&] { return processes_with_marker(fx.marker) == 0; }));
}

TEST_CASE("a model change goes through set_model in the same warm process",
          "[integration][warm]") {
  real_cli_fixture fx;
  warm_pool w(fx, 1, slot_mode::ephemeral);
  REQUIRE(w.pool->run("default model [[mock:usage=1000/200]]").state == task_state::completed);
  task_submission other{"sonnet please [[mock:usage=1000/200]]", {}, task_overrides{}};
  other.config->model = "claude-sonnet-4-5";
  auto rec = w.pool->run(other);
  REQUIRE(rec.state == task_state::completed);
  CHECK(rec.result->model == std::string("claude-sonnet-4-5"));
  CHECK(w.exec->warm_processes_started() == 1);
  auto reqs = fx.model_requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].body.value("model", "") == "claude-sonnet-4-5");
  // Its own cost, at sonnet's prices, not opus's running total.
  CHECK(rec.result->cost_microdollars < 10000);
}

TEST_CASE("a warm process is recycled after warm_max_tasks tasks", "[integration][warm]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.slot_mode = slot_mode::ephemeral;
  cfg.warm_max_tasks = 2;
  warm_pool w(cfg);
  for (int i = 0; i < 5; ++i)
    REQUIRE(w.pool->run("task " + std::to_string(i)).state == task_state::completed);
  CHECK(w.exec->warm_processes_started() == 3); // 2 + 2 + 1
  CHECK(eventually([&] { return processes_with_marker(fx.marker) >= 1; }));
}

TEST_CASE("warm tasks with a budget run each in a process started for their allowance",
          "[integration][warm][budget]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.budget_microdollars = 100000;
  cfg.budget_default_reservation_microdollars = 15000;
  warm_pool w(cfg);
  for (int i = 0; i < 3; ++i) {
    auto rec = w.pool->run("task " + std::to_string(i) + " [[mock:usage=1000/200]]");
    REQUIRE(rec.state == task_state::completed);
    CHECK(rec.result->cost_microdollars == 10000);
  }
  // The CLI's cap counts from its process start: one process per budgeted task.
  CHECK(w.exec->warm_processes_started() == 3);
  CHECK(w.pool->status().budget->spent_microdollars == 30000);
}

TEST_CASE("a warm process past warm_max_rss_mb is replaced after its task",
          "[integration][warm]") {
  real_cli_fixture fx;
  auto cfg = fx.config(1);
  cfg.warm_max_rss_mb = 1; // every real CLI is bigger than this
  warm_pool w(cfg);
  REQUIRE(w.pool->run("one").state == task_state::completed);
  REQUIRE(w.pool->run("two").state == task_state::completed);
  CHECK(w.exec->warm_processes_started() == 2);
}
