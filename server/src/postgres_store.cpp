// appkeys server — PostgresStore: opening the schema, the deployment's secret, and
// users; each Store operation as one statement or one transaction. Keys are in
// postgres_store_keys.cpp, sessions and tokens in postgres_store_sessions.cpp.
#include <appkeys/server/postgres_store.hpp>

#include <appkeys/testing/backend/store.hpp>

#include "postgres_store_rows.hpp"

#include <string>
#include <utility>

namespace appkeys::server {

static_assert(testing::backend::Store<PostgresStore>);

namespace pg_rows {

bool insert_user_in(Connection& c, const UserRecord& user) {
  // ON CONFLICT: a taken email (or id) inserts nothing, whichever server got there first.
  auto inserted = c.exec(
      "INSERT INTO users (id, provider, identity_id, email, password_hash, disabled) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
      {user.id, user.provider, user.identity_id,
       user.email.empty() ? pg::Param(nullptr) : pg::Param(user.email), user.password_hash,
       to_int(user.disabled)});
  return inserted.affected() == 1;
}

}  // namespace pg_rows

namespace {

using pg::Connection;
using pg_rows::insert_user_in;
using pg_rows::read_user;
using pg_rows::to_int;
using pg_rows::user_columns;

}  // namespace

PostgresStore::PostgresStore(PostgresOptions options) : pool_(std::move(options)) {
  open_schema();
}

void PostgresStore::open_schema() {
  pool_.transaction([](Connection& c) {
    // Two servers starting at once on an empty database: one creates the schema, the
    // other waits here and then finds it made.
    c.exec("SELECT pg_advisory_xact_lock(hashtext('appkeys schema ' || current_schema()))");
    std::int64_t version = 0;
    if (!c.exec("SELECT to_regclass('appkeys_schema') IS NOT NULL").text(0, 0).starts_with("t")) {
      auto tables = c.exec(
          "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()");
      if (tables.integer(0, 0) != 0) {
        throw StoreError(
            "the PostgreSQL schema already holds tables but no appkeys schema: not an appkeys "
            "store (give appkeys its own database, or its own schema with "
            "?options=-csearch_path%3DNAME)");
      }
      c.exec_script("CREATE TABLE appkeys_schema (version BIGINT NOT NULL)");
      c.exec("INSERT INTO appkeys_schema (version) VALUES (0)");
    } else {
      version = c.exec("SELECT max(version) FROM appkeys_schema").integer(0, 0);
    }
    if (version > schema_version) {
      throw StoreError("the PostgreSQL store has schema version " + std::to_string(version) +
                       ", newer than this appkeys knows (" + std::to_string(schema_version) +
                       "): it was written by a newer appkeys; run that version, or use another "
                       "store");
    }
    while (version < schema_version) {
      c.exec_script(schema::migration(schema::Dialect::postgres, version));
      ++version;
      c.exec("UPDATE appkeys_schema SET version = $1", {version});
    }
  });
}

std::optional<UserRecord> PostgresStore::find_user(std::string_view id) const {
  return pool_.read([&](Connection& c) -> std::optional<UserRecord> {
    auto rows = c.exec(std::string(user_columns) + "WHERE id = $1", {id});
    if (rows.rows() == 0) return std::nullopt;
    return read_user(rows, 0);
  });
}

std::optional<UserRecord> PostgresStore::find_user_by_email(std::string_view email) const {
  if (email.empty()) return std::nullopt;
  return pool_.read([&](Connection& c) -> std::optional<UserRecord> {
    auto rows = c.exec(std::string(user_columns) + "WHERE email = $1", {email});
    if (rows.rows() == 0) return std::nullopt;
    return read_user(rows, 0);
  });
}

bool PostgresStore::insert_user(const UserRecord& user) {
  return pool_.transaction([&](Connection& c) { return insert_user_in(c, user); });
}

bool PostgresStore::set_password(std::string_view id, std::string_view hash) {
  return pool_.transaction([&](Connection& c) {
    return c.exec("UPDATE users SET password_hash = $2 WHERE id = $1", {id, hash}).affected() ==
           1;
  });
}

bool PostgresStore::set_user_disabled(std::string_view id, bool disabled) {
  return pool_.transaction([&](Connection& c) {
    return c.exec("UPDATE users SET disabled = $2 WHERE id = $1", {id, to_int(disabled)})
               .affected() == 1;
  });
}

bool PostgresStore::delete_user(std::string_view id) {
  return pool_.transaction([&](Connection& c) {
    return c.exec("DELETE FROM users WHERE id = $1", {id}).affected() == 1;
  });
}

std::vector<UserRecord> PostgresStore::list_users() const {
  return pool_.read([&](Connection& c) {
    auto rows = c.exec(std::string(user_columns) + "ORDER BY id");
    std::vector<UserRecord> out;
    for (int i = 0; i < rows.rows(); ++i) out.push_back(read_user(rows, i));
    return out;
  });
}

std::vector<std::string> PostgresStore::api_key_identities(std::string_view id) const {
  return pool_.read([&](Connection& c) {
    auto rows = c.exec("SELECT key_id FROM key_identities WHERE user_id = $1 ORDER BY seq", {id});
    std::vector<std::string> out;
    for (int i = 0; i < rows.rows(); ++i) out.push_back(rows.text(i, 0));
    return out;
  });
}

std::string PostgresStore::load_or_store_secret(std::string_view name, std::string candidate) {
  return pool_.transaction([&](Connection& c) {
    // Two servers starting at once: the second INSERT waits on the first's unique key,
    // then does nothing; its SELECT (a new snapshot under READ COMMITTED) reads the
    // first one's value. Both sign with the same secret.
    c.exec("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
           {name, candidate});
    auto row = c.exec("SELECT value FROM meta WHERE name = $1", {name});
    if (row.rows() != 1) throw StoreError("PostgreSQL store: the secret could not be read back");
    return row.text(0, 0);
  });
}

}  // namespace appkeys::server
