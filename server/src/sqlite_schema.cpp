// appkeys server — the SQLite store's schema and its migrations (PRAGMA user_version).
#include <appkeys/server/sqlite_store.hpp>

#include <string>

namespace appkeys::server {

namespace {

// Version 1. STRICT tables (SQLite 3.37+) refuse values of the wrong type. Ids are the
// protocol's 24-hex strings; times are Unix seconds; every *_hash is SHA-256 hex (keys,
// tokens) or the Crypto policy's self-describing password hash.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE meta (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  provider      TEXT NOT NULL,
  identity_id   TEXT NOT NULL,
  email         TEXT UNIQUE,
  password_hash TEXT NOT NULL DEFAULT '',
  disabled      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE api_keys (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  id       TEXT NOT NULL UNIQUE,
  user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  disabled INTEGER NOT NULL DEFAULT 0,
  UNIQUE (user_id, name)
) STRICT;
CREATE TABLE key_identities (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key_id  TEXT NOT NULL,
  UNIQUE (user_id, key_id)
) STRICT;
CREATE TABLE sessions (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider           TEXT NOT NULL,
  key_id             TEXT NOT NULL DEFAULT '',
  device_id          TEXT NOT NULL,
  refresh_expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE TABLE tokens (
  hash       TEXT PRIMARY KEY,
  kind       INTEGER NOT NULL,
  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_by_session ON tokens(session_id);
CREATE INDEX tokens_by_expiry ON tokens(expires_at);
)sql";

}  // namespace

void migrate_sqlite_schema(sqlite::Connection& connection, std::int64_t from) {
  switch (from) {
    case 0: {
      // A fresh file, or someone else's database: refuse to write into the latter.
      auto count = connection.prepare("SELECT count(*) FROM sqlite_schema");
      count.step();
      if (count.integer(0) != 0) {
        throw StoreError("the SQLite file already holds tables but no appkeys schema: "
                         "not an appkeys store");
      }
      connection.exec(schema_v1);
      return;
    }
    // A later version adds `case 1:` here (ALTER TABLE ...), and raises
    // SqliteStore::schema_version.
    default:
      throw StoreError("no migration from SQLite schema version " + std::to_string(from));
  }
}

}  // namespace appkeys::server
