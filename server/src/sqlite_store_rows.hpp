// appkeys server — SqliteStore's shared pieces: rows read into records, and a step that
// more than one of its files runs inside a write transaction.
#pragma once

#include <appkeys/server/sqlite_connection.hpp>
#include <appkeys/server/schema.hpp>
#include <appkeys/testing/backend/records.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace appkeys::server::sqlite_rows {

using sqlite::Connection;
using sqlite::Statement;
using testing::backend::KeyRecord;
using testing::backend::SessionRecord;
using testing::backend::TokenKind;
using testing::backend::UserRecord;

/// The columns read_user reads, in its order (schema.hpp).
using schema::user_columns;

/// A user from the columns of user_columns.
inline UserRecord read_user(const Statement& row) {
  UserRecord user;
  user.id = row.text(0);
  user.provider = row.text(1);
  user.identity_id = row.text(2);
  user.email = row.text(3);
  user.password_hash = row.text(4);
  user.disabled = row.integer(5) != 0;
  return user;
}

/// A key from four columns from `first` on: id, name, key_hash, disabled.
inline KeyRecord read_key(const Statement& row, int first) {
  KeyRecord key;
  key.id = ObjectId::from_hex(row.text(first)).value_or(ObjectId{});
  key.name = row.text(first + 1);
  key.key_hash = row.text(first + 2);
  key.disabled = row.integer(first + 3) != 0;
  return key;
}

/// A session from its first six columns: id, user_id, provider, key_id, device_id,
/// refresh_expires_at.
inline SessionRecord read_session(const Statement& row) {
  SessionRecord session;
  session.id = static_cast<std::uint64_t>(row.integer(0));
  session.user_id = row.text(1);
  session.provider = row.text(2);
  session.key_id = row.text(3);
  session.device_id = row.text(4);
  session.refresh_expires_at = row.integer(5);
  return session;
}

/// How a token's kind is stored.
inline std::int64_t to_int(TokenKind kind) { return kind == TokenKind::access ? 0 : 1; }

/// The single integer a query returns.
inline std::int64_t scalar(Statement&& statement) {
  statement.step();
  return statement.integer(0);
}

/// Inserts `user` unless its email is taken (or its id exists); true if inserted.
/// Called inside a write transaction (insert_user, and start_session for a new
/// anonymous user).
bool insert_user_in(Connection& c, const UserRecord& user);

}  // namespace appkeys::server::sqlite_rows
