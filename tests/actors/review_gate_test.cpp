// The review gate and fan_out, through the facade with a scripted executor. No processes.
#include <catch2/catch.hpp>

#include "claude_pool/pool.hpp"
#include "../support/chain_helpers.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;
using claude_pool::testing::scripted_executor;
using claude_pool::testing::slots;
using claude_pool::testing::with;

namespace {

task_submission reviewed(std::string prompt, std::uint32_t max_rejections = 3) {
  task_submission sub{std::move(prompt), {}, {}};
  sub.review_required = true;
  sub.max_rejections = max_rejections;
  return sub;
}

} // namespace

TEST_CASE("a reviewed task waits in pending_review until approved", "[review]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), with(exec));
  auto rec = p.run(reviewed("draft"));
  CHECK(rec.state == task_state::pending_review);
  REQUIRE(rec.result);
  CHECK(rec.result->output == "done: draft");
  CHECK(p.status().pending_review == 1);
  auto approved = p.approve(rec.id);
  CHECK(approved.state == task_state::completed);
  CHECK(p.status().completed == 1);
  // Twice is an error that names the state.
  CHECK_THROWS_WITH(p.approve(rec.id), Catch::Contains("completed, not pending_review"));
}

TEST_CASE("a rejected task runs again with its original prompt plus the feedback",
          "[review]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), with(exec));
  auto rec = p.run(reviewed("write a haiku"));
  auto again = p.reject(rec.id, "more about autumn");
  CHECK(again.rejection_count == 1);
  CHECK(again.original_prompt == std::string("write a haiku"));
  auto second = p.wait(rec.id);
  CHECK(second.state == task_state::pending_review);
  auto reqs = exec->requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].prompt.find("write a haiku") == 0);
  CHECK(reqs[1].prompt.find("more about autumn") != std::string::npos);
  // A second rejection starts again from the original prompt, not from the first retry.
  p.reject(rec.id, "shorter");
  p.wait(rec.id);
  reqs = exec->requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[2].prompt.find("more about autumn") == std::string::npos);
  CHECK(reqs[2].prompt.find("shorter") != std::string::npos);
}

TEST_CASE("at max_rejections the task fails with the last feedback", "[review]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(slots(1), with(exec));
  auto rec = p.run(reviewed("try", 2));
  p.reject(rec.id, "no");
  REQUIRE(p.wait(rec.id).state == task_state::pending_review);
  auto failed = p.reject(rec.id, "still no");
  CHECK(failed.state == task_state::failed);
  CHECK(failed.rejection_count == 2);
  CHECK_THAT(failed.result->output, Catch::Contains("still no"));
  CHECK(exec->requests().size() == 2);
}

TEST_CASE("approve or reject in another state, or of an unknown task, is a clear error",
          "[review]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(slots(1), with(exec));
  auto id = p.submit(reviewed("slow"));
  REQUIRE(exec->wait_for_live(1));
  try {
    p.reject(id, "too early");
    FAIL("expected an error");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::not_pending_review);
    CHECK_THAT(e.what(), Catch::Contains("is running, not pending_review"));
  }
  CHECK_THROWS_WITH(p.approve(task_id{"task-nope"}), Catch::Contains("task-nope"));
  exec->finish(id);
  CHECK(p.wait(id).state == task_state::pending_review);
  // A plain task never waits for review.
  auto plain = p.submit("plain");
  exec->wait_for_live(1);
  exec->finish(plain);
  CHECK(p.wait(plain).state == task_state::completed);
}

TEST_CASE("fan_out returns every outcome in order, one failure keeps the others",
          "[review]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = [](const execution_request& r) {
    if (r.prompt == "bad") {
      auto f = task_result::failure("it broke", "error_during_execution");
      f.cost_microdollars = 5;
      return f;
    }
    task_result ok;
    ok.success = true;
    ok.output = "ok " + r.prompt;
    ok.cost_microdollars = 10;
    return ok;
  };
  claude_pool::pool p(slots(3), with(exec));
  std::vector<task_submission> subs;
  for (auto prompt : {"a", "bad", "c"})
    subs.push_back(task_submission{prompt, {}, {}});
  auto recs = p.fan_out(subs);
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].state == task_state::completed);
  CHECK(recs[0].result->output == "ok a");
  CHECK(recs[1].state == task_state::failed);
  CHECK(recs[1].result->cost_microdollars == 5); // a failure's cost is kept
  CHECK(recs[2].result->output == "ok c");
}
