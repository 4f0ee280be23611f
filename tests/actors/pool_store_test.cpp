// The pool on a durable store, with the in-memory store and a scripted executor: records are
// stored before a submission is acknowledged and at every change; a pool started again on
// the store recovers (ended tasks kept, pending ones queued, running ones interrupted or
// retried, spend and sessions restored). No processes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "claude_pool/pool.hpp"
#include "../support/chain_helpers.hpp"
#include "../support/eventually.hpp"
#include "../support/store_fixture.hpp"
#include "../support/scripted_executor.hpp"

using namespace claude_pool;
using claude_pool::testing::eventually;
using claude_pool::testing::scripted_executor;
using claude_pool::testing::slots;

namespace {

pool_options on_store(std::shared_ptr<task_executor> exec, std::shared_ptr<task_store> store) {
  pool_options o;
  o.executor = std::move(exec);
  o.store = std::move(store);
  return o;
}

std::optional<task_record> stored(task_store& s, const task_id& id) {
  for (auto& r : s.load_tasks())
    if (r.id == id)
      return r;
  return std::nullopt;
}

task_record with_state(const std::string& id, task_state state, std::uint32_t max_attempts = 1) {
  auto r = task_record::new_pending(task_id{id}, "prompt of " + id);
  r.max_attempts = max_attempts;
  if (state != task_state::pending)
    r.transition_to(task_state::running);
  if (state == task_state::running)
    r.slot_id = slot_id{"slot-0"};
  if (state == task_state::completed || state == task_state::pending_review) {
    task_result res;
    res.success = true;
    res.output = "old answer";
    res.cost_microdollars = 70;
    r.result = res;
    r.transition_to(state);
  }
  return r;
}

} // namespace

TEST_CASE("a task is in the store before its submission is acknowledged, and at every change",
          "[store]") {
  auto store = std::shared_ptr<task_store>(make_memory_store());
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(slots(1), on_store(exec, store));
  auto id = p.submit(std::string("keep me"));
  auto first = stored(*store, id); // no waiting: the acknowledgement came after the write
  REQUIRE(first);
  CHECK(first->prompt == "keep me");
  REQUIRE(exec->wait_for_live(1));
  // "running" is stored before the execution starts.
  CHECK(stored(*store, id)->state == task_state::running);
  exec->finish(id);
  auto rec = p.wait(id);
  auto last = stored(*store, id);
  REQUIRE(last);
  CHECK(last->state == task_state::completed);
  CHECK(last->result->output == rec.result->output);
  CHECK(store->load_spent() == rec.result->cost_microdollars);
}

TEST_CASE("a pool started on a store recovers every task it had accepted", "[store]") {
  auto store = std::shared_ptr<task_store>(make_memory_store());
  store->put_task(with_state("done", task_state::completed));
  store->put_task(with_state("waiting", task_state::pending));
  store->put_task(with_state("was-running", task_state::running));
  store->put_task(with_state("was-running-retry", task_state::running, 2));
  store->put_task(with_state("in-review", task_state::pending_review));
  store->put_spent(900);
  store->put_session(slot_id{"slot-0"}, stored_session{"sess-1", ""});

  auto exec = std::make_shared<scripted_executor>(true);
  auto cfg = slots(1);
  cfg.slot_mode = slot_mode::persistent;
  claude_pool::pool p(cfg, on_store(exec, store));
  auto done = p.result(task_id{"done"});
  CHECK(done.state == task_state::completed);
  CHECK(done.result->output == "old answer");
  CHECK(p.result(task_id{"in-review"}).state == task_state::pending_review);

  auto interrupted = p.wait(task_id{"was-running"});
  CHECK(interrupted.state == task_state::failed);
  CHECK(interrupted.result->subtype == "interrupted");

  auto waiting = p.wait(task_id{"waiting"});
  CHECK(waiting.state == task_state::completed);
  auto retried = p.wait(task_id{"was-running-retry"});
  CHECK(retried.state == task_state::completed);
  REQUIRE(retried.attempts.size() == 1);
  CHECK(retried.attempts[0].subtype == "interrupted");

  // Only the two queued tasks ran, in their order; the first continued slot-0's session.
  auto reqs = exec->requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].task.value == "waiting");
  CHECK(reqs[0].resume_session == std::optional<std::string>("sess-1"));
  CHECK(reqs[1].task.value == "was-running-retry");

  // Spend goes on from where it was; the store saw every change.
  REQUIRE(eventually([&] { return store->load_spent() == 900 + 10 + 10; }));
  CHECK(stored(*store, task_id{"was-running"})->result->subtype == "interrupted");
  CHECK(stored(*store, task_id{"waiting"})->state == task_state::completed);
  auto events = p.status().events;
  CHECK(std::any_of(events.begin(), events.end(),
                    [](auto& e) { return e.kind == "store_recovered"; }));
}

TEST_CASE("a restarted pool's budget counts what was spent before", "[store][budget]") {
  auto store = std::shared_ptr<task_store>(make_memory_store());
  store->put_spent(1500);
  auto cfg = slots(1);
  cfg.budget_microdollars = 2000;
  cfg.budget_policy = "fixed";
  cfg.budget_default_reservation_microdollars = 600;
  claude_pool::pool p(cfg, on_store(std::make_shared<scripted_executor>(true), store));
  auto st = p.status();
  REQUIRE(st.budget);
  CHECK(st.budget->spent_microdollars == 1500);
  // 500 left cannot hold a 600 reservation: refused with the figures, not run.
  try {
    p.submit(std::string("too much"));
    FAIL("admitted beyond the restored budget");
  } catch (const pool_error& e) {
    CHECK(is_refusal(e.code));
  }
}

TEST_CASE("a second pool on a store in use is refused, naming the store", "[store]") {
  claude_pool::testing::store_dir dir;
  pool_config cfg;
  cfg.store_path = dir.db();
  auto exec = std::make_shared<scripted_executor>(true);
  pool_options o;
  o.executor = exec;
  claude_pool::pool first(cfg, o);
  try {
    claude_pool::pool second(cfg, o);
    FAIL("two pools shared one store");
  } catch (const pool_error& e) {
    CHECK(e.code == pool_errc::store_failed);
    CHECK_THAT(e.what(), Catch::Contains("another pool is using it"));
  }
  CHECK(first.wait(first.submit("still fine")).state == task_state::completed);
}

namespace {

/// A store on a disk that can be full: while `full`, every task write fails as SQLite's does
/// on a full disk (the same words the store uses).
class full_disk_store : public task_store {
public:
  std::atomic<bool> full{false};
  void put_task(const task_record& rec) override {
    if (full)
      throw std::runtime_error("cannot save task " + rec.id.value + ": the disk is full");
    inner_->put_task(rec);
  }
  std::vector<task_record> load_tasks() override { return inner_->load_tasks(); }
  void put_session(const slot_id& s, const std::optional<stored_session>& x) override {
    inner_->put_session(s, x);
  }
  std::map<slot_id, stored_session> load_sessions() override { return inner_->load_sessions(); }
  void put_spent(std::uint64_t m) override { inner_->put_spent(m); }
  std::uint64_t load_spent() override { return inner_->load_spent(); }
  std::string describe() const override { return "a test store on a disk that fills up"; }

private:
  std::unique_ptr<task_store> inner_ = make_memory_store();
};

pool_options on_disk(std::shared_ptr<full_disk_store> store,
                     std::shared_ptr<scripted_executor> exec) {
  pool_options o;
  o.executor = std::move(exec);
  o.store = std::move(store);
  return o;
}

} // namespace

TEST_CASE("a submission whose record cannot be written is refused, never runs, and the pool "
          "takes work again once the disk has room",
          "[store]") {
  auto store = std::make_shared<full_disk_store>();
  auto exec = std::make_shared<scripted_executor>(true);
  claude_pool::pool p(pool_config{}, on_disk(store, exec));
  auto before = p.submit("before the disk filled");
  REQUIRE(p.wait(before).state == task_state::completed);
  store->full = true;
  for (int i = 0; i < 3; ++i) {
    try {
      p.submit("while the disk is full " + std::to_string(i));
      FAIL("a task was acknowledged without being recorded");
    } catch (const pool_error& e) {
      CHECK(e.code == pool_errc::store_failed);
      CHECK_THAT(e.what(), Catch::Contains("the disk is full"));
      // A refusal, as for a drain or the budget: batch and fan_out give its line a record.
      CHECK(is_refusal(e.code));
      CHECK(refused_record(task_submission{"x", {}, {}}, e).state == task_state::failed);
    }
  }
  CHECK_THROWS_AS(p.run("run while full"), pool_error);
  // submit_all: each submission whose record cannot be written is refused.
  auto batch = p.submit_all({task_submission{"batch a", {}, {}}, task_submission{"batch b", {}, {}}});
  REQUIRE(batch.size() == 2);
  for (auto& answer : batch) {
    CHECK_FALSE(answer.id);
    REQUIRE(answer.error);
    CHECK(answer.error->code == pool_errc::store_failed);
  }
  CHECK(exec->requests().size() == 1); // nothing ran unrecorded
  CHECK(p.list().size() == 1);         // and the pool keeps nothing of them
  store->full = false;
  auto after = p.submit("the disk has room again");
  CHECK(p.wait(after).state == task_state::completed);
  auto stored = store->load_tasks();
  CHECK(stored.size() == 2); // the earlier record was never lost
  for (auto& rec : stored)
    CHECK(rec.state == task_state::completed);
}

TEST_CASE("a batch refused on a full disk takes back only its own tasks, not another task's "
          "unwritten change",
          "[store][facade]") {
  auto store = std::make_shared<full_disk_store>();
  auto exec = std::make_shared<scripted_executor>(false);
  claude_pool::pool p(pool_config{}, on_disk(store, exec));
  auto running = p.submit("runs while the disk fills");
  REQUIRE(exec->wait_for_started(1));
  store->full = true;
  REQUIRE(exec->finish(running)); // its completion cannot be written now
  REQUIRE(p.wait(running).state == task_state::completed);
  auto batch = p.submit_all({task_submission{"batch a", {}, {}}, task_submission{"batch b", {}, {}}});
  REQUIRE(batch.size() == 2);
  for (auto& answer : batch) {
    REQUIRE(answer.error);
    CHECK(answer.error->code == pool_errc::store_failed);
  }
  // The finished task is still the pool's, and its change is written once there is room.
  CHECK(p.result(running).state == task_state::completed);
  store->full = false;
  auto after = p.submit("the disk has room again");
  auto stored = store->load_tasks();
  auto it = std::find_if(stored.begin(), stored.end(),
                         [&](const task_record& r) { return r.id == running; });
  REQUIRE(it != stored.end());
  CHECK(it->state == task_state::completed);
  CHECK(std::none_of(stored.begin(), stored.end(), [](const task_record& r) {
    return r.prompt.rfind("batch", 0) == 0;
  }));
  CHECK(p.result(after).state == task_state::running);
}
