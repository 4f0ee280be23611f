#pragma once
/// Where a pool keeps what it accepted, so that a pool killed and started again on the same
/// store forgets nothing: every task record (written before a submission is acknowledged,
/// and again at every change), the persistent slots' sessions, and the budget's spend.
/// Two implementations: in memory (the default; nothing survives the process) and SQLite
/// (WAL mode, one file). Tasks are written by the pool actor, chains by their own actors, so
/// a store is called from more than one thread (both implementations lock); its methods
/// throw `store_error` with a sentence naming the file and the problem.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "messages/chain.hpp"
#include "messages/records.hpp"

namespace claude_pool {

struct store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A chain as stored: what it was asked to do and how far it got.
struct stored_chain {
  chain_definition definition;
  chain_record record;
};

/// A persistent slot's session and the directory it was created in (it resumes only there).
struct stored_session {
  std::string session_id;
  std::string working_dir;
};

class task_store {
public:
  virtual ~task_store() = default;

  /// Inserts or replaces the task's record (by id); durable when it returns. The order of
  /// first insertion is the order `load_tasks` returns.
  virtual void put_task(const task_record& rec) = 0;

  /// Every stored task, in the order they were first put.
  virtual std::vector<task_record> load_tasks() = 0;

  // -- history (a pool keeps only recent ended records in memory; pool_config's
  //    `retain_ended_records`). The defaults read everything through load_tasks(); the
  //    SQLite store answers each with a query.

  /// What a pool holds in memory at start: every task that has not ended (pending, running,
  /// pending_review) and the newest `recent_ended` ended ones, in the order first put.
  virtual std::vector<task_record> load_for_start(std::uint64_t recent_ended);

  /// How many stored tasks are in each state.
  virtual std::map<task_state, std::uint64_t> count_tasks();

  /// One task's record; nullopt when the store never had it.
  virtual std::optional<task_record> get_task(const task_id& id);

  /// A page of tasks in the order first put: those after `filter.after` (from the first when
  /// unset) that `filter` matches, at most `filter.limit`. Nullopt when `filter.after` names
  /// a task the store does not have.
  virtual std::optional<std::vector<task_record>> page_tasks(const task_filter& filter);

  /// A slot's session (unset: forget it).
  virtual void put_session(const slot_id& slot, const std::optional<stored_session>& s) = 0;
  virtual std::map<slot_id, stored_session> load_sessions() = 0;

  /// Inserts or replaces a chain's definition and progress (by id), written when the chain
  /// starts, at each step's start and end, and when it ends. Chains on a store that keeps
  /// none (the default) do not survive the pool.
  virtual void put_chain(const chain_definition&, const chain_record&) {}
  /// Every stored chain, in the order first put.
  virtual std::vector<stored_chain> load_chains() { return {}; }

  /// The budget's total spend so far, in microdollars.
  virtual void put_spent(std::uint64_t microdollars) = 0;
  virtual std::uint64_t load_spent() = 0;

  /// "memory" or the database's path, for messages.
  virtual std::string describe() const = 0;

  /// Makes the store this pool's alone for as long as the store object lives (a pool calls
  /// it before loading): a second pool on the same store would recover — and run again — the
  /// first one's pending tasks. Throws `store_error` when another pool holds it, in this
  /// process or another. The memory store is private anyway.
  virtual void claim() {}
};

/// Nothing survives the process.
std::unique_ptr<task_store> make_memory_store();

/// Opens (creating if needed, file mode 0600) a SQLite store. Refuses with `store_error`: a
/// store written by a newer schema version ("…was written by a newer claude-pool (schema N,
/// this one knows M)"), a file that is not a database or is corrupt, a database another
/// process holds locked (after a short busy wait), a directory that does not exist.
std::unique_ptr<task_store> open_sqlite_store(const std::string& path);

/// The schema version this build writes.
inline constexpr int task_store_schema_version = 1;

} // namespace claude_pool
