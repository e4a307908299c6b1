// appkeys server — PostgresStore's sessions and tokens: starting and ending sessions,
// issuing and finding tokens, and the combined reads every authenticated request makes.
#include <appkeys/server/postgres_store.hpp>
#include <appkeys/server/schema.hpp>

#include "postgres_store_rows.hpp"

#include <string>
#include <utility>

namespace appkeys::server {

namespace {

using pg::Connection;
using pg_rows::insert_user_in;
using pg_rows::read_key;
using pg_rows::read_session;
using pg_rows::to_int;

// find_live_session's query in parts, so find_live_session_key can add the key to it:
// the token ($1, of kind $2) and its session unexpired at $3, its user not disabled.
using schema::live_session_from;
using schema::live_session_select;
constexpr const char* live_session_where =
    "WHERE t.hash = $1 AND t.kind = $2 AND t.expires_at > $3 AND s.refresh_expires_at > $3 "
    "AND u.disabled = 0";

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

}  // namespace

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

}  // namespace appkeys::server
