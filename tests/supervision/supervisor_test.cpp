// The supervisor and the pool together, with a scripted executor: restarts, errored slots,
// failure classes, rate-limit cool-down and task attempts. No processes.
#include <catch2/catch.hpp>

#include <thread>

#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"
#include "actors/limit_policy.hpp"
#include "claude_pool/pool.hpp"
#include "supervision/failure_class.hpp"

using namespace claude_pool;
using claude_pool::testing::scripted_executor;

namespace {

pool_config fast_restarts(std::uint64_t slots) {
  pool_config cfg;
  cfg.initial_slots = slots;
  cfg.restart_backoff_min_ms = 10;
  cfg.restart_backoff_max_ms = 40;
  cfg.rate_limit_cooldown_secs = 1;
  return cfg;
}

pool_options with(std::shared_ptr<task_executor> exec) {
  pool_options o;
  o.executor = std::move(exec);
  return o;
}

task_result result_with(std::string subtype, std::optional<int> api = {}) {
  auto r = task_result::failure("scripted " + subtype, std::move(subtype));
  r.api_error_status = api;
  return r;
}

/// Waits until the pool's status satisfies `pred`.
bool status_becomes(claude_pool::pool& p, const std::function<bool(const pool_status&)>& pred) {
  return claude_pool::testing::eventually([&] { return pred(p.status()); });
}

bool has_event(const pool_status& st, const std::string& kind) {
  for (auto& e : st.events)
    if (e.kind == kind)
      return true;
  return false;
}

/// An executor that answers each prompt from a script: the prompt names the outcome.
std::shared_ptr<scripted_executor> scripted_by_prompt() {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = [](const execution_request& r) {
    if (r.prompt.rfind("crash", 0) == 0)
      return result_with("crashed");
    if (r.prompt.rfind("hang", 0) == 0)
      return result_with("timeout");
    if (r.prompt.rfind("garbage", 0) == 0)
      return result_with("unparsable_output");
    if (r.prompt.rfind("auth", 0) == 0)
      return result_with("success", 401);
    if (r.prompt.rfind("overloaded", 0) == 0)
      return result_with("success", 529);
    task_result ok;
    ok.success = true;
    ok.output = "ok";
    return ok;
  };
  return exec;
}

} // namespace

TEST_CASE("a slot whose CLI crashed is restarted with its id and restart_count + 1",
          "[supervision]") {
  auto exec = scripted_by_prompt();
  claude_pool::pool p(fast_restarts(1), with(exec));
  auto crashed = p.run("crash please");
  CHECK(crashed.state == task_state::failed);
  CHECK(crashed.result->subtype == "crashed");
  REQUIRE(status_becomes(p, [](const pool_status& st) {
    return st.slots.size() == 1 && st.slots[0].restart_count == 1
           && st.slots[0].state == slot_state::idle;
  }));
  auto st = p.status();
  CHECK(st.slots[0].id.value == "slot-0");
  REQUIRE(st.slots[0].last_error);
  CHECK_THAT(*st.slots[0].last_error, Catch::Contains("crash"));
  CHECK(has_event(st, "slot_restarted"));
  // The restarted slot serves the next task.
  auto next = p.run("fine");
  CHECK(next.state == task_state::completed);
  CHECK(next.slot_id->value == "slot-0");
}

TEST_CASE("a hung task's slot is restarted, unparsable output leaves the slot alone",
          "[supervision]") {
  auto exec = scripted_by_prompt();
  claude_pool::pool p(fast_restarts(1), with(exec));
  CHECK(p.run("garbage out").result->subtype == "unparsable_output");
  CHECK(p.status().slots[0].restart_count == 0);
  REQUIRE(p.run("fine before").state == task_state::completed);
  auto done_before = p.status().slots[0].tasks_completed;
  REQUIRE(done_before >= 1);
  CHECK(p.run("hang forever").result->subtype == "timeout");
  REQUIRE(status_becomes(p, [](const pool_status& st) {
    return st.slots[0].restart_count == 1 && st.slots[0].state == slot_state::idle;
  }));
  // The restarted slot's counters go on from where they were (they used to restart at 0).
  CHECK(p.status().slots[0].tasks_completed >= done_before);
  CHECK(p.run("fine").state == task_state::completed);
  CHECK(p.status().slots[0].tasks_completed == done_before + 1);
}

TEST_CASE("past max_restarts a slot is errored, out of routing, and the event is in status",
          "[supervision]") {
  auto exec = scripted_by_prompt();
  auto cfg = fast_restarts(2);
  cfg.max_restarts = 2;
  claude_pool::pool p(cfg, with(exec));
  // Keep crashing until one slot has used up its restarts.
  for (int i = 0; i < 12; ++i) {
    p.run("crash " + std::to_string(i));
    if (status_becomes(p, [](const pool_status& st) {
          for (auto& s : st.slots)
            if (s.state == slot_state::errored)
              return true;
          for (auto& s : st.slots)
            if (s.state != slot_state::idle)
              return false;
          return true;
        })) {
      auto st = p.status();
      bool errored = false;
      for (auto& s : st.slots)
        errored |= s.state == slot_state::errored;
      if (errored)
        break;
    }
  }
  auto st = p.status();
  const slot_record* bad = nullptr;
  for (auto& s : st.slots)
    if (s.state == slot_state::errored)
      bad = &s;
  REQUIRE(bad);
  CHECK(bad->restart_count == 2);
  REQUIRE(bad->last_error);
  CHECK_THAT(*bad->last_error, Catch::Contains("max_restarts 2"));
  CHECK(has_event(st, "slot_errored"));
  // Every stop names its failure class: the crashes the slot stopped itself for.
  for (auto& ev : st.events)
    if (ev.kind == "slot_restarting" || ev.kind == "slot_errored")
      CHECK(ev.failure_class == std::optional<std::string>("crash"));
  // Work still flows through the other slot, never the errored one.
  for (int i = 0; i < 4; ++i) {
    auto rec = p.run("fine " + std::to_string(i));
    if (rec.state == task_state::completed)
      CHECK(rec.slot_id != bad->id);
  }
}

TEST_CASE("when every slot is errored, pending and new tasks fail at once", "[supervision]") {
  auto exec = scripted_by_prompt();
  auto cfg = fast_restarts(1);
  cfg.max_restarts = 0;
  cfg.slot_assignment_timeout_secs = 3600; // failing fast must not rely on the timeout
  claude_pool::pool p(cfg, with(exec));
  CHECK(p.run("crash now").state == task_state::failed);
  REQUIRE(status_becomes(p, [](const pool_status& st) {
    return st.slots[0].state == slot_state::errored;
  }));
  auto rec = p.run("anything");
  CHECK(rec.state == task_state::failed);
  CHECK(rec.result->subtype == "no_usable_slot");
  CHECK_THAT(rec.result->output, Catch::Contains("slot-0"));
}

TEST_CASE("a refused login opens the breaker: the task fails, the slot stays, no storm",
          "[supervision][limits]") {
  auto exec = scripted_by_prompt();
  auto cfg = fast_restarts(2);
  cfg.auth_failure = "fail";
  cfg.auth_probe_secs = 3600; // no probe within this test
  claude_pool::pool p(cfg, with(exec));
  auto rec = p.run("auth fails");
  CHECK(rec.state == task_state::failed);
  CHECK(rec.result->api_error_status == 401);
  CHECK_THAT(rec.result->output, Catch::Contains("fix credential \"default\""));
  REQUIRE(status_becomes(p, [](const pool_status& st) { return has_event(st, "auth_failed"); }));
  // The next task fails at once without reaching the executor: no retry storm.
  auto next = p.run("would be refused the same way");
  CHECK(next.state == task_state::failed);
  CHECK(next.result->subtype == "auth_failed");
  CHECK(exec->requests().size() == 1);
  auto st = p.status();
  REQUIRE(st.cooldown_until_ms);
  REQUIRE(st.cooldown_reason);
  CHECK_THAT(*st.cooldown_reason, Catch::Contains("credential \"default\" refused; next check"));
  for (auto& s : st.slots) {
    CHECK(s.restart_count == 0);
    CHECK(s.state != slot_state::errored); // the breaker stops them, not the supervisor
  }
}

TEST_CASE("a refused login stops the other running tasks, parked tasks run after a good probe",
          "[supervision][limits]") {
  auto exec = std::make_shared<scripted_executor>(false); // the test finishes executions
  auto cfg = fast_restarts(4);
  cfg.auth_failure = "park";
  cfg.auth_probe_secs = 1;
  claude_pool::pool p(cfg, with(exec));
  std::vector<task_id> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(p.submit("task " + std::to_string(i)));
  REQUIRE(exec->wait_for_live(4));
  // One slot's login is refused: the three others are stopped at once.
  auto refused = result_with("success", 401);
  refused.output = "Failed to authenticate. API Error: 401 expired";
  REQUIRE(exec->finish(ids[0], refused));
  REQUIRE(exec->wait_for_cancels(3));
  REQUIRE(status_becomes(p, [](const pool_status& st) {
    return st.running == 0 && st.pending == 6 && has_event(st, "auth_failed");
  }));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto rec = p.result(ids[i]);
    CHECK(rec.state == task_state::pending);
    CHECK(rec.attempts.empty()); // waiting never uses an attempt
    if (i >= 4)
      continue; // never ran: simply still queued
    REQUIRE(rec.wait_reason); // the refused one and the three stopped ones say why
    CHECK_THAT(*rec.wait_reason, Catch::Contains("credentials refused"));
  }
  // After auth_probe_secs one task (and only one) is let through.
  REQUIRE(exec->wait_for_live(1));
  CHECK(exec->live() == 1);
  CHECK(exec->requests().size() == 5);
  // The probe works: the breaker closes and everything runs.
  exec->answer = [](const execution_request&) {
    task_result ok;
    ok.success = true;
    ok.output = "ok";
    return ok;
  };
  auto probe = exec->requests().back().task;
  REQUIRE(exec->finish(probe));
  // The rest now run, one slot each: finish whatever is live until all are done.
  REQUIRE(claude_pool::testing::eventually([&] {
    for (auto& r : exec->requests())
      exec->finish(r.task);
    for (auto& id : ids)
      if (p.result(id).state != task_state::completed)
        return false;
    return true;
  }));
  for (auto& id : ids)
    CHECK(p.wait(id).state == task_state::completed);
  CHECK(has_event(p.status(), "auth_recovered"));
}

TEST_CASE("a missing login (Not logged in) counts as a refused login", "[supervision][limits]") {
  auto r = task_result::failure("Not logged in · Please run /login", "success");
  CHECK(classify(r) == failure_class::auth);
  CHECK(auth_refused(r));
}

TEST_CASE("a rate-limited task waits in the queue during a pool-wide cool-down and then runs",
          "[supervision]") {
  auto exec = std::make_shared<scripted_executor>(true);
  std::atomic<int> calls{0};
  exec->answer = [&](const execution_request&) {
    if (calls++ == 0)
      return result_with("success", 529);
    task_result ok;
    ok.success = true;
    ok.output = "ok after the cool-down";
    return ok;
  };
  claude_pool::pool p(fast_restarts(2), with(exec));
  auto before = now_ms();
  auto rec = p.run("overloaded at first");
  auto waited = now_ms() - before;
  CHECK(rec.state == task_state::completed);
  CHECK(rec.rate_limit_waits == 1);
  CHECK(rec.attempts.empty()); // a rate limit does not burn an attempt
  CHECK(waited >= 1000);       // the cool-down (1 s) held the task back
  CHECK(has_event(p.status(), "rate_limited"));
  for (auto& s : p.status().slots)
    CHECK(s.restart_count == 0);
}

TEST_CASE("a task waits through 429/529 up to max_wait_secs, then fails saying what happened",
          "[supervision][limits]") {
  auto exec = scripted_by_prompt();
  auto cfg = fast_restarts(1);
  cfg.max_wait_secs = 2;
  claude_pool::pool p(cfg, with(exec));
  auto rec = p.run("overloaded always");
  CHECK(rec.state == task_state::failed);
  CHECK(rec.rate_limit_waits >= 2); // 1 s, then 2 s of cool-down
  CHECK(rec.attempts.empty());
  CHECK_THAT(rec.result->output, Catch::StartsWith("API overloaded (529) for "));
  CHECK_THAT(rec.result->output, Catch::Contains("max_wait_secs 2"));
}

TEST_CASE("while a task waits for a limit, its record says until when and why",
          "[supervision][limits]") {
  auto exec = std::make_shared<scripted_executor>(true);
  std::atomic<int> calls{0};
  exec->answer = [&](const execution_request&) {
    if (calls++ == 0) {
      auto r = result_with("success", 429);
      r.retry_after_ms = 2000; // the server's retry-after, as the CLI's api_retry said
      return r;
    }
    task_result ok;
    ok.success = true;
    ok.output = "ok";
    return ok;
  };
  claude_pool::pool p(fast_restarts(1), with(exec));
  auto id = p.submit("limited once");
  REQUIRE(claude_pool::testing::eventually([&] {
    auto rec = p.result(id);
    return rec.waiting_until_ms.has_value();
  }));
  auto rec = p.result(id);
  CHECK(rec.state == task_state::pending);
  REQUIRE(rec.wait_reason);
  CHECK_THAT(*rec.wait_reason, Catch::Contains("API rate limit (429)"));
  CHECK_THAT(*rec.wait_reason, Catch::Contains("the server asked for 2.0 s"));
  auto st = p.status();
  REQUIRE(st.cooldown_until_ms);
  CHECK(*st.cooldown_until_ms == *rec.waiting_until_ms);
  auto done = p.wait(id);
  CHECK(done.state == task_state::completed);
  CHECK_FALSE(done.waiting_until_ms);
  CHECK(done.started_at_ms.value_or(0) >= *rec.waiting_until_ms);
}

TEST_CASE("a task with attempts is retried after crashes and records every attempt",
          "[supervision]") {
  auto exec = std::make_shared<scripted_executor>(true);
  std::atomic<int> calls{0};
  exec->answer = [&](const execution_request&) {
    if (calls++ < 2)
      return result_with("crashed");
    task_result ok;
    ok.success = true;
    ok.output = "third time lucky";
    return ok;
  };
  claude_pool::pool p(fast_restarts(2), with(exec));
  auto rec = p.run(task_submission{"flaky", {}, {}, 3});
  CHECK(rec.state == task_state::completed);
  REQUIRE(rec.attempts.size() == 2);
  CHECK(rec.attempts[0].attempt == 1);
  CHECK(rec.attempts[0].subtype == "crashed");
  CHECK(rec.attempts[1].attempt == 2);
  CHECK(rec.result->output == "third time lucky");
}

TEST_CASE("a task that keeps failing ends failed after max_attempts, never looping",
          "[supervision]") {
  auto exec = scripted_by_prompt();
  claude_pool::pool p(fast_restarts(2), with(exec));
  auto rec = p.run(task_submission{"garbage each time", {}, {}, 3});
  CHECK(rec.state == task_state::failed);
  CHECK(rec.attempts.size() == 2);
  CHECK_THAT(rec.result->output, Catch::Contains("attempt 3 of 3"));
  CHECK(exec->requests().size() == 3);
  // At most once by default.
  auto once = p.run("garbage once");
  CHECK(once.state == task_state::failed);
  CHECK(once.attempts.empty());
  CHECK(exec->requests().size() == 4);
}

TEST_CASE("the periodic pass retries an errored slot once its restart window allows",
          "[supervision]") {
  auto exec = scripted_by_prompt();
  auto cfg = fast_restarts(1);
  cfg.max_restarts = 1;
  cfg.restart_window_secs = 1;
  cfg.supervisor_enabled = true;
  cfg.supervisor_interval_secs = 1;
  claude_pool::pool p(cfg, with(exec));
  p.run("crash one");
  REQUIRE(status_becomes(p, [](const pool_status& st) {
    return st.slots[0].restart_count == 1 && st.slots[0].state == slot_state::idle;
  }));
  p.run("crash two"); // over the limit within the window: errored
  REQUIRE(status_becomes(p, [](const pool_status& st) {
    return has_event(st, "slot_errored");
  }));
  // After the window, the periodic pass brings it back.
  REQUIRE(status_becomes(p, [](const pool_status& st) {
    return has_event(st, "slot_recovered") && st.slots[0].state == slot_state::idle;
  }));
  CHECK(p.status().slots[0].restart_count == 2);
  CHECK(p.run("fine").state == task_state::completed);
}

TEST_CASE("a usage window near its limit is reported once per window", "[supervision][limits]") {
  auto exec = std::make_shared<scripted_executor>(true);
  exec->answer = [](const execution_request&) {
    task_result ok;
    ok.success = true;
    ok.output = "ok";
    ok.rate_limit = rate_limit_info{"allowed_warning", 1796590000000u, "five_hour", 0.95};
    return ok;
  };
  claude_pool::pool p(fast_restarts(1), with(exec));
  for (int i = 0; i < 3; ++i)
    REQUIRE(p.run("near the limit").state == task_state::completed);
  int warnings = 0;
  for (auto& e : p.status().events)
    if (e.kind == "usage_warning") {
      ++warnings;
      CHECK_THAT(e.message, Catch::Contains("five_hour window is 95 % used"));
      CHECK_THAT(e.message, Catch::Contains(describe_time_utc(1796590000000u)));
    }
  CHECK(warnings == 1);
}

TEST_CASE("window_headroom keeps the rest of a window free: nothing starts until it resets",
          "[supervision][limits]") {
  auto exec = std::make_shared<scripted_executor>(true);
  auto resets = now_ms() + 3600 * 1000;
  exec->answer = [resets](const execution_request&) {
    task_result ok;
    ok.success = true;
    ok.output = "ok";
    ok.rate_limit = rate_limit_info{"allowed_warning", resets, "five_hour", 0.92};
    return ok;
  };
  auto cfg = fast_restarts(1);
  cfg.window_headroom = 0.1;
  claude_pool::pool p(cfg, with(exec));
  REQUIRE(p.run("uses the window to 92 %").state == task_state::completed);
  auto id = p.submit("would eat into the headroom");
  auto st = p.status();
  REQUIRE(st.cooldown_until_ms);
  CHECK(*st.cooldown_until_ms == resets);
  REQUIRE(st.cooldown_reason);
  CHECK_THAT(*st.cooldown_reason, Catch::Contains("keeping 10 % of the five_hour window free"));
  CHECK(p.result(id).state == task_state::pending);
  CHECK(exec->requests().size() == 1);
  CHECK(p.cancel(id).state == task_state::cancelled);
}
