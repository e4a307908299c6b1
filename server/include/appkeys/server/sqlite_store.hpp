// appkeys server — SqliteStore: the durable Store of `appkeys serve`.
#pragma once

#include <appkeys/object_id.hpp>
#include <appkeys/server/schema.hpp>
#include <appkeys/server/sqlite_connection.hpp>
#include <appkeys/server/sqlite_group_commit.hpp>
#include <appkeys/testing/backend/records.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appkeys::server {

using testing::backend::CreateKeyOutcome;
using testing::backend::IssuedToken;
using testing::backend::KeyRecord;
using testing::backend::SessionKey;
using testing::backend::SessionRecord;
using testing::backend::TokenKind;
using testing::backend::TokenRecord;
using testing::backend::UserRecord;

/// A testing::backend::Store in one SQLite database file, for `appkeys serve`.
///
/// - Durable: WAL with synchronous=FULL; each store call that writes runs in a
///   `BEGIN IMMEDIATE` transaction (in a savepoint of its own: concurrent writes share
///   one transaction and one fsync, see sqlite::GroupCommit) that has committed, and so
///   is on disk, before the call returns: an acknowledged write survives kill -9 and
///   power loss.
/// - A call that only reads is one statement in autocommit: a read transaction of its
///   own (one WAL snapshot), without BEGIN; in WAL mode it does not wait for writers.
///   The reads every authenticated request makes (find_live_session,
///   find_live_session_key) are one query each, joining the token, its session, its
///   user (and the key).
/// - The rules hold across threads and processes because the database enforces them:
///   a unique index on (user, name) and, inside create_key's transaction, a count of
///   the user's keys; emails are unique; sessions and tokens go with their user by
///   foreign keys (ON DELETE CASCADE).
/// - Versioned schema (PRAGMA user_version): created on first open, migrated forward on
///   open by an older version's file, and a file from a newer appkeys is refused with a
///   StoreError that says so.
/// - Only hashes: key values and tokens as SHA-256, passwords as the Crypto's hash. The
///   token-signing secret is stored in clear (table `meta`): whoever can read the file
///   can mint tokens, so protect it like a private key (mode 0600 on creation).
///
/// Every member may throw StoreError (the backend answers 500 for it).
///
/// Thread safety: every member function may be called concurrently; each caller gets
/// its own connection from a pool. Several processes may open the same file.
class SqliteStore {
 public:
  /// The newest schema version this build knows.
  static constexpr std::int64_t schema_version = schema::version;

  /// Opens `path` (creating the file and schema if absent, migrating an older one).
  explicit SqliteStore(std::string path, SqliteOptions options = {});
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  /// The database file.
  const std::string& path() const noexcept { return pool_.path(); }

  // The Store concept (testing/backend/store.hpp documents each).
  /// See Store.
  std::optional<UserRecord> find_user(std::string_view id) const;
  /// See Store.
  std::optional<UserRecord> find_user_by_email(std::string_view email) const;
  /// See Store.
  bool insert_user(const UserRecord& user);
  /// See Store.
  bool set_password(std::string_view id, std::string_view hash);
  /// See Store.
  bool set_user_disabled(std::string_view id, bool disabled);
  /// See Store.
  bool delete_user(std::string_view id);
  /// See Store.
  std::vector<UserRecord> list_users() const;
  /// See Store.
  std::vector<std::string> api_key_identities(std::string_view id) const;
  /// See Store.
  CreateKeyOutcome create_key(std::string_view user_id, const KeyRecord& key,
                              std::size_t max_keys);
  /// See Store.
  std::vector<KeyRecord> list_keys(std::string_view user_id) const;
  /// See Store.
  std::optional<KeyRecord> find_key(std::string_view user_id, const ObjectId& key_id) const;
  /// See Store.
  std::optional<std::pair<std::string, KeyRecord>> find_key_by_hash(std::string_view hash) const;
  /// See Store.
  bool set_key_disabled(std::string_view user_id, const ObjectId& key_id, bool disabled);
  /// See Store.
  bool delete_key(std::string_view user_id, const ObjectId& key_id);
  /// See Store.
  std::size_t count_keys(std::string_view user_id) const;
  /// See Store.
  std::uint64_t start_session(const SessionRecord& session, const std::vector<IssuedToken>& tokens,
                              std::size_t max_sessions, const UserRecord* new_user);
  /// See Store.
  std::optional<SessionRecord> find_session(std::uint64_t id) const;
  /// See Store.
  bool insert_token(std::string_view hash, const TokenRecord& record);
  /// See Store.
  std::optional<TokenRecord> find_token(std::string_view hash) const;
  /// See Store.
  std::optional<SessionRecord> find_live_session(std::string_view hash, TokenKind kind,
                                                 std::int64_t now) const;
  /// See Store.
  std::optional<SessionKey> find_live_session_key(std::string_view hash, TokenKind kind,
                                                  std::int64_t now, const ObjectId& key_id) const;
  /// See Store.
  void end_session(std::uint64_t id);
  /// See Store.
  void end_user_sessions(std::string_view user_id);
  /// See Store.
  void end_expired(std::int64_t now);
  /// See Store.
  void delete_tokens(TokenKind kind);
  /// See Store.
  std::size_t count_sessions() const;
  /// See Store.
  std::size_t count_user_sessions(std::string_view user_id) const;
  /// See Store.
  std::size_t count_tokens(TokenKind kind) const;
  /// See Store.
  std::string load_or_store_secret(std::string_view name, std::string candidate);

 private:
  void open_schema();

  mutable sqlite::Pool pool_;
  sqlite::GroupCommit writes_{pool_};  // every write but the schema's and the secret's
};

/// Brings the schema of `connection` (in a write transaction) from `from` to
/// `from + 1`; the migration hook, one entry per version step. Version 0 -> 1 creates
/// the schema.
void migrate_sqlite_schema(sqlite::Connection& connection, std::int64_t from);

}  // namespace appkeys::server
