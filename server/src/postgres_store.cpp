// appkeys server — PostgresStore: each Store operation as one statement or one transaction.
#include <appkeys/server/postgres_store.hpp>

#include <appkeys/testing/backend/store.hpp>

#include <string>
#include <utility>

namespace appkeys::server {

static_assert(testing::backend::Store<PostgresStore>);

namespace {

using pg::Connection;
using pg::Result;

constexpr const char* user_columns =
    "SELECT id, provider, identity_id, coalesce(email, ''), password_hash, disabled FROM users ";

UserRecord read_user(const Result& rows, int row) {
  UserRecord user;
  user.id = rows.text(row, 0);
  user.provider = rows.text(row, 1);
  user.identity_id = rows.text(row, 2);
  user.email = rows.text(row, 3);
  user.password_hash = rows.text(row, 4);
  user.disabled = rows.integer(row, 5) != 0;
  return user;
}

KeyRecord read_key(const Result& rows, int row, int first) {
  KeyRecord key;
  key.id = ObjectId::from_hex(rows.text(row, first)).value_or(ObjectId{});
  key.name = rows.text(row, first + 1);
  key.key_hash = rows.text(row, first + 2);
  key.disabled = rows.integer(row, first + 3) != 0;
  return key;
}

// find_live_session's query in parts, so find_live_session_key can add the key to it:
// the token ($1, of kind $2) and its session unexpired at $3, its user not disabled.
constexpr const char* live_session_select =
    "SELECT s.id, s.user_id, s.provider, s.key_id, s.device_id, s.refresh_expires_at";
constexpr const char* live_session_from =
    " FROM tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id ";
constexpr const char* live_session_where =
    "WHERE t.hash = $1 AND t.kind = $2 AND t.expires_at > $3 AND s.refresh_expires_at > $3 "
    "AND u.disabled = 0";

SessionRecord read_session(const Result& rows, int row) {
  SessionRecord session;
  session.id = static_cast<std::uint64_t>(rows.integer(row, 0));
  session.user_id = rows.text(row, 1);
  session.provider = rows.text(row, 2);
  session.key_id = rows.text(row, 3);
  session.device_id = rows.text(row, 4);
  session.refresh_expires_at = rows.integer(row, 5);
  return session;
}

std::int64_t to_int(TokenKind kind) { return kind == TokenKind::access ? 0 : 1; }
std::int64_t to_int(bool flag) { return flag ? 1 : 0; }
std::int64_t to_int(std::uint64_t id) { return static_cast<std::int64_t>(id); }

/// Deletes `user_id` if it is anonymous and has no session left (it could never be
/// reached again). Called inside a transaction.
void drop_if_unreachable_anonymous(Connection& c, const std::string& user_id) {
  c.exec(
      "DELETE FROM users WHERE id = $1 AND provider = 'anon-user' "
      "AND NOT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1) "
      "AND NOT EXISTS (SELECT 1 FROM api_keys WHERE user_id = $1)",
      {user_id});
}

/// Ends session `id` (its tokens go by cascade) and its anonymous owner if orphaned.
void end_session_in(Connection& c, std::int64_t id) {
  auto gone = c.exec("DELETE FROM sessions WHERE id = $1 RETURNING user_id", {id});
  if (gone.rows() == 1) drop_if_unreachable_anonymous(c, gone.text(0, 0));
}

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

CreateKeyOutcome PostgresStore::create_key(std::string_view user_id, const KeyRecord& key,
                                           std::size_t max_keys) {
  return pool_.transaction([&](Connection& c) {
    // The user's row lock: every create for this user, on any server, waits here for
    // the one before it to commit, and then (READ COMMITTED: each statement sees what
    // was committed before it started) counts its keys. NO KEY UPDATE does not block the
    // foreign-key checks of logins inserting sessions for the same user.
    if (c.exec("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", {user_id}).rows() == 0) {
      return CreateKeyOutcome::no_such_user;
    }
    auto counts = c.exec(
        "SELECT count(*), count(*) FILTER (WHERE name = $2) FROM api_keys WHERE user_id = $1",
        {user_id, key.name});
    if (counts.integer(0, 1) != 0) return CreateKeyOutcome::name_taken;
    if (static_cast<std::size_t>(counts.integer(0, 0)) >= max_keys) {
      return CreateKeyOutcome::limit_reached;
    }
    // The unique index on (user_id, name) is the last word, should anything bypass the
    // lock: a conflict inserts nothing and reads as name_taken.
    auto inserted = c.exec(
        "INSERT INTO api_keys (id, user_id, name, key_hash, disabled) VALUES ($1, $2, $3, $4, "
        "$5) ON CONFLICT (user_id, name) DO NOTHING",
        {key.id.to_hex(), user_id, key.name, key.key_hash, to_int(key.disabled)});
    return inserted.affected() == 1 ? CreateKeyOutcome::created : CreateKeyOutcome::name_taken;
  });
}

std::vector<KeyRecord> PostgresStore::list_keys(std::string_view user_id) const {
  return pool_.read([&](Connection& c) {
    auto rows = c.exec(
        "SELECT id, name, key_hash, disabled FROM api_keys WHERE user_id = $1 ORDER BY seq",
        {user_id});
    std::vector<KeyRecord> out;
    for (int i = 0; i < rows.rows(); ++i) out.push_back(read_key(rows, i, 0));
    return out;
  });
}

std::optional<KeyRecord> PostgresStore::find_key(std::string_view user_id,
                                                 const ObjectId& key_id) const {
  return pool_.read([&](Connection& c) -> std::optional<KeyRecord> {
    auto rows = c.exec(
        "SELECT id, name, key_hash, disabled FROM api_keys WHERE id = $1 AND user_id = $2",
        {key_id.to_hex(), user_id});
    if (rows.rows() == 0) return std::nullopt;
    return read_key(rows, 0, 0);
  });
}

std::optional<std::pair<std::string, KeyRecord>> PostgresStore::find_key_by_hash(
    std::string_view hash) const {
  return pool_.read([&](Connection& c) -> std::optional<std::pair<std::string, KeyRecord>> {
    auto rows = c.exec(
        "SELECT user_id, id, name, key_hash, disabled FROM api_keys WHERE key_hash = $1", {hash});
    if (rows.rows() == 0) return std::nullopt;
    return std::pair<std::string, KeyRecord>{rows.text(0, 0), read_key(rows, 0, 1)};
  });
}

bool PostgresStore::set_key_disabled(std::string_view user_id, const ObjectId& key_id,
                                     bool disabled) {
  return pool_.transaction([&](Connection& c) {
    // PostgreSQL counts matched rows, so an unchanged state still reads as found.
    return c.exec("UPDATE api_keys SET disabled = $3 WHERE id = $1 AND user_id = $2",
                  {key_id.to_hex(), user_id, to_int(disabled)})
               .affected() == 1;
  });
}

bool PostgresStore::delete_key(std::string_view user_id, const ObjectId& key_id) {
  return pool_.transaction([&](Connection& c) {
    return c.exec("DELETE FROM api_keys WHERE id = $1 AND user_id = $2",
                  {key_id.to_hex(), user_id})
               .affected() == 1;
  });
}

std::size_t PostgresStore::count_keys(std::string_view user_id) const {
  return pool_.read([&](Connection& c) {
    return static_cast<std::size_t>(
        c.exec("SELECT count(*) FROM api_keys WHERE user_id = $1", {user_id}).integer(0, 0));
  });
}

std::uint64_t PostgresStore::start_session(const SessionRecord& session,
                                           const std::vector<IssuedToken>& tokens,
                                           std::size_t max_sessions, const UserRecord* new_user) {
  return pool_.transaction([&](Connection& c) {
    if (new_user != nullptr) insert_user_in(c, *new_user);
    if (max_sessions > 0) {
      // Counting and ending the oldest must not interleave with another server's, or
      // both would end the same ones (or neither): one session start at a time.
      c.exec("SELECT pg_advisory_xact_lock(hashtext('appkeys sessions ' || current_schema()))");
      const auto live =
          static_cast<std::size_t>(c.exec("SELECT count(*) FROM sessions").integer(0, 0));
      if (live >= max_sessions) {
        auto oldest = c.exec("SELECT id FROM sessions ORDER BY id LIMIT $1",
                             {static_cast<std::int64_t>(live - max_sessions + 1)});
        for (int i = 0; i < oldest.rows(); ++i) end_session_in(c, oldest.integer(i, 0));
      }
    }
    const std::int64_t id =
        c.exec(
             "INSERT INTO sessions (user_id, provider, key_id, device_id, refresh_expires_at) "
             "VALUES ($1, $2, $3, $4, $5) RETURNING id",
             {session.user_id, session.provider, session.key_id, session.device_id,
              session.refresh_expires_at})
            .integer(0, 0);
    for (const auto& token : tokens) {
      c.exec("INSERT INTO tokens (hash, kind, session_id, expires_at) VALUES ($1, $2, $3, $4)",
             {token.hash, to_int(token.record.kind), id, token.record.expires_at});
    }
    if (!session.key_id.empty()) {
      c.exec(
          "INSERT INTO key_identities (user_id, key_id) VALUES ($1, $2) "
          "ON CONFLICT (user_id, key_id) DO NOTHING",
          {session.user_id, session.key_id});
    }
    return static_cast<std::uint64_t>(id);
  });
}

std::optional<SessionRecord> PostgresStore::find_session(std::uint64_t id) const {
  return pool_.read([&](Connection& c) -> std::optional<SessionRecord> {
    auto rows = c.exec(
        "SELECT id, user_id, provider, key_id, device_id, refresh_expires_at FROM sessions "
        "WHERE id = $1",
        {to_int(id)});
    if (rows.rows() == 0) return std::nullopt;
    return read_session(rows, 0);
  });
}

bool PostgresStore::insert_token(std::string_view hash, const TokenRecord& record) {
  try {
    return pool_.transaction([&](Connection& c) {
      return c.exec(
                  "INSERT INTO tokens (hash, kind, session_id, expires_at) "
                  "SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $3)",
                  {hash, to_int(record.kind), to_int(record.session_id), record.expires_at})
                 .affected() == 1;
    });
  } catch (const pg::Error& error) {
    // The session ended on another server between the check and the insert.
    if (error.sqlstate() == "23503") return false;
    throw;
  }
}

std::optional<TokenRecord> PostgresStore::find_token(std::string_view hash) const {
  return pool_.read([&](Connection& c) -> std::optional<TokenRecord> {
    auto rows =
        c.exec("SELECT kind, session_id, expires_at FROM tokens WHERE hash = $1", {hash});
    if (rows.rows() == 0) return std::nullopt;
    TokenRecord record;
    record.kind = rows.integer(0, 0) == 0 ? TokenKind::access : TokenKind::refresh;
    record.session_id = static_cast<std::uint64_t>(rows.integer(0, 1));
    record.expires_at = rows.integer(0, 2);
    return record;
  });
}

std::optional<SessionRecord> PostgresStore::find_live_session(std::string_view hash,
                                                              TokenKind kind,
                                                              std::int64_t now) const {
  static const std::string sql =
      std::string(live_session_select) + live_session_from + live_session_where;
  return pool_.read([&](Connection& c) -> std::optional<SessionRecord> {
    // One statement: the token, its session and its user seen in one snapshot.
    auto rows = c.exec(sql, {hash, to_int(kind), now});
    if (rows.rows() == 0) return std::nullopt;
    return read_session(rows, 0);
  });
}

std::optional<SessionKey> PostgresStore::find_live_session_key(std::string_view hash,
                                                               TokenKind kind, std::int64_t now,
                                                               const ObjectId& key_id) const {
  // The key by a LEFT JOIN: a live session without the key is still a row, with NULLs.
  static const std::string sql = std::string(live_session_select) +
                                 ", k.id, k.name, k.key_hash, k.disabled" + live_session_from +
                                 "LEFT JOIN api_keys k ON k.id = $4 AND k.user_id = s.user_id " +
                                 live_session_where;
  return pool_.read([&](Connection& c) -> std::optional<SessionKey> {
    auto rows = c.exec(sql, {hash, to_int(kind), now, key_id.to_hex()});
    if (rows.rows() == 0) return std::nullopt;
    SessionKey found{read_session(rows, 0), std::nullopt};
    if (!rows.is_null(0, 6)) found.key = read_key(rows, 0, 6);
    return found;
  });
}

void PostgresStore::end_session(std::uint64_t id) {
  pool_.transaction([&](Connection& c) { end_session_in(c, to_int(id)); });
}

void PostgresStore::end_user_sessions(std::string_view user_id) {
  pool_.transaction([&](Connection& c) {
    c.exec("DELETE FROM sessions WHERE user_id = $1", {user_id});
    drop_if_unreachable_anonymous(c, std::string(user_id));
  });
}

void PostgresStore::end_expired(std::int64_t now) {
  pool_.transaction([&](Connection& c) {
    c.exec("DELETE FROM sessions WHERE refresh_expires_at <= $1", {now});
    c.exec("DELETE FROM tokens WHERE expires_at <= $1", {now});
    c.exec(
        "DELETE FROM users WHERE provider = 'anon-user' "
        "AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id)");
  });
}

void PostgresStore::delete_tokens(TokenKind kind) {
  pool_.transaction(
      [&](Connection& c) { c.exec("DELETE FROM tokens WHERE kind = $1", {to_int(kind)}); });
}

std::size_t PostgresStore::count_sessions() const {
  return pool_.read([&](Connection& c) {
    return static_cast<std::size_t>(c.exec("SELECT count(*) FROM sessions").integer(0, 0));
  });
}

std::size_t PostgresStore::count_user_sessions(std::string_view user_id) const {
  return pool_.read([&](Connection& c) {
    return static_cast<std::size_t>(
        c.exec("SELECT count(*) FROM sessions WHERE user_id = $1", {user_id}).integer(0, 0));
  });
}

std::size_t PostgresStore::count_tokens(TokenKind kind) const {
  return pool_.read([&](Connection& c) {
    return static_cast<std::size_t>(
        c.exec("SELECT count(*) FROM tokens WHERE kind = $1", {to_int(kind)}).integer(0, 0));
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
