#pragma once
/// What a SQLite task store's file must hold, apart from reading and writing it
/// (runtime/store/sqlite_store.cpp): the integrity check at open, the schema and its version.
/// Private to the SQLite store. Both functions throw `store_error` for a file they refuse
/// and let `SQLite::Exception` through for the store to put in words.

#include <string>

namespace SQLite {
class Database;
} // namespace SQLite

namespace claude_pool {

/// Reads every page once (`PRAGMA quick_check`): a damaged file is refused at open rather
/// than failing later in the middle of a pool's work.
void check_store_integrity(SQLite::Database& db, const std::string& path);

/// Creates the schema in a new (empty) file; in an existing one, checks it is a claude-pool
/// store of a schema version this build knows.
void create_or_check_store_schema(SQLite::Database& db, const std::string& path);

} // namespace claude_pool
