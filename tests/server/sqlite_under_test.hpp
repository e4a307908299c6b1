// The SQLite store as the store suite (store_test.cpp) and the rules backends
// (rules_backend.hpp) use it: a fresh file, and the few things each store does in its own
// way (its URI, what it wrote, its schema version).
#pragma once

#include "server/temp_store.hpp"

#include <appkeys/server/sqlite_connection.hpp>
#include <appkeys/server/sqlite_store.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace appkeys_test {

/// A SqliteStore's place: one file in a fresh temporary directory.
///
/// Thread safety: immutable after construction, but for the set_/add_ members (call them
/// with no store open).
struct SqliteUnderTest {
  using store_type = appkeys::server::SqliteStore;
  /// How test names and messages call this store.
  static constexpr const char* name = "SQLite";

  TempStoreDir dir;

  /// The `--store` URI of the file.
  std::string store_uri() const { return "sqlite:" + dir.db_path(); }
  /// What a store_type is constructed from.
  std::string store_argument() const { return dir.db_path(); }
  /// A store of the file, opened here.
  store_type open_store() const { return store_type(dir.db_path()); }

  /// Everything the store wrote, file by file (the db, -wal, -shm): name, bytes.
  std::vector<std::pair<std::string, std::string>> stored_contents() const {
    return dir.file_contents();
  }
  /// Marks the file as written by the appkeys whose schema is `version`.
  void set_schema_version(std::int64_t version) const {
    appkeys::server::sqlite::Connection connection(dir.db_path(), {});
    connection.exec(("PRAGMA user_version = " + std::to_string(version)).c_str());
  }
  /// The schema version the file says it has.
  std::int64_t schema_version() const {
    appkeys::server::sqlite::Connection connection(dir.db_path(), {});
    auto version = connection.prepare("PRAGMA user_version");
    return version.step() ? version.integer(0) : -1;
  }
  /// Makes the file someone else's database (a table appkeys never makes).
  void add_foreign_table() const {
    appkeys::server::sqlite::Connection connection(dir.db_path(), {});
    connection.exec("CREATE TABLE notes (text TEXT)");
  }
};

}  // namespace appkeys_test
