// appkeys server — SqliteStore's sessions and tokens: starting and ending sessions,
// issuing and finding tokens, and the combined reads every authenticated request makes.
#include <appkeys/server/schema.hpp>
#include <appkeys/server/sqlite_store.hpp>

#include "sqlite_store_rows.hpp"

#include <string>
#include <utility>

namespace appkeys::server {

namespace {

using sqlite::Connection;
using sqlite_rows::insert_user_in;
using sqlite_rows::read_key;
using sqlite_rows::read_session;
using sqlite_rows::scalar;
using sqlite_rows::to_int;

// find_live_session's query in parts, so find_live_session_key can add the key to it:
// the token (?1, of kind ?2) and its session unexpired at ?3, its user not disabled.
using schema::live_session_from;
using schema::live_session_select;
constexpr const char* live_session_where =
    "WHERE t.hash = ?1 AND t.kind = ?2 AND t.expires_at > ?3 AND s.refresh_expires_at > ?3 "
    "AND u.disabled = 0";

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

}  // namespace

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

}  // namespace appkeys::server
