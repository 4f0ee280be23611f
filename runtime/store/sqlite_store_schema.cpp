#include "runtime/store/sqlite_store_schema.hpp"

#include <cstdlib>

#include <SQLiteCpp/SQLiteCpp.h>

#include "runtime/store/task_store.hpp"

namespace claude_pool {

namespace {

// tasks.seq is the order of first insertion (what `load_tasks` returns); its index makes
// both that ORDER BY and the MAX(seq) of each new insertion a lookup, not a scan.
const char* const schema_sql = R"sql(
  CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
  CREATE TABLE tasks(id TEXT PRIMARY KEY, seq INTEGER NOT NULL, record TEXT NOT NULL);
  CREATE INDEX tasks_by_seq ON tasks(seq);
  CREATE TABLE sessions(slot TEXT PRIMARY KEY, session_id TEXT, working_dir TEXT);
  CREATE TABLE budget(id INTEGER PRIMARY KEY CHECK (id = 1), spent INTEGER);
)sql";

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw store_error("task store " + path + ": " + why);
}

} // namespace

void check_store_integrity(SQLite::Database& db, const std::string& path) {
  SQLite::Statement st(db, "PRAGMA quick_check(3)");
  std::string found;
  while (st.executeStep()) {
    auto line = st.getColumn(0).getString();
    if (line != "ok")
      found += (found.empty() ? "" : "; ") + line;
  }
  if (!found.empty())
    refuse(path, "the database is corrupt (" + found + ")");
}

// IMMEDIATE takes the write lock first: two pools opening a new file do not both create the
// schema, and a file another process holds locked is refused here, at open, not at the
// first submission.
void create_or_check_store_schema(SQLite::Database& db, const std::string& path) {
  SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
  if (!db.tableExists("meta")) {
    // Never add our tables to someone else's database.
    if (db.execAndGet("SELECT count(*) FROM sqlite_master").getInt64() != 0)
      refuse(path, "the file is a SQLite database but not a claude-pool store");
    db.exec(schema_sql);
    db.exec("INSERT INTO meta(key, value) VALUES('schema_version', '" +
            std::to_string(task_store_schema_version) + "')");
  } else {
    SQLite::Statement st(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    std::string text = st.executeStep() ? st.getColumn(0).getString() : "";
    int version = std::atoi(text.c_str());
    if (version < 1)
      refuse(path, "its schema version '" + text + "' cannot be read");
    // A newer build may have changed what records mean: refuse rather than misread them.
    if (version > task_store_schema_version)
      throw store_error("task store " + path + " was written by a newer claude-pool (schema " +
                        std::to_string(version) + ", this one knows " +
                        std::to_string(task_store_schema_version) + ")");
  }
  // Chains came later than version 1's tables; adding a table changes nothing an older
  // build reads, so the version stays.
  db.exec("CREATE TABLE IF NOT EXISTS chains(id TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
          " definition TEXT NOT NULL, record TEXT NOT NULL)");
  tx.commit();
}

} // namespace claude_pool
