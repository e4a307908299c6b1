// appkeys server — SqliteStore: opening the file and its schema, the deployment's
// secret, and users; each Store operation as one statement or one transaction. Keys are
// in sqlite_store_keys.cpp, sessions and tokens in sqlite_store_sessions.cpp.
#include <appkeys/server/sqlite_store.hpp>

#include <appkeys/testing/backend/store.hpp>

#include "sqlite_store_rows.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace appkeys::server {

static_assert(testing::backend::Store<SqliteStore>);

namespace sqlite_rows {

bool insert_user_in(Connection& c, const UserRecord& user) {
  if (!user.email.empty()) {
    auto taken = c.prepare("SELECT 1 FROM users WHERE email = ?1");
    taken.bind(1, user.email);
    if (taken.step()) return false;
  }
  auto insert = c.prepare(
      "INSERT INTO users (id, provider, identity_id, email, password_hash, disabled) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING");
  insert.bind(1, user.id).bind(2, user.provider).bind(3, user.identity_id);
  if (user.email.empty()) {
    insert.bind_null(4);
  } else {
    insert.bind(4, user.email);
  }
  insert.bind(5, user.password_hash).bind(6, std::int64_t{user.disabled ? 1 : 0});
  insert.run();
  return c.changes() == 1;
}

}  // namespace sqlite_rows

namespace {

using sqlite::Connection;
using sqlite::WriteTransaction;
using sqlite_rows::insert_user_in;
using sqlite_rows::read_user;
using sqlite_rows::scalar;
using sqlite_rows::user_columns;

/// Creates the file with mode 0600 if it does not exist: it holds the signing secret.
void create_private_file(const std::string& path) {
  if (path.empty() || path == ":memory:") return;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    throw StoreError("cannot create the SQLite store " + path + ": " + std::strerror(errno));
  }
}

}  // namespace

SqliteStore::SqliteStore(std::string path, SqliteOptions options)
    : pool_((create_private_file(path), path), options) {
  open_schema();
}

void SqliteStore::open_schema() {
  auto c = pool_.acquire();
  WriteTransaction tx(*c);
  std::int64_t version = scalar(c->prepare("PRAGMA user_version"));
  if (version > schema_version) {
    throw StoreError("the SQLite store " + path() + " has schema version " +
                     std::to_string(version) + ", newer than this appkeys knows (" +
                     std::to_string(schema_version) +
                     "): it was written by a newer appkeys; run that version, or use another "
                     "store");
  }
  while (version < schema_version) {
    migrate_sqlite_schema(*c, version);
    ++version;
    c->exec(("PRAGMA user_version = " + std::to_string(version)).c_str());
  }
  tx.commit();
}

std::optional<UserRecord> SqliteStore::find_user(std::string_view id) const {
  auto c = pool_.acquire();
  auto row = c->prepare(std::string(user_columns) + "WHERE id = ?1");
  row.bind(1, id);
  if (!row.step()) return std::nullopt;
  return read_user(row);
}

std::optional<UserRecord> SqliteStore::find_user_by_email(std::string_view email) const {
  if (email.empty()) return std::nullopt;
  auto c = pool_.acquire();
  auto row = c->prepare(std::string(user_columns) + "WHERE email = ?1");
  row.bind(1, email);
  if (!row.step()) return std::nullopt;
  return read_user(row);
}

bool SqliteStore::insert_user(const UserRecord& user) {
  bool inserted = false;
  writes_.run([&](Connection& c) { return inserted = insert_user_in(c, user); });
  return inserted;
}

bool SqliteStore::set_password(std::string_view id, std::string_view hash) {
  bool found = false;
  writes_.run([&](Connection& c) {
    c.prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1").bind(1, id).bind(2, hash).run();
    return found = c.changes() == 1;
  });
  return found;
}

bool SqliteStore::set_user_disabled(std::string_view id, bool disabled) {
  bool found = false;
  writes_.run([&](Connection& c) {
    c.prepare("UPDATE users SET disabled = ?2 WHERE id = ?1")
        .bind(1, id)
        .bind(2, std::int64_t{disabled ? 1 : 0})
        .run();
    return found = c.changes() == 1;
  });
  return found;
}

bool SqliteStore::delete_user(std::string_view id) {
  bool found = false;
  writes_.run([&](Connection& c) {
    c.prepare("DELETE FROM users WHERE id = ?1").bind(1, id).run();
    return found = c.changes() == 1;
  });
  return found;
}

std::vector<UserRecord> SqliteStore::list_users() const {
  auto c = pool_.acquire();
  auto rows = c->prepare(std::string(user_columns) + "ORDER BY id");
  std::vector<UserRecord> out;
  while (rows.step()) out.push_back(read_user(rows));
  return out;
}

std::vector<std::string> SqliteStore::api_key_identities(std::string_view id) const {
  auto c = pool_.acquire();
  auto rows = c->prepare("SELECT key_id FROM key_identities WHERE user_id = ?1 ORDER BY seq");
  rows.bind(1, id);
  std::vector<std::string> out;
  while (rows.step()) out.push_back(rows.text(0));
  return out;
}

std::string SqliteStore::load_or_store_secret(std::string_view name, std::string candidate) {
  auto c = pool_.acquire();
  WriteTransaction tx(*c);
  c->prepare("INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
      .bind(1, name)
      .bind(2, candidate)
      .run();
  std::string value;
  {
    auto row = c->prepare("SELECT value FROM meta WHERE name = ?1");
    row.bind(1, name);
    if (!row.step()) c->fail("reading a secret");
    value = row.text(0);
  }
  tx.commit();
  return value;
}

}  // namespace appkeys::server
