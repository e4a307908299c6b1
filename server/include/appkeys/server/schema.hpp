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

/// find_live_session's query, the parts both dialects spell alike: the session's
/// columns (as the stores' read_session reads them) and the joins from a token through its
/// session to its user. Each store adds its WHERE, in its own placeholders.
inline constexpr const char* live_session_select =
    "SELECT s.id, s.user_id, s.provider, s.key_id, s.device_id, s.refresh_expires_at";
inline constexpr const char* live_session_from =
    " FROM tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id ";

/// The statements (separated by `;`) that bring an empty database from version `from`
/// to `from + 1` in `dialect`. `from` must be below `version`.
std::string migration(Dialect dialect, std::int64_t from);

}  // namespace appkeys::server::schema
