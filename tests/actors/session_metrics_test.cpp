#include <catch2/catch.hpp>

#include "../support/scripted_executor.hpp"
#include "actors/session_metrics.hpp"
#include "claude_pool/pool.hpp"

using namespace claude_pool;

namespace {

task_record task(task_state state, std::uint64_t created, std::uint64_t cost,
                 std::uint64_t elapsed, std::uint32_t turns, std::string model,
                 std::vector<std::string> tags = {}) {
  task_record t;
  t.id = make_task_id();
  t.state = state;
  t.created_at_ms = created;
  t.tags = std::move(tags);
  if (state != task_state::pending) {
    task_result r;
    r.success = state == task_state::completed;
    r.cost_microdollars = cost;
    r.elapsed_ms = elapsed;
    r.turns_used = turns;
    if (!model.empty())
      r.model = model;
    t.result = r;
  }
  return t;
}

session_metrics of(const std::vector<task_record>& ts, metrics_filter f = {}) {
  std::vector<const task_record*> ptrs;
  for (auto& t : ts)
    ptrs.push_back(&t);
  return compute_metrics(ptrs, f, 1000, 5000);
}

} // namespace

TEST_CASE("session metrics count states, add every cost and time completed tasks exactly",
          "[metrics]") {
  std::vector<task_record> ts{
    task(task_state::completed, 1, 100, 10, 1, "opus"),
    task(task_state::completed, 2, 300, 40, 3, "opus"),
    task(task_state::completed, 3, 200, 20, 2, "sonnet"),
    task(task_state::completed, 4, 400, 30, 2, "sonnet"),
    task(task_state::failed, 5, 50, 999, 1, "opus"),
    task(task_state::cancelled, 6, 7, 5, 0, ""),
    task(task_state::pending, 7, 0, 0, 0, ""),
  };
  auto m = of(ts);
  CHECK(m.total_tasks == 7);
  CHECK(m.completed_tasks == 4);
  CHECK(m.failed_tasks == 1);
  CHECK(m.cancelled_tasks == 1);
  CHECK(m.pending_tasks == 1);
  CHECK(m.total_spend_microdollars == 100 + 300 + 200 + 400 + 50 + 7);
  CHECK(m.max_cost_microdollars == 400);
  CHECK(m.avg_cost_microdollars == 250);     // (100+300+200+400)/4
  CHECK(m.min_elapsed_ms == 10);
  CHECK(m.max_elapsed_ms == 40);             // the failed task's 999 is not a completion
  CHECK(m.median_elapsed_ms == 25);          // even count: mean of 20 and 30
  CHECK(m.avg_elapsed_ms == 25);
  CHECK(m.avg_turns == Approx(2.0));
  CHECK(m.session_start_ms == 1000);
  CHECK(m.session_duration_ms == 4000);
  CHECK(m.tasks_by_model.at("opus") == 3);
  CHECK(m.tasks_by_model.at("sonnet") == 2);
  REQUIRE(m.model_breakdown.size() == 2);
  auto& opus = m.model_breakdown[0];
  CHECK(opus.model == "opus");
  CHECK(opus.total_cost_microdollars == 450);
  CHECK(opus.avg_cost_microdollars == 150);
  CHECK(opus.total_turns == 5);
}

TEST_CASE("the median of an odd count is the middle value", "[metrics]") {
  std::vector<task_record> ts{task(task_state::completed, 1, 1, 70, 1, "m"),
                              task(task_state::completed, 1, 1, 10, 1, "m"),
                              task(task_state::completed, 1, 1, 30, 1, "m")};
  CHECK(of(ts).median_elapsed_ms == 30);
}

TEST_CASE("the metrics filter selects by time range, any tag, and the model that ran",
          "[metrics]") {
  std::vector<task_record> ts{
    task(task_state::completed, 100, 1, 1, 1, "opus", {"a"}),
    task(task_state::completed, 200, 2, 1, 1, "sonnet", {"b"}),
    task(task_state::completed, 300, 4, 1, 1, "opus", {"a", "c"}),
  };
  metrics_filter f;
  f.since_ms = 150;
  CHECK(of(ts, f).total_spend_microdollars == 6);
  f.until_ms = 300;
  CHECK(of(ts, f).total_spend_microdollars == 2);
  metrics_filter tags;
  tags.tags = std::vector<std::string>{"c", "b"};
  CHECK(of(ts, tags).total_tasks == 2);
  metrics_filter model;
  model.model = "opus";
  CHECK(of(ts, model).total_spend_microdollars == 5);
  CHECK(of(ts, model).tasks_by_model.count("sonnet") == 0);
}

TEST_CASE("an empty selection gives zeroes, not a division by zero", "[metrics]") {
  auto m = of({});
  CHECK(m.total_tasks == 0);
  CHECK(m.avg_elapsed_ms == 0);
  CHECK(m.median_elapsed_ms == 0);
  CHECK(m.model_breakdown.empty());
}

TEST_CASE("the pool reports metrics over its own tasks", "[metrics]") {
  auto exec = std::make_shared<claude_pool::testing::scripted_executor>(true);
  exec->answer = [](const execution_request& r) {
    task_result res;
    res.success = r.prompt != "bad";
    res.output = "x";
    res.cost_microdollars = 100;
    res.turns_used = 2;
    res.model = "scripted-model";
    if (!res.success)
      res.subtype = "error_max_turns";
    return res;
  };
  pool_options o;
  o.executor = exec;
  pool_config cfg;
  cfg.initial_slots = 2;
  claude_pool::pool p(cfg, o);
  p.run(task_submission{"good", {"x"}, {}});
  p.run(task_submission{"bad", {"y"}, {}});
  auto m = p.metrics();
  CHECK(m.total_tasks == 2);
  CHECK(m.completed_tasks == 1);
  CHECK(m.failed_tasks == 1);
  CHECK(m.total_spend_microdollars == 200);
  CHECK(m.tasks_by_model.at("scripted-model") == 2);
  metrics_filter only_x;
  only_x.tags = std::vector<std::string>{"x"};
  CHECK(p.metrics(only_x).total_tasks == 1);
}
