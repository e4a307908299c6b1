// appkeys server — PostgresStore's shared pieces: rows read into records, parameters
// as integers, and a step that more than one of its files runs inside a transaction.
#pragma once

#include <appkeys/server/pg_connection.hpp>
#include <appkeys/server/schema.hpp>
#include <appkeys/testing/backend/records.hpp>

#include <cstdint>
#include <string>

namespace appkeys::server::pg_rows {

using pg::Connection;
using pg::Result;
using testing::backend::KeyRecord;
using testing::backend::SessionRecord;
using testing::backend::TokenKind;
using testing::backend::UserRecord;

/// The columns read_user reads, in its order (schema.hpp).
using schema::user_columns;

/// A user from the columns of user_columns.
inline UserRecord read_user(const Result& rows, int row) {
  UserRecord user;
  user.id = rows.text(row, 0);
  user.provider = rows.text(row, 1);
  user.identity_id = rows.text(row, 2);
  user.email = rows.text(row, 3);
  user.password_hash = rows.text(row, 4);
  user.disabled = rows.integer(row, 5) != 0;
  return user;
}

/// A key from four columns from `first` on: id, name, key_hash, disabled.
inline KeyRecord read_key(const Result& rows, int row, int first) {
  KeyRecord key;
  key.id = ObjectId::from_hex(rows.text(row, first)).value_or(ObjectId{});
  key.name = rows.text(row, first + 1);
  key.key_hash = rows.text(row, first + 2);
  key.disabled = rows.integer(row, first + 3) != 0;
  return key;
}

/// A session from its first six columns: id, user_id, provider, key_id, device_id,
/// refresh_expires_at.
inline SessionRecord read_session(const Result& rows, int row) {
  SessionRecord session;
  session.id = static_cast<std::uint64_t>(rows.integer(row, 0));
  session.user_id = rows.text(row, 1);
  session.provider = rows.text(row, 2);
  session.key_id = rows.text(row, 3);
  session.device_id = rows.text(row, 4);
  session.refresh_expires_at = rows.integer(row, 5);
  return session;
}

/// How a token's kind is stored.
inline std::int64_t to_int(TokenKind kind) { return kind == TokenKind::access ? 0 : 1; }
inline std::int64_t to_int(bool flag) { return flag ? 1 : 0; }
inline std::int64_t to_int(std::uint64_t id) { return static_cast<std::int64_t>(id); }

/// Inserts `user` unless its email is taken (or its id exists); true if inserted.
/// Called inside a transaction (insert_user, and start_session for a new anonymous
/// user).
bool insert_user_in(Connection& c, const UserRecord& user);

}  // namespace appkeys::server::pg_rows
