// Both task stores against the same contract, then what the SQLite one does with a file that
// survives, and with files it must refuse (tests/runtime/store/sqlite_store_faults_test.cpp).
#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include <sys/stat.h>

#include "runtime/store/task_store.hpp"
#include "../../support/store_fixture.hpp"

using namespace claude_pool;
using claude_pool::testing::record;
using claude_pool::testing::store_dir;

namespace {

std::unique_ptr<task_store> make_store(const std::string& kind, const store_dir& dir) {
  return kind == "memory" ? make_memory_store() : open_sqlite_store(dir.db());
}

std::vector<std::string> ids_of(const std::vector<task_record>& tasks) {
  std::vector<std::string> out;
  for (auto& t : tasks)
    out.push_back(t.id.value);
  return out;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

} // namespace

TEST_CASE("a store returns tasks in the order they were first put", "[store]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "sqlite");
  store_dir dir;
  auto store = make_store(kind, dir);
  CHECK(store->load_tasks().empty());
  store->put_task(record("t-b", "second letter first"));
  store->put_task(record("t-a", "first letter second"));
  store->put_task(record("t-c", "third"));
  auto tasks = store->load_tasks();
  CHECK(ids_of(tasks) == std::vector<std::string>{"t-b", "t-a", "t-c"});
  CHECK(tasks[1].prompt == "first letter second");
  CHECK(store->describe() == (kind == "memory" ? "memory" : dir.db()));
}

TEST_CASE("a replaced task keeps its place and takes its new content", "[store]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "sqlite");
  store_dir dir;
  auto store = make_store(kind, dir);
  for (auto id : {"t-1", "t-2", "t-3"})
    store->put_task(record(id, "before"));
  auto changed = record("t-1", "after");
  changed.transition_to(task_state::running);
  changed.tags = {"x"};
  store->put_task(changed);
  auto tasks = store->load_tasks();
  REQUIRE(ids_of(tasks) == std::vector<std::string>{"t-1", "t-2", "t-3"});
  CHECK(tasks[0].prompt == "after");
  CHECK(tasks[0].state == task_state::running);
  CHECK(tasks[0].tags == std::vector<std::string>{"x"});
  CHECK(tasks[1].prompt == "before");
}

TEST_CASE("a store keeps a slot's session until it is forgotten", "[store]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "sqlite");
  store_dir dir;
  auto store = make_store(kind, dir);
  CHECK(store->load_sessions().empty());
  store->put_session(slot_id{"slot-0"}, stored_session{"sess-a", "/work/a"});
  store->put_session(slot_id{"slot-1"}, stored_session{"sess-b", "/work/b"});
  store->put_session(slot_id{"slot-0"}, stored_session{"sess-c", "/work/c"});
  store->put_session(slot_id{"slot-1"}, std::nullopt);
  store->put_session(slot_id{"slot-9"}, std::nullopt); // forgetting an unknown slot is fine
  auto sessions = store->load_sessions();
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[slot_id{"slot-0"}].session_id == "sess-c");
  CHECK(sessions[slot_id{"slot-0"}].working_dir == "/work/c");
}

TEST_CASE("a store keeps the budget's spend, zero until set", "[store]") {
  auto kind = GENERATE(as<std::string>{}, "memory", "sqlite");
  store_dir dir;
  auto store = make_store(kind, dir);
  CHECK(store->load_spent() == 0);
  store->put_spent(1'234'567);
  CHECK(store->load_spent() == 1'234'567);
  // Above SQLite's signed 64-bit range: still comes back unchanged.
  store->put_spent(UINT64_MAX - 5);
  CHECK(store->load_spent() == UINT64_MAX - 5);
}

TEST_CASE("a SQLite store keeps everything across close and reopen", "[store]") {
  store_dir dir;
  {
    auto store = open_sqlite_store(dir.db());
    store->put_task(record("t-2", "two"));
    store->put_task(record("t-1", "one"));
    store->put_session(slot_id{"slot-0"}, stored_session{"sess", "/w"});
    store->put_spent(42);
  }
  auto store = open_sqlite_store(dir.db());
  CHECK(ids_of(store->load_tasks()) == std::vector<std::string>{"t-2", "t-1"});
  CHECK(store->load_sessions().at(slot_id{"slot-0"}).session_id == "sess");
  CHECK(store->load_spent() == 42);
  // New tasks go after the old ones, not into a reused place.
  store->put_task(record("t-0", "zero"));
  CHECK(ids_of(store->load_tasks()) == std::vector<std::string>{"t-2", "t-1", "t-0"});
}

TEST_CASE("a SQLite store and its WAL files are private to the user (0600)", "[store]") {
  store_dir dir;
  auto store = open_sqlite_store(dir.db());
  store->put_task(record("t-1", "secret prompt"));
  CHECK(mode_of(dir.db()) == 0600);
  // While a connection is open the -wal and -shm files exist; SQLite copies the db's mode.
  CHECK(mode_of(dir.db() + "-wal") == 0600);
  CHECK(mode_of(dir.db() + "-shm") == 0600);
}

TEST_CASE("two SQLite stores on one file, writing from two threads, lose nothing",
          "[store]") {
  store_dir dir;
  auto a = open_sqlite_store(dir.db());
  auto b = open_sqlite_store(dir.db());
  constexpr int per_writer = 100;
  auto write = [](task_store& store, const std::string& prefix) {
    for (int i = 0; i < per_writer; ++i) {
      store.put_task(record(prefix + std::to_string(i), "v1"));
      if (i % 10 == 9) // replace an earlier one now and then: it must keep its place
        store.put_task(record(prefix + std::to_string(i - 5), "v2"));
    }
  };
  std::string failure;
  auto guarded = [&](task_store& store, const std::string& prefix) {
    try {
      write(store, prefix);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  };
  std::thread ta(guarded, std::ref(*a), "a-");
  std::thread tb(guarded, std::ref(*b), "b-");
  ta.join();
  tb.join();
  REQUIRE(failure.empty());
  auto tasks = open_sqlite_store(dir.db())->load_tasks();
  REQUIRE(tasks.size() == 2 * per_writer);
  // Each writer's tasks come back in that writer's order, whatever the interleaving.
  int next_a = 0, next_b = 0;
  for (auto& t : tasks) {
    int i = (t.id.value[0] == 'a' ? next_a : next_b)++;
    CHECK(t.id.value.substr(2) == std::to_string(i));
    CHECK(t.prompt == (i % 10 == 4 ? "v2" : "v1"));
  }
}
