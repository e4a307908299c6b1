// appkeys server — SqliteStore: each Store operation as one statement or one transaction.
#include <appkeys/server/sqlite_store.hpp>

#include <appkeys/testing/backend/store.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace appkeys::server {

static_assert(testing::backend::Store<SqliteStore>);

namespace {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::WriteTransaction;

constexpr const char* user_columns =
    "SELECT id, provider, identity_id, coalesce(email, ''), password_hash, disabled FROM users ";

UserRecord read_user(const Statement& row) {
  UserRecord user;
  user.id = row.text(0);
  user.provider = row.text(1);
  user.identity_id = row.text(2);
  user.email = row.text(3);
  user.password_hash = row.text(4);
  user.disabled = row.integer(5) != 0;
  return user;
}

KeyRecord read_key(const Statement& row, int first) {
  KeyRecord key;
  key.id = ObjectId::from_hex(row.text(first)).value_or(ObjectId{});
  key.name = row.text(first + 1);
  key.key_hash = row.text(first + 2);
  key.disabled = row.integer(first + 3) != 0;
  return key;
}

// find_live_session's query in parts, so find_live_session_key can add the key to it:
// the token (?1, of kind ?2) and its session unexpired at ?3, its user not disabled.
constexpr const char* live_session_select =
    "SELECT s.id, s.user_id, s.provider, s.key_id, s.device_id, s.refresh_expires_at";
constexpr const char* live_session_from =
    " FROM tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id ";
constexpr const char* live_session_where =
    "WHERE t.hash = ?1 AND t.kind = ?2 AND t.expires_at > ?3 AND s.refresh_expires_at > ?3 "
    "AND u.disabled = 0";

SessionRecord read_session(const Statement& row) {
  SessionRecord session;
  session.id = static_cast<std::uint64_t>(row.integer(0));
  session.user_id = row.text(1);
  session.provider = row.text(2);
  session.key_id = row.text(3);
  session.device_id = row.text(4);
  session.refresh_expires_at = row.integer(5);
  return session;
}

std::int64_t to_int(TokenKind kind) { return kind == TokenKind::access ? 0 : 1; }

/// The single integer a query returns.
std::int64_t scalar(Statement&& statement) {
  statement.step();
  return statement.integer(0);
}

/// Deletes `user_id` if it is anonymous and has no session left (it could never be
/// reached again). Called inside a write transaction.
void drop_if_unreachable_anonymous(Connection& c, std::string_view user_id) {
  c.prepare(
       "DELETE FROM users WHERE id = ?1 AND provider = 'anon-user' "
       "AND NOT EXISTS (SELECT 1 FROM sessions WHERE user_id = ?1) "
       "AND NOT EXISTS (SELECT 1 FROM api_keys WHERE user_id = ?1)")
      .bind(1, user_id)
      .run();
}

/// Ends session `id` (its tokens go by cascade) and its anonymous owner if orphaned.
void end_session_in(Connection& c, std::int64_t id) {
  std::string owner;
  {
    auto find = c.prepare("SELECT user_id FROM sessions WHERE id = ?1");
    find.bind(1, id);
    if (!find.step()) return;
    owner = find.text(0);
  }
  c.prepare("DELETE FROM sessions WHERE id = ?1").bind(1, id).run();
  drop_if_unreachable_anonymous(c, owner);
}

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

/// create_key's checks and insert, inside a write transaction.
CreateKeyOutcome create_key_in(Connection& c, std::string_view user_id, const KeyRecord& key,
                               std::size_t max_keys) {
  {
    auto user = c.prepare("SELECT 1 FROM users WHERE id = ?1");
    user.bind(1, user_id);
    if (!user.step()) return CreateKeyOutcome::no_such_user;
  }
  {
    auto taken = c.prepare("SELECT 1 FROM api_keys WHERE user_id = ?1 AND name = ?2");
    taken.bind(1, user_id).bind(2, key.name);
    if (taken.step()) return CreateKeyOutcome::name_taken;
  }
  {
    auto count = c.prepare("SELECT count(*) FROM api_keys WHERE user_id = ?1");
    count.bind(1, user_id);
    if (static_cast<std::size_t>(scalar(std::move(count))) >= max_keys) {
      return CreateKeyOutcome::limit_reached;
    }
  }
  // The unique index on (user_id, name) is the last word, should anything bypass the
  // check above: a conflict inserts nothing and reads as name_taken.
  c.prepare(
       "INSERT INTO api_keys (id, user_id, name, key_hash, disabled) VALUES (?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT (user_id, name) DO NOTHING")
      .bind(1, key.id.to_hex())
      .bind(2, user_id)
      .bind(3, key.name)
      .bind(4, key.key_hash)
      .bind(5, std::int64_t{key.disabled ? 1 : 0})
      .run();
  return c.changes() == 1 ? CreateKeyOutcome::created : CreateKeyOutcome::name_taken;
}

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

CreateKeyOutcome SqliteStore::create_key(std::string_view user_id, const KeyRecord& key,
                                         std::size_t max_keys) {
  CreateKeyOutcome outcome = CreateKeyOutcome::no_such_user;
  // Inside the write transaction (BEGIN IMMEDIATE holds the write lock), so the count
  // below cannot change before the insert: across threads, batched writes and
  // processes, no 21st key slips in.
  writes_.run([&](Connection& c) {
    outcome = create_key_in(c, user_id, key, max_keys);
    return outcome == CreateKeyOutcome::created;
  });
  return outcome;
}

std::vector<KeyRecord> SqliteStore::list_keys(std::string_view user_id) const {
  auto c = pool_.acquire();
  auto rows = c->prepare(
      "SELECT id, name, key_hash, disabled FROM api_keys WHERE user_id = ?1 ORDER BY seq");
  rows.bind(1, user_id);
  std::vector<KeyRecord> out;
  while (rows.step()) out.push_back(read_key(rows, 0));
  return out;
}

std::optional<KeyRecord> SqliteStore::find_key(std::string_view user_id,
                                               const ObjectId& key_id) const {
  auto c = pool_.acquire();
  auto row = c->prepare(
      "SELECT id, name, key_hash, disabled FROM api_keys WHERE id = ?1 AND user_id = ?2");
  row.bind(1, key_id.to_hex()).bind(2, user_id);
  if (!row.step()) return std::nullopt;
  return read_key(row, 0);
}

std::optional<std::pair<std::string, KeyRecord>> SqliteStore::find_key_by_hash(
    std::string_view hash) const {
  auto c = pool_.acquire();
  auto row = c->prepare(
      "SELECT user_id, id, name, key_hash, disabled FROM api_keys WHERE key_hash = ?1");
  row.bind(1, hash);
  if (!row.step()) return std::nullopt;
  return std::pair<std::string, KeyRecord>{row.text(0), read_key(row, 1)};
}

bool SqliteStore::set_key_disabled(std::string_view user_id, const ObjectId& key_id,
                                   bool disabled) {
  bool found = false;
  writes_.run([&](Connection& c) {
    // Found even when the state is already the asked one (changes() would say 1 anyway:
    // SQLite counts matched rows).
    c.prepare("UPDATE api_keys SET disabled = ?3 WHERE id = ?1 AND user_id = ?2")
        .bind(1, key_id.to_hex())
        .bind(2, user_id)
        .bind(3, std::int64_t{disabled ? 1 : 0})
        .run();
    return found = c.changes() == 1;
  });
  return found;
}

bool SqliteStore::delete_key(std::string_view user_id, const ObjectId& key_id) {
  bool found = false;
  writes_.run([&](Connection& c) {
    c.prepare("DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2")
        .bind(1, key_id.to_hex())
        .bind(2, user_id)
        .run();
    return found = c.changes() == 1;
  });
  return found;
}

std::size_t SqliteStore::count_keys(std::string_view user_id) const {
  auto c = pool_.acquire();
  auto count = c->prepare("SELECT count(*) FROM api_keys WHERE user_id = ?1");
  count.bind(1, user_id);
  return static_cast<std::size_t>(scalar(std::move(count)));
}

std::uint64_t SqliteStore::start_session(const SessionRecord& session,
                                         const std::vector<IssuedToken>& tokens,
                                         std::size_t max_sessions, const UserRecord* new_user) {
  std::int64_t id = 0;
  writes_.run([&](Connection& conn) {
    Connection* c = &conn;  // the statements below read as elsewhere in this file
    if (new_user != nullptr) insert_user_in(*c, *new_user);
    if (max_sessions > 0) {
      const auto live = static_cast<std::size_t>(scalar(c->prepare("SELECT count(*) FROM sessions")));
      if (live >= max_sessions) {
        std::vector<std::int64_t> oldest;
        {
          auto rows = c->prepare("SELECT id FROM sessions ORDER BY id LIMIT ?1");
          rows.bind(1, static_cast<std::int64_t>(live - max_sessions + 1));
          while (rows.step()) oldest.push_back(rows.integer(0));
        }
        for (auto old : oldest) end_session_in(*c, old);
      }
    }
    c->prepare(
         "INSERT INTO sessions (user_id, provider, key_id, device_id, refresh_expires_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(1, session.user_id)
        .bind(2, session.provider)
        .bind(3, session.key_id)
        .bind(4, session.device_id)
        .bind(5, session.refresh_expires_at)
        .run();
    id = c->last_insert_rowid();
    for (const auto& token : tokens) {
      c->prepare("INSERT INTO tokens (hash, kind, session_id, expires_at) VALUES (?1, ?2, ?3, ?4)")
          .bind(1, token.hash)
          .bind(2, to_int(token.record.kind))
          .bind(3, id)
          .bind(4, token.record.expires_at)
          .run();
    }
    if (!session.key_id.empty()) {
      c->prepare(
           "INSERT INTO key_identities (user_id, key_id) VALUES (?1, ?2) "
           "ON CONFLICT (user_id, key_id) DO NOTHING")
          .bind(1, session.user_id)
          .bind(2, session.key_id)
          .run();
    }
    return true;
  });
  return static_cast<std::uint64_t>(id);
}

std::optional<SessionRecord> SqliteStore::find_session(std::uint64_t id) const {
  auto c = pool_.acquire();
  auto row = c->prepare(
      "SELECT id, user_id, provider, key_id, device_id, refresh_expires_at FROM sessions "
      "WHERE id = ?1");
  row.bind(1, static_cast<std::int64_t>(id));
  if (!row.step()) return std::nullopt;
  return read_session(row);
}

bool SqliteStore::insert_token(std::string_view hash, const TokenRecord& record) {
  bool inserted = false;
  writes_.run([&](Connection& c) {
    {
      auto session = c.prepare("SELECT 1 FROM sessions WHERE id = ?1");
      session.bind(1, static_cast<std::int64_t>(record.session_id));
      if (!session.step()) return false;
    }
    c.prepare("INSERT INTO tokens (hash, kind, session_id, expires_at) VALUES (?1, ?2, ?3, ?4)")
        .bind(1, hash)
        .bind(2, to_int(record.kind))
        .bind(3, static_cast<std::int64_t>(record.session_id))
        .bind(4, record.expires_at)
        .run();
    return inserted = true;
  });
  return inserted;
}

std::optional<TokenRecord> SqliteStore::find_token(std::string_view hash) const {
  auto c = pool_.acquire();
  auto row = c->prepare("SELECT kind, session_id, expires_at FROM tokens WHERE hash = ?1");
  row.bind(1, hash);
  if (!row.step()) return std::nullopt;
  TokenRecord record;
  record.kind = row.integer(0) == 0 ? TokenKind::access : TokenKind::refresh;
  record.session_id = static_cast<std::uint64_t>(row.integer(1));
  record.expires_at = row.integer(2);
  return record;
}

std::optional<SessionRecord> SqliteStore::find_live_session(std::string_view hash, TokenKind kind,
                                                            std::int64_t now) const {
  static const std::string sql =
      std::string(live_session_select) + live_session_from + live_session_where;
  auto c = pool_.acquire();
  // One statement, so one read transaction (one snapshot, one round of WAL locks)
  // instead of three.
  auto row = c->prepare(sql);
  row.bind(1, hash).bind(2, to_int(kind)).bind(3, now);
  if (!row.step()) return std::nullopt;
  return read_session(row);
}

std::optional<SessionKey> SqliteStore::find_live_session_key(std::string_view hash,
                                                             TokenKind kind, std::int64_t now,
                                                             const ObjectId& key_id) const {
  // The key by a LEFT JOIN: a live session without the key is still a row, with NULLs.
  static const std::string sql = std::string(live_session_select) +
                                 ", k.id, k.name, k.key_hash, k.disabled" + live_session_from +
                                 "LEFT JOIN api_keys k ON k.id = ?4 AND k.user_id = s.user_id " +
                                 live_session_where;
  auto c = pool_.acquire();
  auto row = c->prepare(sql);
  row.bind(1, hash).bind(2, to_int(kind)).bind(3, now).bind(4, key_id.to_hex());
  if (!row.step()) return std::nullopt;
  SessionKey found{read_session(row), std::nullopt};
  if (!row.is_null(6)) found.key = read_key(row, 6);
  return found;
}

void SqliteStore::end_session(std::uint64_t id) {
  writes_.run([&](Connection& c) {
    end_session_in(c, static_cast<std::int64_t>(id));
    return true;
  });
}

void SqliteStore::end_user_sessions(std::string_view user_id) {
  writes_.run([&](Connection& c) {
    c.prepare("DELETE FROM sessions WHERE user_id = ?1").bind(1, user_id).run();
    drop_if_unreachable_anonymous(c, user_id);
    return true;
  });
}

void SqliteStore::end_expired(std::int64_t now) {
  writes_.run([&](Connection& c) {
    c.prepare("DELETE FROM sessions WHERE refresh_expires_at <= ?1").bind(1, now).run();
    c.prepare("DELETE FROM tokens WHERE expires_at <= ?1").bind(1, now).run();
    c.prepare(
         "DELETE FROM users WHERE provider = 'anon-user' "
         "AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id)")
        .run();
    return true;
  });
}

void SqliteStore::delete_tokens(TokenKind kind) {
  writes_.run([&](Connection& c) {
    c.prepare("DELETE FROM tokens WHERE kind = ?1").bind(1, to_int(kind)).run();
    return true;
  });
}

std::size_t SqliteStore::count_sessions() const {
  auto c = pool_.acquire();
  return static_cast<std::size_t>(scalar(c->prepare("SELECT count(*) FROM sessions")));
}

std::size_t SqliteStore::count_user_sessions(std::string_view user_id) const {
  auto c = pool_.acquire();
  auto count = c->prepare("SELECT count(*) FROM sessions WHERE user_id = ?1");
  count.bind(1, user_id);
  return static_cast<std::size_t>(scalar(std::move(count)));
}

std::size_t SqliteStore::count_tokens(TokenKind kind) const {
  auto c = pool_.acquire();
  auto count = c->prepare("SELECT count(*) FROM tokens WHERE kind = ?1");
  count.bind(1, to_int(kind));
  return static_cast<std::size_t>(scalar(std::move(count)));
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
