// appkeys server — PostgresStore: the Store of `appkeys serve --store postgresql://...`,
// which several servers share.
#pragma once

#include <appkeys/object_id.hpp>
#include <appkeys/server/pg_connection.hpp>
#include <appkeys/server/schema.hpp>
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

/// A testing::backend::Store in one PostgreSQL database (its current schema, so one
/// database can hold several stores: `?options=-csearch_path%3DNAME`), shared by any
/// number of `appkeys serve` processes.
///
/// - Durable: a write is acknowledged only after its COMMIT returned.
/// - The rules hold across processes because each store call that writes is one
///   READ COMMITTED transaction, and the ones whose rule spans rows lock what the rule
///   is about: create_key first locks the user's row (`SELECT ... FOR NO KEY UPDATE`),
///   so two creates for one user, from any servers, run one after the other, each
///   seeing the other's key (name taken, 20 keys) before deciding; the unique index on
///   (user, name) backs that up. start_session takes a transaction-scoped advisory lock
///   while it counts and ends the oldest sessions. Creates for different users never
///   wait for each other. (SERIALIZABLE would give the same guarantees, but 25
///   concurrent creates for one user would mostly fail and retry; the row lock makes
///   them queue instead.)
/// - The same schema as SqliteStore (server/src/schema.cpp), versioned in the table
///   appkeys_schema: created by the first server to start (under an advisory lock, so
///   two starting at once do not race), migrated forward, refused when newer than this
///   build or when the schema holds someone else's tables.
/// - Faults: a lost connection (the database restarting) throws StoreUnavailable, which
///   the rules answer with 503; connections are replaced on the next call, and a
///   transaction that broke before its COMMIT is run again on a fresh connection.
///
/// Every member may throw StoreError (500) or StoreUnavailable (503).
///
/// Thread safety: every member function may be called concurrently; each caller gets
/// its own connection from a bounded pool. Any number of processes may share the
/// database.
class PostgresStore {
 public:
  /// The newest schema version this build knows.
  static constexpr std::int64_t schema_version = schema::version;

  /// Connects as `options` says and creates or migrates the schema.
  explicit PostgresStore(PostgresOptions options);
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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

  mutable pg::Pool pool_;
};

}  // namespace appkeys::server
