// appkeys server — the SQLite store's migrations (PRAGMA user_version); the tables
// themselves are described once in schema.cpp, shared with PostgreSQL.
#include <appkeys/server/schema.hpp>
#include <appkeys/server/sqlite_store.hpp>

#include <string>

namespace appkeys::server {

void migrate_sqlite_schema(sqlite::Connection& connection, std::int64_t from) {
  if (from < 0 || from >= schema::version) {
    throw StoreError("no migration from SQLite schema version " + std::to_string(from));
  }
  if (from == 0) {
    // A fresh file, or someone else's database: refuse to write into the latter.
    auto count = connection.prepare("SELECT count(*) FROM sqlite_schema");
    count.step();
    if (count.integer(0) != 0) {
      throw StoreError("the SQLite file already holds tables but no appkeys schema: "
                       "not an appkeys store");
    }
  }
  connection.exec(schema::migration(schema::Dialect::sqlite, from).c_str());
}

}  // namespace appkeys::server
