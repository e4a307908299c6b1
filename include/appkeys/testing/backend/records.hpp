// appkeys — what a server store keeps: users, keys, sessions and tokens (no secrets in clear).
#pragma once

#include <appkeys/object_id.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace appkeys::testing::backend {

/// One user. Thread safety: a value type.
struct UserRecord {
  std::string id;             ///< 24 lowercase hex characters.
  std::string provider;       ///< "local-userpass" or "anon-user".
  std::string identity_id;    ///< The id of the user's own identity in the profile.
  std::string email;          ///< Empty for an anonymous user.
  std::string password_hash;  ///< The Crypto policy's self-describing hash; empty: none.
  bool disabled = false;      ///< A disabled user cannot log in.
};

/// One user API key. Thread safety: a value type.
struct KeyRecord {
  ObjectId id;            ///< The key's id.
  std::string name;       ///< Unique per user.
  std::string key_hash;   ///< sha256_hex of the value; the value itself is never kept.
  bool disabled = false;  ///< A disabled key cannot log in.
};

/// One login session. Thread safety: a value type.
struct SessionRecord {
  std::uint64_t id = 0;   ///< Assigned by the store; grows, so the smallest is the oldest.
  std::string user_id;    ///< Whose session it is.
  std::string provider;   ///< How this session logged in.
  std::string key_id;     ///< For "api-key" sessions: the key's id (hex).
  std::string device_id;  ///< 24 hex, echoed to the client.
  std::int64_t refresh_expires_at = 0;  ///< Unix seconds; the session ends then.
};

/// Which of a session's tokens a bearer is.
enum class TokenKind { access, refresh };

/// A token, kept under the SHA-256 of its text. Thread safety: a value type.
struct TokenRecord {
  TokenKind kind = TokenKind::access;  ///< Access or refresh.
  std::uint64_t session_id = 0;        ///< The session it belongs to.
  std::int64_t expires_at = 0;         ///< Unix seconds.
};

/// A token issued with a new session: its hash and record.
///
/// Thread safety: a plain value; distinct objects are independent.
struct IssuedToken {
  std::string hash;    ///< sha256_hex of the token text.
  TokenRecord record;  ///< Its kind and expiry (session_id is filled in by the store).
};

/// What Store::find_live_session_key reads in one step: a live session and, when its
/// user has it, the key asked for.
///
/// Thread safety: a value type.
struct SessionKey {
  SessionRecord session;         ///< The session the token belongs to.
  std::optional<KeyRecord> key;  ///< The key, if the session's user has one with that id.
};

/// What Store::create_key did: the outcome of one atomic check-and-insert.
enum class CreateKeyOutcome {
  created,        ///< The key is stored.
  name_taken,     ///< The user already has a key with that name (409).
  limit_reached,  ///< The user already has the maximum number of keys (400).
  no_such_user,   ///< The user is gone (deleted meanwhile).
};

}  // namespace appkeys::testing::backend
