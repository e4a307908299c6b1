// The PostgreSQL store as the store suite (store_test.cpp) and the rules backends
// (rules_backend.hpp) use it: a fresh schema, and the few things each store does in its
// own way (its URI, what it wrote, its schema version).
#pragma once

#include "server/temp_pg_schema.hpp"

#include <appkeys/server/pg_connection.hpp>
#include <appkeys/server/postgres_store.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace appkeys_test {

/// A PostgresStore's place: one fresh schema in the test database.
///
/// Thread safety: immutable after construction, but for the set_/add_ members.
struct PostgresUnderTest {
  using store_type = appkeys::server::PostgresStore;
  /// How test names and messages call this store.
  static constexpr const char* name = "PostgreSQL";

  TempPgSchema schema;

  /// The `--store` URI of the schema.
  std::string store_uri() const { return schema.uri(); }
  /// What a store_type is constructed from (a pool of 4).
  appkeys::server::PostgresOptions store_argument() const { return schema.options(); }
  /// A store of the schema, opened here with one connection.
  store_type open_store() const { return store_type(schema.options(1)); }

  /// Every row of every table in the schema, as text, table by table: name, rows.
  std::vector<std::pair<std::string, std::string>> stored_contents() const {
    appkeys::server::pg::Connection connection(schema.options());
    auto tables = connection.exec(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 "
        "ORDER BY table_name",
        {schema.name()});
    std::vector<std::pair<std::string, std::string>> out;
    for (int t = 0; t < tables.rows(); ++t) {
      const std::string table = tables.text(t, 0);
      auto rows = connection.exec("SELECT t::text FROM " + table + " t");
      std::string text;
      for (int i = 0; i < rows.rows(); ++i) text += rows.text(i, 0) + "\n";
      out.emplace_back(table, std::move(text));
    }
    return out;
  }
  /// Marks the schema as written by the appkeys whose schema is `version`.
  void set_schema_version(std::int64_t version) const {
    appkeys::server::pg::Connection(schema.options())
        .exec_script("UPDATE appkeys_schema SET version = " + std::to_string(version));
  }
  /// The schema version the schema says it has.
  std::int64_t schema_version() const {
    return appkeys::server::pg::Connection(schema.options())
        .exec("SELECT version FROM appkeys_schema")
        .integer(0, 0);
  }
  /// Makes the schema someone else's (a table appkeys never makes).
  void add_foreign_table() const {
    appkeys::server::pg::Connection(schema.options()).exec_script("CREATE TABLE notes (t TEXT)");
  }
};

}  // namespace appkeys_test
