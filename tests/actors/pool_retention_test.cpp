// A pool that runs for weeks: ended records leave memory under retain_ended_records /
// retain_ended_secs, the store still answers for them (result, wait, list, cancel, review),
// status counts them without walking records, and a pool started on a long history loads only
// what it needs. A real SQLite store in a temporary directory and a scripted executor; no
// processes.
#include <catch2/catch.hpp>

#include <set>

#include "claude_pool/pool.hpp"
#include "../support/chain_helpers.hpp"
#include "../support/eventually.hpp"
#include "../support/scripted_executor.hpp"
#include "../support/temp_dir.hpp"

using namespace claude_pool;
using claude_pool::testing::eventually;
using claude_pool::testing::scripted_executor;
using claude_pool::testing::slots;

namespace {

pool_options instant_on(std::shared_ptr<task_store> store) {
  pool_options o;
  o.executor = std::make_shared<scripted_executor>(true);
  o.store = std::move(store);
  return o;
}

std::vector<task_id> run_all(claude_pool::pool& p, int n, const std::string& tag = "soak") {
  std::vector<task_submission> subs;
  for (int i = 0; i < n; ++i)
    subs.push_back(task_submission{"task " + std::to_string(i), {tag}, std::nullopt});
  std::vector<task_id> ids;
  for (auto& rec : p.fan_out(std::move(subs))) {
    REQUIRE(rec.state == task_state::completed);
    ids.push_back(rec.id);
  }
  return ids;
}

/// Every page of the list, `limit` at a time, following the cursor.
std::vector<task_record> all_pages(claude_pool::pool& p, task_filter filter, std::uint64_t limit) {
  std::vector<task_record> out;
  filter.limit = limit;
  for (;;) {
    auto page = p.list(filter);
    REQUIRE(page.size() <= limit);
    out.insert(out.end(), page.begin(), page.end());
    if (page.size() < limit)
      return out;
    filter.after = page.back().id;
  }
}

pool_errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pool_error& e) {
    return e.code;
  }
  FAIL("no pool_error");
  return pool_errc::invalid_request;
}

} // namespace

TEST_CASE("ended records over retain_ended_records leave memory but the store still answers for "
          "them and status counts them",
          "[store][retention]") {
  claude_pool::testing::temp_dir dir;
  auto store = std::shared_ptr<task_store>(open_sqlite_store(dir / "tasks.db"));
  auto cfg = slots(2);
  cfg.retain_ended_records = 5;
  claude_pool::pool p(cfg, instant_on(store));
  auto ids = run_all(p, 120);

  // Trimmed in batches (at most 16 over the limit here), never all of them kept.
  REQUIRE(eventually([&] { return p.status().records_in_memory <= 5 + 16; }));
  auto st = p.status();
  CHECK(st.completed == 120);
  CHECK(st.pending + st.running + st.failed + st.cancelled == 0);

  // The first task left memory long ago: result and wait read it from the store.
  auto first = p.result(ids.front());
  CHECK(first.state == task_state::completed);
  CHECK(first.prompt == "task 0");
  CHECK(p.wait(ids.front()).id == ids.front());
  CHECK(code_of([&] { p.cancel(ids.front()); }) == pool_errc::already_finished);
  CHECK(code_of([&] { p.approve(ids.front()); }) == pool_errc::not_pending_review);
  CHECK(code_of([&] { p.result(task_id{"task-never"}); }) == pool_errc::unknown_task);

  // The list pages through the whole history in submission order, each task once.
  auto listed = all_pages(p, {}, 7);
  REQUIRE(listed.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i)
    CHECK(listed[i].id == ids[i]);
  task_filter from_middle;
  from_middle.after = ids[99];
  from_middle.state = task_state::completed;
  from_middle.limit = 3;
  auto page = p.list(from_middle);
  REQUIRE(page.size() == 3);
  CHECK(page[0].id == ids[100]);
  CHECK(page[2].id == ids[102]);
  task_filter unknown_cursor;
  unknown_cursor.after = task_id{"task-never"};
  CHECK(code_of([&] { p.list(unknown_cursor); }) == pool_errc::unknown_task);
  task_filter failed_only;
  failed_only.state = task_state::failed;
  CHECK(all_pages(p, failed_only, 10).empty());
}

TEST_CASE("a pool started on a long history loads only the newest ended records and counts the "
          "rest",
          "[store][retention]") {
  claude_pool::testing::temp_dir dir;
  auto path = dir / "tasks.db";
  std::vector<task_id> ids;
  {
    auto cfg = slots(2);
    cfg.retain_ended_records = 1000; // all of them stay in the first pool's memory
    claude_pool::pool p(cfg, instant_on(std::shared_ptr<task_store>(open_sqlite_store(path))));
    ids = run_all(p, 60);
    CHECK(p.status().records_in_memory == 60);
  }
  auto cfg = slots(2);
  cfg.retain_ended_records = 4;
  claude_pool::pool again(cfg, instant_on(std::shared_ptr<task_store>(open_sqlite_store(path))));
  auto st = again.status();
  CHECK(st.records_in_memory == 4);
  CHECK(st.completed == 60);
  CHECK(again.result(ids.front()).prompt == "task 0");
  CHECK(again.result(ids.back()).prompt == "task 59");
  auto listed = all_pages(again, {}, 25);
  REQUIRE(listed.size() == 60);
  CHECK(listed.front().id == ids.front());
  CHECK(listed.back().id == ids.back());
  // New work after the history: counted on top of it, listed after it.
  auto more = run_all(again, 3, "later");
  CHECK(again.status().completed == 63);
  task_filter later;
  later.tags = std::vector<std::string>{"later"};
  auto tagged = all_pages(again, later, 2);
  REQUIRE(tagged.size() == 3);
  CHECK(tagged.back().id == more.back());
}

TEST_CASE("retain_ended_secs takes ended records out of memory once they are that old even "
          "when nothing else happens",
          "[store][retention]") {
  claude_pool::testing::temp_dir dir;
  auto cfg = slots(1);
  cfg.retain_ended_secs = 1;
  claude_pool::pool p(cfg, instant_on(std::shared_ptr<task_store>(
                                open_sqlite_store(dir / "tasks.db"))));
  auto ids = run_all(p, 10);
  CHECK(p.status().records_in_memory <= 10);
  REQUIRE(eventually([&] { return p.status().records_in_memory == 0; }));
  CHECK(p.status().completed == 10);
  CHECK(p.result(ids[3]).prompt == "task 3");
}

TEST_CASE("without a store the pool keeps every record unless told to forget the oldest",
          "[retention]") {
  SECTION("the default keeps all") {
    claude_pool::pool p(slots(2), instant_on(nullptr));
    auto ids = run_all(p, 50);
    CHECK(p.status().records_in_memory == 50);
    CHECK(p.result(ids.front()).prompt == "task 0");
  }
  SECTION("retain_ended_records 0 - records leave and ids become unknown but counts stay") {
    auto cfg = slots(2);
    cfg.retain_ended_records = 0;
    claude_pool::pool p(cfg, instant_on(nullptr));
    auto ids = run_all(p, 50);
    REQUIRE(eventually([&] { return p.status().records_in_memory <= 16; }));
    CHECK(p.status().completed == 50);
    CHECK(code_of([&] { p.result(ids.front()); }) == pool_errc::unknown_task);
    auto listed = all_pages(p, {}, 100);
    CHECK(listed.size() == p.status().records_in_memory);
    std::set<std::string> seen;
    for (auto& r : listed)
      CHECK(seen.insert(r.id.value).second);
  }
}
