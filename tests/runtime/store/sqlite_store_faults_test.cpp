// Files the SQLite store must refuse, each with a sentence naming the file and the problem,
// never a crash and never a store that silently lacks data.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <csignal>
#include <fstream>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/store/task_store.hpp"
#include "../../support/store_fixture.hpp"

using namespace claude_pool;
using claude_pool::testing::raw_sql;
using claude_pool::testing::record;
using claude_pool::testing::store_dir;
using Catch::Matchers::Contains;

namespace {

void write_store(const std::string& path, int tasks) {
  auto store = open_sqlite_store(path);
  for (int i = 0; i < tasks; ++i)
    store->put_task(record("t-" + std::to_string(i), std::string(500, 'p')));
}

/// Another process holding the store's write lock in an open transaction until released:
/// what a second pool (or a person in the sqlite3 shell) mid-write looks like.
struct lock_holder {
  pid_t pid = -1;
  int release_fd = -1;

  explicit lock_holder(const std::string& path) {
    int ready[2], release[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(release) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Only the parent may hold the write end: its close (or death) is the release.
      ::close(ready[0]);
      ::close(release[1]);
      sqlite3* db = nullptr;
      int rc = sqlite3_open(path.c_str(), &db);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN EXCLUSIVE; INSERT INTO meta VALUES('holder', 'x');",
                          nullptr, nullptr, nullptr);
      char c = rc == SQLITE_OK ? 'y' : 'n';
      (void)!::write(ready[1], &c, 1);
      (void)!::read(release[0], &c, 1);
      ::_exit(0); // the lock goes with the process; nothing is committed
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_fd = release[1];
    char c = 'n';
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
    REQUIRE(c == 'y');
  }
  ~lock_holder() {
    ::close(release_fd); // EOF releases the child
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
};

template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const store_error& e) {
    return e.what();
  }
  FAIL("no store_error");
  return {};
}

} // namespace

TEST_CASE("a task put just before its process is killed is there on reopen", "[store]") {
  store_dir dir;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto store = open_sqlite_store(dir.db());
    store->put_task(record("t-last", "acknowledged"));
    ::raise(SIGKILL); // no close, no checkpoint: the task is only in the -wal file
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  auto tasks = open_sqlite_store(dir.db())->load_tasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].prompt == "acknowledged");
}

TEST_CASE("a store written by a newer schema is refused, naming both versions", "[store]") {
  store_dir dir;
  write_store(dir.db(), 1);
  raw_sql(dir.db(), "UPDATE meta SET value = '999' WHERE key = 'schema_version'");
  auto what = refusal([&] { open_sqlite_store(dir.db()); });
  CHECK(what == "task store " + dir.db() +
                    " was written by a newer claude-pool (schema 999, this one knows 1)");
}

TEST_CASE("a truncated store is refused as corrupt at open", "[store]") {
  store_dir dir;
  write_store(dir.db(), 200);
  auto size = std::filesystem::file_size(dir.db());
  REQUIRE(size > 16 * 4096); // the records span many pages
  std::filesystem::resize_file(dir.db(), size / 2);
  // The header still counts the pages that are gone; SQLite reports SQLITE_CORRUPT on the
  // first read (quick_check), so nothing of the damaged store is ever half-loaded.
  auto what = refusal([&] { open_sqlite_store(dir.db()); });
  CHECK_THAT(what, Contains(dir.db()) && Contains("corrupt"));
}

TEST_CASE("a file that is not a database is refused as such", "[store]") {
  store_dir dir;
  std::ofstream(dir.db()) << std::string(8192, 'g') << "not sqlite at all\n";
  auto what = refusal([&] { open_sqlite_store(dir.db()); });
  CHECK_THAT(what, Contains(dir.db()) && Contains("not a database"));
  CHECK(std::filesystem::file_size(dir.db()) > 8192); // and left as it was
}

TEST_CASE("another program's SQLite database is not taken over", "[store]") {
  store_dir dir;
  raw_sql(dir.db(), "CREATE TABLE photos(id INTEGER PRIMARY KEY)");
  auto what = refusal([&] { open_sqlite_store(dir.db()); });
  CHECK_THAT(what, Contains("not a claude-pool store"));
}

TEST_CASE("a store in a directory that does not exist is refused, naming it", "[store]") {
  store_dir dir;
  auto what = refusal([&] { open_sqlite_store(dir.path + "/missing/tasks.db"); });
  CHECK(what == "task store " + dir.path + "/missing/tasks.db: the directory " + dir.path +
                    "/missing does not exist");
}

TEST_CASE("a read-only store file is refused at open", "[store]") {
  store_dir dir;
  write_store(dir.db(), 1);
  REQUIRE(::chmod(dir.db().c_str(), 0444) == 0);
  if (::geteuid() != 0) {
    CHECK_THAT(refusal([&] { open_sqlite_store(dir.db()); }), Contains("cannot be written"));
    return;
  }
  // Root writes any file: try as nobody, in a child, with the directory open to it.
  REQUIRE(::chmod(dir.path.c_str(), 0755) == 0);
  int out[2];
  REQUIRE(::pipe(out) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::string what = "no refusal";
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      what = "cannot become nobody";
    else
      try {
        open_sqlite_store(dir.db());
      } catch (const std::exception& e) {
        what = e.what();
      }
    (void)!::write(out[1], what.data(), what.size());
    ::_exit(0);
  }
  ::close(out[1]);
  std::string what;
  char buf[512];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;)
    what.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  ::waitpid(pid, nullptr, 0);
  CHECK(what == "task store " + dir.db() + ": the file cannot be written (Permission denied)");
}

TEST_CASE("a stored record this build cannot read stops the load, naming the task",
          "[store]") {
  store_dir dir;
  write_store(dir.db(), 3);
  raw_sql(dir.db(), "UPDATE tasks SET record = '{\"id\": 7}' WHERE id = 't-1'");
  auto store = open_sqlite_store(dir.db());
  auto what = refusal([&] { store->load_tasks(); });
  CHECK_THAT(what, Contains(dir.db()) && Contains("the record of task t-1 cannot be read"));
}

TEST_CASE("a store another process holds locked is refused as locked, after a short wait",
          "[store]") {
  store_dir dir;
  write_store(dir.db(), 1);
  auto open_before = open_sqlite_store(dir.db());
  lock_holder holder(dir.db());
  using clock = std::chrono::steady_clock;

  auto start = clock::now();
  auto what = refusal([&] { open_sqlite_store(dir.db()); });
  auto waited = clock::now() - start;
  CHECK_THAT(what, Contains(dir.db()) && Contains("locked by another process"));
  CHECK(waited >= std::chrono::milliseconds(1500)); // the busy wait was tried...
  CHECK(waited < std::chrono::seconds(10));          // ...and is bounded

  // A store opened before the lock was taken: its writes are refused the same way, its
  // reads still work (WAL readers do not wait for the writer).
  what = refusal([&] { open_before->put_task(record("t-new", "x")); });
  CHECK_THAT(what, Contains("cannot save task t-new") && Contains("locked"));
  CHECK(open_before->load_tasks().size() == 1);
}

TEST_CASE("a store claimed by one pool is refused to a second until the first lets go",
          "[store]") {
  store_dir dir;
  auto first = open_sqlite_store(dir.db());
  first->claim();
  first->claim(); // the same store again: already its own
  auto second = open_sqlite_store(dir.db());
  try {
    second->claim();
    FAIL("a second pool could claim a claimed store");
  } catch (const store_error& e) {
    CHECK_THAT(e.what(), Contains(dir.db()) && Contains("another pool is using it"));
  }
  // Another process is refused the same way; its claim goes with it when it dies.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    try {
      open_sqlite_store(dir.db())->claim();
    } catch (const store_error&) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WEXITSTATUS(status) == 3);
  first.reset();
  CHECK_NOTHROW(second->claim());
}
