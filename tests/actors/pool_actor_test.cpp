// The pool and slot actors, driven through the facade with a scripted executor: routing,
// concurrency, cancel, timeouts, drain, sessions. No processes.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "claude_pool/pool.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;
using claude_pool::testing::scripted_executor;

namespace {

pool_config config_with_slots(std::uint64_t n) {
  pool_config cfg;
  cfg.initial_slots = n;
  cfg.scaling.min_slots = 1;
  cfg.scaling.max_slots = 64;
  return cfg;
}

pool_options with(std::shared_ptr<task_executor> exec) {
  pool_options o;
  o.executor = std::move(exec);
  return o;
}

} // namespace

TEST_CASE("a submitted task runs on a slot and completes with the executor's result",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(config_with_slots(2), with(exec));
  auto rec = p.run("hello");
  CHECK(rec.state == task_state::completed);
  REQUIRE(rec.result);
  CHECK(rec.result->output == "done: hello");
  CHECK(rec.slot_id);
  CHECK(rec.started_at_ms);
  CHECK(rec.completed_at_ms);
  CHECK(*rec.completed_at_ms >= *rec.started_at_ms);
  auto st = p.status();
  CHECK(st.completed == 1);
  std::uint64_t cost = 0, done = 0;
  for (auto& s : st.slots) {
    cost += s.cost_microdollars;
    done += s.tasks_completed;
  }
  CHECK(cost == 10);
  CHECK(done == 1);
}

TEST_CASE("no more tasks run at once than there are slots, and all of them finish",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(config_with_slots(3), with(exec));
  std::vector<task_id> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  REQUIRE(exec->wait_for_started(3));
  CHECK(exec->live() == 3);
  CHECK(p.status().pending == 7);
  // Finish in FIFO order as they start; each finish lets the next queued task in.
  for (std::size_t i = 0; i < ids.size(); ++i) {
    REQUIRE(exec->wait_for_live(1));
    auto reqs = exec->requests();
    bool finished = false;
    for (auto& r : reqs)
      if (!finished && exec->finish(r.task))
        finished = true;
    REQUIRE(finished);
  }
  for (auto& id : ids)
    CHECK(p.wait(id).state == task_state::completed);
  CHECK(exec->max_running() == 3);
  CHECK(exec->requests().size() == ids.size());
}

TEST_CASE("queued tasks start in submission order", "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(config_with_slots(1), with(exec));
  std::vector<task_id> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    REQUIRE(exec->wait_for_started(i + 1));
    CHECK(exec->requests()[i].task == ids[i]);
    REQUIRE(exec->finish(ids[i]));
  }
  for (auto& id : ids)
    CHECK(p.wait(id).state == task_state::completed);
}

TEST_CASE("the most recently idle slot gets the next task", "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(config_with_slots(3), with(exec));
  auto a = p.submit("a");
  auto b = p.submit("b");
  REQUIRE(exec->wait_for_started(2));
  REQUIRE(exec->finish(b));
  auto rb = p.wait(b);
  auto c = p.submit("c");
  REQUIRE(exec->wait_for_started(3));
  REQUIRE(exec->finish(c));
  auto rc = p.wait(c);
  CHECK(rc.slot_id == rb.slot_id);
  REQUIRE(exec->finish(a));
  p.wait(a);
}

TEST_CASE("cancelling a pending task means it never runs", "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(config_with_slots(1), with(exec));
  auto first = p.submit("occupies the only slot");
  auto second = p.submit("waits");
  REQUIRE(exec->wait_for_started(1));
  auto rec = p.cancel(second);
  CHECK(rec.state == task_state::cancelled);
  REQUIRE(exec->finish(first));
  CHECK(p.wait(first).state == task_state::completed);
  CHECK(p.wait(second).state == task_state::cancelled);
  for (auto& r : exec->requests())
    CHECK(r.task != second);
}

TEST_CASE("cancelling a running task stops its execution and the state stays cancelled",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(config_with_slots(1), with(exec));
  auto id = p.submit("long");
  REQUIRE(exec->wait_for_started(1));
  auto rec = p.cancel(id);
  CHECK(rec.state == task_state::cancelled);
  CHECK(exec->live() == 0); // the reply came after the execution was stopped
  REQUIRE(rec.result);
  CHECK(rec.result->cost_microdollars == 3); // what the stopped run had spent
  // The slot is free again and the record is never overwritten.
  auto next = p.submit("next");
  REQUIRE(exec->wait_for_started(2));
  REQUIRE(exec->finish(next));
  CHECK(p.wait(next).state == task_state::completed);
  CHECK(p.result(id).state == task_state::cancelled);
  CHECK_THROWS_AS(p.cancel(id), pool_error);
}

TEST_CASE("a task still pending after slot_assignment_timeout fails with a clear reason",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  auto cfg = config_with_slots(1);
  cfg.slot_assignment_timeout_secs = 1;
  claude_pool::pool p(cfg, with(exec));
  auto busy = p.submit("occupies the slot");
  REQUIRE(exec->wait_for_started(1));
  auto starved = p.submit("never gets a slot");
  auto rec = p.wait(starved);
  CHECK(rec.state == task_state::failed);
  REQUIRE(rec.result);
  CHECK(rec.result->subtype == "slot_assignment_timeout");
  CHECK_THAT(rec.result->output, Catch::Contains("slot_assignment_timeout_secs"));
  REQUIRE(exec->finish(busy));
  CHECK(p.wait(busy).state == task_state::completed);
  CHECK(exec->requests().size() == 1);
}

TEST_CASE("drain refuses new work, lets running tasks finish and reports them", "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(config_with_slots(2), with(exec));
  auto a = p.submit("a");
  auto b = p.submit("b");
  REQUIRE(exec->wait_for_started(2));
  std::thread finisher([&] {
    // Finishes once the drain is in force, while drain() blocks in the main thread.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!p.status().draining && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    exec->finish(a);
    exec->finish(b, task_result::failure("boom", "exit_error"));
  });
  auto sum = p.drain(std::chrono::seconds(30));
  finisher.join();
  CHECK(sum.completed == 1);
  CHECK(sum.failed == 1);
  CHECK(sum.cancelled_at_deadline == 0);
  CHECK_FALSE(sum.deadline_reached);
  try {
    p.submit("too late");
    FAIL("submit after drain must be refused");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::draining);
  }
}

TEST_CASE("drain cancels what is left at its deadline", "[actors]") {
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(config_with_slots(1), with(exec));
  auto running = p.submit("running");
  auto queued = p.submit("queued");
  REQUIRE(exec->wait_for_started(1));
  auto sum = p.drain(std::chrono::milliseconds(200));
  CHECK(sum.deadline_reached);
  CHECK(sum.cancelled_at_deadline == 2);
  CHECK(exec->live() == 0);
  CHECK(p.result(running).state == task_state::cancelled);
  CHECK(p.result(queued).state == task_state::cancelled);
}

TEST_CASE("unknown task ids and bad submissions are refused with errors that say why",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(config_with_slots(1), with(exec));
  try {
    p.result(task_id{"task-nope"});
    FAIL("expected unknown_task");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::unknown_task);
    CHECK_THAT(std::string(e.what()), Catch::Contains("task-nope"));
  }
  CHECK_THROWS_AS(p.wait(task_id{"task-nope"}), pool_error);
  CHECK_THROWS_AS(p.cancel(task_id{"task-nope"}), pool_error);
  try {
    p.submit("");
    FAIL("expected invalid_request");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::invalid_request);
    CHECK_THAT(std::string(e.what()), Catch::Contains("prompt"));
  }
  task_overrides bad;
  bad.max_budget_usd = -1;
  try {
    p.submit(task_submission{"x", {}, bad});
    FAIL("expected invalid_request");
  } catch (const pool_error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("max_budget_usd"));
  }
}

TEST_CASE("an invalid pool configuration is refused naming the field", "[actors]") {
  pool_config cfg;
  cfg.scaling.min_slots = 4;
  cfg.scaling.max_slots = 2;
  try {
    claude_pool::pool p(cfg, with(std::make_shared<scripted_executor>(true)));
    FAIL("expected invalid_request");
  } catch (const pool_error& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("max_slots"));
  }
}

TEST_CASE("a persistent slot resumes its session, an ephemeral slot starts fresh",
          "[actors]") {
  for (auto mode : {slot_mode::persistent, slot_mode::ephemeral}) {
    auto exec = std::make_shared<scripted_executor>(true);
    auto cfg = config_with_slots(1);
    cfg.slot_mode = mode;
    claude_pool::pool p(cfg, with(exec));
    auto first = p.run("one");
    p.run("two");
    auto reqs = exec->requests();
    REQUIRE(reqs.size() == 2);
    CHECK_FALSE(reqs[0].resume_session);
    if (mode == slot_mode::persistent) {
      REQUIRE(reqs[1].resume_session);
      CHECK(*reqs[1].resume_session == *first.result->session_id);
    } else {
      CHECK_FALSE(reqs[1].resume_session);
    }
  }
}

TEST_CASE("a slot whose session cannot be resumed re-runs the task in a fresh session",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  auto normal = exec->answer;
  exec->answer = [normal](const execution_request& r) {
    if (r.resume_session) {
      auto miss = task_result::failure("the claude CLI exited with code 1 without a result",
                                       "exit_error");
      miss.stderr_text = "No conversation found with session ID: " + *r.resume_session;
      return miss;
    }
    return normal(r);
  };
  claude_pool::pool p(config_with_slots(1), with(exec));
  p.run("one");
  auto second = p.run("two");
  CHECK(second.state == task_state::completed);
  auto reqs = exec->requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[1].resume_session);
  CHECK_FALSE(reqs[2].resume_session);
  CHECK(reqs[2].prompt == "two");
}

TEST_CASE("task and slot settings reach the executor resolved", "[actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  auto cfg = config_with_slots(1);
  cfg.model = "global-model";
  cfg.allowed_tools = {"Read"};
  pool_options o = with(exec);
  slot_config sc;
  sc.name = "reviewer";
  sc.allowed_tools = std::vector<std::string>{"Edit"};
  o.slots.push_back(sc);
  claude_pool::pool p(cfg, o);
  task_overrides t;
  t.model = "task-model";
  t.allowed_tools = std::vector<std::string>{"Read", "Bash"};
  p.run(task_submission{"x", {"tag"}, t});
  auto req = exec->requests().at(0);
  CHECK(req.config.model == "task-model");
  CHECK(req.config.allowed_tools == std::vector<std::string>{"Read", "Edit", "Bash"});
  CHECK(req.config.slot_name == "reviewer");
}

TEST_CASE("list filters by state and tags in submission order, status counts states",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = [](const execution_request& r) {
    if (r.prompt == "bad")
      return task_result::failure("no", "exit_error");
    task_result ok;
    ok.output = "ok";
    ok.success = true;
    return ok;
  };
  claude_pool::pool p(config_with_slots(2), with(exec));
  auto a = p.run(task_submission{"good", {"x"}, {}});
  auto b = p.run(task_submission{"bad", {"y"}, {}});
  auto c = p.run(task_submission{"good", {"y", "z"}, {}});
  task_filter failed;
  failed.state = task_state::failed;
  auto f = p.list(failed);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == b.id);
  task_filter tagged;
  tagged.tags = std::vector<std::string>{"y"};
  auto t = p.list(tagged);
  REQUIRE(t.size() == 2);
  CHECK(t[0].id == b.id);
  CHECK(t[1].id == c.id);
  CHECK(p.list().size() == 3);
  auto st = p.status();
  CHECK(st.completed == 2);
  CHECK(st.failed == 1);
  CHECK(st.slots.size() == 2);
  (void)a;
}

TEST_CASE("concurrent submissions from many threads all get distinct ids and all run",
          "[actors]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(config_with_slots(4), with(exec));
  std::vector<std::thread> threads;
  std::vector<std::vector<task_id>> ids(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i)
        ids[t].push_back(p.submit("t" + std::to_string(t) + "-" + std::to_string(i)));
    });
  for (auto& th : threads)
    th.join();
  std::set<std::string> distinct;
  for (auto& v : ids)
    for (auto& id : v) {
      distinct.insert(id.value);
      CHECK(p.wait(id).state == task_state::completed);
    }
  CHECK(distinct.size() == 1000);
}

TEST_CASE("submit_all answers each submission in order with its id or its error",
          "[actors][facade]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(config_with_slots(2), with(exec));
  std::vector<task_submission> subs{task_submission{"first", {}, std::nullopt},
                                    task_submission{"", {}, std::nullopt},
                                    task_submission{"third", {}, std::nullopt}};
  auto answers = p.submit_all(subs);
  REQUIRE(answers.size() == 3);
  REQUIRE(answers[0].id);
  CHECK_FALSE(answers[0].error);
  REQUIRE(answers[1].error);
  CHECK_FALSE(answers[1].id);
  CHECK(answers[1].error->code == pool_errc::invalid_request);
  CHECK_THAT(answers[1].error->what(), Catch::Contains("prompt"));
  REQUIRE(answers[2].id);
  CHECK(p.wait(*answers[0].id).prompt == "first");
  CHECK(p.wait(*answers[2].id).prompt == "third");
  auto listed = p.list();
  REQUIRE(listed.size() == 2); // in the order submitted
  CHECK(listed[0].id == *answers[0].id);
  CHECK(listed[1].id == *answers[2].id);
  CHECK(p.submit_all({}).empty());
}

TEST_CASE("submit_all over several messages keeps every submission and its order",
          "[actors][facade]") {
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(config_with_slots(2), with(exec));
  // More than one message's worth (the facade sends 4096 a message), one invalid in the
  // second message.
  std::vector<task_submission> subs;
  for (int i = 0; i < 9000; ++i)
    subs.push_back(task_submission{i == 5000 ? "" : "n" + std::to_string(i), {}, std::nullopt});
  auto answers = p.submit_all(subs);
  REQUIRE(answers.size() == 9000);
  std::vector<task_id> accepted;
  for (int i = 0; i < 9000; ++i) {
    CHECK(bool(answers[i].id) == (i != 5000));
    if (answers[i].id)
      accepted.push_back(*answers[i].id);
  }
  REQUIRE(answers[5000].error);
  CHECK(answers[5000].error->code == pool_errc::invalid_request);
  CHECK(p.wait(accepted.back()).prompt == "n8999");
  auto listed = p.list();
  REQUIRE(listed.size() == accepted.size());
  for (std::size_t i = 0; i < accepted.size(); ++i)
    CHECK(listed[i].id == accepted[i]);
}
