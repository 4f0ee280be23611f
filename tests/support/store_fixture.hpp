#pragma once
// What the task store tests share: a scratch directory under /tmp removed at the end, a task
// record, and a raw SQLite connection for doing to a store's file what the store never would.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "messages/records.hpp"
#include "temp_dir.hpp"

namespace claude_pool::testing {

/// A fresh directory for one test's database, removed with everything in it.
struct store_dir : temp_dir {
  store_dir() : temp_dir("claude-pool-store") {}
  std::string db() const { return path + "/tasks.db"; }
};

inline task_record record(const std::string& id, const std::string& prompt) {
  auto rec = task_record::new_pending(task_id{id}, prompt);
  rec.tags = {"store-test"};
  return rec;
}

/// Runs SQL on the file through a connection of its own, as another program would.
inline void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  char* err = nullptr;
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err ? err : sqlite3_errmsg(db);
  sqlite3_free(err);
  sqlite3_close(db);
  INFO(sql << ": " << message);
  REQUIRE(rc == SQLITE_OK);
}

} // namespace claude_pool::testing
