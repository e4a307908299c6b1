// appkeys server — the store schema, described once and written out in each SQL dialect.
#pragma once

#include <cstdint>
#include <string>

namespace appkeys::server::schema {

/// The newest schema version this build knows (SQLite: PRAGMA user_version;
/// PostgreSQL: the appkeys_schema table). Both dialects move in step: a migration is
/// added for both or for neither.
inline constexpr std::int64_t version = 1;

/// The SQL dialects a schema is written in.
enum class Dialect {
  sqlite,    ///< SQLite 3.37+: STRICT tables, AUTOINCREMENT keys.
  postgres,  ///< PostgreSQL 12+: BIGINT, identity columns.
};

/// The users' columns as both stores read them into a UserRecord, in that order (both
/// dialects spell this query alike); a query adds its WHERE or ORDER BY.
inline constexpr const char* user_columns =
    "SELECT id, provider, identity_id, coalesce(email, ''), password_hash, disabled FROM users ";

/// The statements (separated by `;`) that bring an empty database from version `from`
/// to `from + 1` in `dialect`. `from` must be below `version`.
std::string migration(Dialect dialect, std::int64_t from);

}  // namespace appkeys::server::schema
