// The durable store: one SQLite file in WAL mode. Every write is one autocommit statement, so
// it is atomic on its own and, with synchronous=FULL, on disk when the call returns (the
// pool acknowledges a submission only after its record is written). Every SQLite failure
// becomes a `store_error` naming the file and the problem in words; nothing is skipped.
#include "runtime/store/task_store.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <mutex>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sqlite3.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "messages/json.hpp"
#include "runtime/store/sqlite_store_schema.hpp"

namespace claude_pool {

namespace {

/// How long a statement waits for another connection's write lock before failing. Writes
/// are single short statements, so a healthy writer never holds the lock this long; longer
/// means a stuck or foreign process, which a person should hear about.
constexpr int busy_timeout_ms = 2000;

/// A new task takes the next seq; a replaced one keeps its own (and so its place in
/// `load_tasks`). MAX(seq) is read inside the writing statement, under the write lock, so
/// two writers cannot take the same seq.
const char* const put_task_sql =
    "INSERT INTO tasks(id, seq, record) VALUES(?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM tasks),"
    " ?2) ON CONFLICT(id) DO UPDATE SET record = excluded.record";

/// The states a task ends in, as SQL (a list for IN).
#define CLAUDE_POOL_ENDED_STATES_SQL "('completed', 'failed', 'cancelled')"

/// The problem behind a SQLite failure, in words a person can act on.
/// True when the file system that holds `path` has no block left for us (SQLite reports
/// some writes on a full disk — its shared-memory file at open — as plain I/O errors).
bool no_space_left(const std::string& path) {
  struct statvfs fs {};
  auto dir = std::filesystem::path(path).parent_path();
  return ::statvfs(dir.empty() ? "." : dir.c_str(), &fs) == 0 && fs.f_bavail == 0;
}

std::string problem(const SQLite::Exception& e, const std::string& path) {
  switch (e.getErrorCode() & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "the database is locked by another process (waited " +
             std::to_string(busy_timeout_ms / 1000) +
             " s; is another claude-pool using this store?)";
    case SQLITE_NOTADB:
      return "the file is not a database (or is encrypted)";
    case SQLITE_CORRUPT:
      return std::string("the database is corrupt (") + e.what() + ")";
    case SQLITE_READONLY:
      return std::string("the database is read-only (") + e.what() + ")";
    case SQLITE_FULL:
      return "the disk is full";
    case SQLITE_CANTOPEN:
      return std::string("the file cannot be opened (") + e.what() + ")";
    case SQLITE_IOERR:
      if (no_space_left(path))
        return std::string("the disk is full (") + e.what() + ")";
      return std::string("an I/O error (") + e.what() + ")";
    default:
      return e.what();
  }
}

[[noreturn]] void fail(const std::string& path, const std::string& doing,
                       const SQLite::Exception& e) {
  throw store_error("task store " + path + ": " + doing + ": " + problem(e, path));
}

/// Creates the file 0600 before SQLite sees it (SQLite would create it 0644 under the usual
/// umask; its -wal and -shm files copy the database file's mode). Also where a missing
/// directory or an unwritable file is told apart, which SQLite reports only as CANTOPEN.
void create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  int err = errno;
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  std::string why = std::string("cannot open it: ") + std::strerror(err);
  if (err == ENOENT && !dir.empty() && !std::filesystem::is_directory(dir, ec))
    why = "the directory " + dir.string() + " does not exist";
  else if (err == EACCES || err == EROFS || err == EPERM)
    why = std::string(std::filesystem::exists(path, ec) ? "the file cannot be written ("
                                                        : "the file cannot be created (") +
          std::strerror(err) + ")";
  throw store_error("task store " + path + ": " + why);
}

class sqlite_store final : public task_store {
public:
  explicit sqlite_store(const std::string& path)
    : path_(path), db_(path, SQLite::OPEN_READWRITE, busy_timeout_ms) {
    check_store_integrity(db_, path_);
    // WAL: readers never block the writer, and a commit is one append (+ fsync) to the log.
    auto mode = db_.execAndGet("PRAGMA journal_mode=WAL").getString();
    if (mode != "wal")
      throw store_error("task store " + path_ + ": the file system does not allow WAL mode"
                        " (SQLite kept journal mode '" + mode + "')");
    // FULL: the log is fsynced at every commit, so a put is durable when it returns
    // (NORMAL would sync only at checkpoints and could lose the last puts on power loss).
    db_.exec("PRAGMA synchronous=FULL");
    create_or_check_store_schema(db_, path_);
    put_task_ = std::make_unique<SQLite::Statement>(db_, put_task_sql);
  }

  void put_task(const task_record& rec) override {
    guarded("cannot save task " + rec.id.value, [&] {
      reset_on_exit reset{*put_task_};
      put_task_->bind(1, rec.id.value);
      put_task_->bind(2, to_json_text(nlohmann::json(rec)));
      put_task_->exec();
    });
  }

  std::vector<task_record> load_tasks() override {
    return read_records("cannot read the tasks", "SELECT id, record FROM tasks ORDER BY seq",
                        [](SQLite::Statement&) {});
  }

  // The state is read from the record's JSON (SQLite's json_extract), so the schema stays
  // what version 1 wrote.
  std::vector<task_record> load_for_start(std::uint64_t recent_ended) override {
    auto limit = static_cast<std::int64_t>(std::min<std::uint64_t>(recent_ended, INT64_MAX));
    return read_records(
      "cannot read the tasks",
      "SELECT id, record FROM tasks WHERE seq IN ("
      " SELECT seq FROM tasks WHERE json_extract(record, '$.state') NOT IN " CLAUDE_POOL_ENDED_STATES_SQL
      " UNION ALL SELECT seq FROM (SELECT seq FROM tasks WHERE json_extract(record, '$.state')"
      " IN " CLAUDE_POOL_ENDED_STATES_SQL " ORDER BY seq DESC LIMIT ?1)) ORDER BY seq",
      [&](SQLite::Statement& st) { st.bind(1, limit); });
  }

  std::map<task_state, std::uint64_t> count_tasks() override {
    std::map<task_state, std::uint64_t> out;
    guarded("cannot count the tasks", [&] {
      SQLite::Statement st(db_, "SELECT json_extract(record, '$.state'), count(*) FROM tasks"
                                " GROUP BY 1");
      while (st.executeStep()) {
        auto state = nlohmann::json(st.getColumn(0).getString()).get<task_state>();
        out[state] += static_cast<std::uint64_t>(st.getColumn(1).getInt64());
      }
    });
    return out;
  }

  std::optional<task_record> get_task(const task_id& id) override {
    auto found = read_records("cannot read task " + id.value,
                              "SELECT id, record FROM tasks WHERE id = ?1",
                              [&](SQLite::Statement& st) { st.bind(1, id.value); });
    if (found.empty())
      return std::nullopt;
    return std::move(found.front());
  }

  // Reads in batches after the cursor's seq, filtering the state in SQL and the rest here,
  // until the page is full or the table ends.
  std::optional<std::vector<task_record>> page_tasks(const task_filter& filter) override {
    std::int64_t from = 0;
    if (filter.after) {
      bool known = false;
      guarded("cannot read task " + filter.after->value, [&] {
        SQLite::Statement st(db_, "SELECT seq FROM tasks WHERE id = ?1");
        st.bind(1, filter.after->value);
        if ((known = st.executeStep()))
          from = st.getColumn(0).getInt64();
      });
      if (!known)
        return std::nullopt;
    }
    auto want = filter.limit.value_or(UINT64_MAX);
    std::vector<task_record> out;
    std::string sql = "SELECT id, record, seq FROM tasks WHERE seq > ?1";
    if (filter.state)
      sql += " AND json_extract(record, '$.state') = ?3";
    sql += " ORDER BY seq LIMIT ?2";
    constexpr std::int64_t batch = 512;
    for (;;) {
      std::int64_t last = from, rows = 0;
      auto page = read_records("cannot list the tasks", sql.c_str(), [&](SQLite::Statement& st) {
        st.bind(1, from);
        st.bind(2, batch);
        if (filter.state)
          st.bind(3, std::string(to_string(*filter.state)));
      }, &last, &rows);
      for (auto& t : page)
        if (out.size() < want && filter.matches(t))
          out.push_back(std::move(t));
      if (out.size() >= want || rows < batch)
        return out;
      from = last;
    }
  }

  void put_chain(const chain_definition& def, const chain_record& rec) override {
    write("cannot save chain " + rec.id.value,
          "INSERT INTO chains(id, seq, definition, record) VALUES(?1,"
          " (SELECT COALESCE(MAX(seq), 0) + 1 FROM chains), ?2, ?3)"
          " ON CONFLICT(id) DO UPDATE SET record = excluded.record",
          rec.id.value, to_json_text(nlohmann::json(def)), to_json_text(nlohmann::json(rec)));
  }

  std::vector<stored_chain> load_chains() override {
    std::vector<std::array<std::string, 3>> rows; // id, definition, record
    guarded("cannot read the chains", [&] {
      SQLite::Statement st(db_, "SELECT id, definition, record FROM chains ORDER BY seq");
      while (st.executeStep())
        rows.push_back({st.getColumn(0).getString(), st.getColumn(1).getString(),
                        st.getColumn(2).getString()});
    });
    std::vector<stored_chain> out;
    for (auto& [id, def, rec] : rows) {
      try {
        out.push_back(stored_chain{nlohmann::json::parse(def).get<chain_definition>(),
                                   nlohmann::json::parse(rec).get<chain_record>()});
      } catch (const std::exception& e) {
        throw store_error("task store " + path_ + ": the record of chain " + id +
                          " cannot be read: " + e.what());
      }
    }
    return out;
  }

  void put_session(const slot_id& slot, const std::optional<stored_session>& s) override {
    if (!s)
      return write("cannot forget the session of slot " + slot.value,
                   "DELETE FROM sessions WHERE slot = ?1", slot.value);
    write("cannot save the session of slot " + slot.value,
          "INSERT INTO sessions(slot, session_id, working_dir) VALUES(?1, ?2, ?3)"
          " ON CONFLICT(slot) DO UPDATE SET session_id = excluded.session_id,"
          " working_dir = excluded.working_dir",
          slot.value, s->session_id, s->working_dir);
  }

  std::map<slot_id, stored_session> load_sessions() override {
    std::map<slot_id, stored_session> out;
    guarded("cannot read the sessions", [&] {
      SQLite::Statement st(db_, "SELECT slot, session_id, working_dir FROM sessions");
      while (st.executeStep())
        out[slot_id{st.getColumn(0).getString()}] =
            stored_session{st.getColumn(1).getString(), st.getColumn(2).getString()};
    });
    return out;
  }

  // SQLite integers are signed 64-bit: the spend goes through int64 and back unchanged
  // (two's complement), so even an absurd value above 2^63 is not lost.
  void put_spent(std::uint64_t microdollars) override {
    write("cannot save the budget's spend",
          "INSERT INTO budget(id, spent) VALUES(1, ?1)"
          " ON CONFLICT(id) DO UPDATE SET spent = excluded.spent",
          static_cast<std::int64_t>(microdollars));
  }

  std::uint64_t load_spent() override {
    std::uint64_t spent = 0;
    guarded("cannot read the budget's spend", [&] {
      SQLite::Statement st(db_, "SELECT spent FROM budget WHERE id = 1");
      if (st.executeStep())
        spent = static_cast<std::uint64_t>(st.getColumn(0).getInt64());
    });
    return spent;
  }

  std::string describe() const override {
    return path_;
  }

  ~sqlite_store() override {
    if (claim_fd_ >= 0)
      ::close(claim_fd_);
  }

  // flock() on a descriptor of our own: independent of SQLite's fcntl() locks on Linux,
  // released by the kernel when the process dies, so a killed pool never leaves it held.
  void claim() override {
    if (claim_fd_ >= 0)
      return;
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw store_error("task store " + path_ + ": cannot open it to claim it: "
                        + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      auto err = errno;
      ::close(fd);
      throw store_error("task store " + path_ + ": "
                        + (err == EWOULDBLOCK
                             ? std::string("another pool is using it (one pool per store: a "
                                           "second one would run the first one's pending "
                                           "tasks again)")
                             : std::string("cannot lock it: ") + std::strerror(err)));
    }
    claim_fd_ = fd;
  }

private:
  /// Leaves a cached statement reset whatever happened, so it can run again and a failed
  /// one keeps no lock.
  struct reset_on_exit {
    SQLite::Statement& st;
    ~reset_on_exit() {
      st.tryReset();
    }
  };

  /// Runs `f`, turning a SQLite failure into a `store_error` that says what was being done.
  template <class F>
  void guarded(const std::string& doing, F&& f) {
    // The pool actor writes tasks, chain actors write chains: one statement at a time.
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      f();
    } catch (const SQLite::Exception& e) {
      fail(path_, doing, e);
    }
  }

  /// Runs a query whose first two columns are a task's id and record (and third, if asked,
  /// its seq), in the rows' order. A record this build cannot read is an error: skipping it
  /// would lose a task.
  template <class Bind>
  std::vector<task_record> read_records(const std::string& doing, const char* sql, Bind bind,
                                        std::int64_t* last_seq = nullptr,
                                        std::int64_t* rows = nullptr) {
    std::vector<std::pair<std::string, std::string>> found; // id, record
    guarded(doing, [&] {
      SQLite::Statement st(db_, sql);
      bind(st);
      while (st.executeStep()) {
        found.emplace_back(st.getColumn(0).getString(), st.getColumn(1).getString());
        if (last_seq)
          *last_seq = st.getColumn(2).getInt64();
      }
    });
    if (rows)
      *rows = static_cast<std::int64_t>(found.size());
    std::vector<task_record> out;
    out.reserve(found.size());
    for (auto& [id, text] : found) {
      try {
        out.push_back(nlohmann::json::parse(text).template get<task_record>());
      } catch (const std::exception& e) {
        throw store_error("task store " + path_ + ": the record of task " + id +
                          " cannot be read: " + e.what());
      }
    }
    return out;
  }

  /// One writing statement with its parameters, run once.
  template <class... Args>
  void write(const std::string& doing, const char* sql, const Args&... args) {
    guarded(doing, [&] {
      SQLite::Statement st(db_, sql);
      int i = 0;
      (st.bind(++i, args), ...);
      st.exec();
    });
  }

  std::string path_;
  SQLite::Database db_;
  std::unique_ptr<SQLite::Statement> put_task_; ///< the hot path: prepared once
  std::mutex mutex_;                            ///< see guarded()
  int claim_fd_ = -1;                           ///< holds the pool's flock (claim())
};

} // namespace

std::unique_ptr<task_store> open_sqlite_store(const std::string& path) {
  create_private_file(path);
  try {
    return std::make_unique<sqlite_store>(path);
  } catch (const SQLite::Exception& e) {
    fail(path, "cannot open it", e);
  }
}

} // namespace claude_pool
