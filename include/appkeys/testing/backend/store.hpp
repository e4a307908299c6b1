// appkeys — the Store concept: the storage policy the server rules run over.
#pragma once

#include <appkeys/object_id.hpp>
#include <appkeys/testing/backend/records.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appkeys::testing::backend {

/// A store that cannot be reached now (its database is restarting, its network is
/// down, every connection is busy past a bound): BasicBackend answers 503 with a JSON
/// error body, and the client may try again. Any other exception from a store is a
/// fault (500). Its message names the store and the reason, never a bound value.
///
/// Thread safety: an exception object; immutable once thrown.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where the server rules (backend::BasicBackend) keep users, keys, sessions, tokens and
/// the deployment's secrets. The rules decide what is allowed; a store only keeps state,
/// and makes each call below one atomic step (a transaction, or one lock), safe to call
/// from many threads at once: the rules never hold a lock across two calls. Shipped
/// models: backend::MemoryStore (header-only, in FakeBackend), server::SqliteStore and
/// server::PostgresStore. A store that cannot be reached throws StoreUnavailable.
///
/// Requirements, for a store `s`, ids as `std::string_view` (users: 24 hex) or
/// `ObjectId` (keys), `u` a UserRecord, `k` a KeyRecord:
///
/// Users
/// - `s.find_user(id)` -> `std::optional<UserRecord>`.
/// - `s.find_user_by_email(email)` -> `std::optional<UserRecord>`.
/// - `s.insert_user(u)` -> `bool`: false, and nothing stored, when `u.email` is not empty
///   and another user has it (emails are unique, so two registrations race safely).
/// - `s.set_password(id, hash)` -> `bool`: false for an unknown user.
/// - `s.set_user_disabled(id, disabled)` -> `bool`: false for an unknown user. It does
///   not end sessions; the rules call end_user_sessions.
/// - `s.delete_user(id)` -> `bool`: removes the user with its keys, sessions and tokens.
/// - `s.list_users()` -> `std::vector<UserRecord>`, ordered by id.
/// - `s.api_key_identities(id)` -> `std::vector<std::string>`: ids (hex) of the keys
///   that ever logged in as this user, in order of first use.
///
/// Keys
/// - `s.create_key(user_id, k, max_keys)` -> `CreateKeyOutcome`: in one atomic step,
///   `name_taken` if the user has a key named `k.name`, else `limit_reached` if the user
///   has `max_keys` keys or more, else stores `k` (`created`). Holds under any number of
///   concurrent callers, threads or processes.
/// - `s.list_keys(user_id)` -> `std::vector<KeyRecord>`, in creation order.
/// - `s.find_key(user_id, key_id)` -> `std::optional<KeyRecord>`: only the user's own.
/// - `s.find_key_by_hash(hash)` -> `std::optional<std::pair<std::string, KeyRecord>>`:
///   the owner's id and the key whose key_hash is `hash`.
/// - `s.set_key_disabled(user_id, key_id, disabled)` -> `bool`: false when the user has
///   no such key.
/// - `s.delete_key(user_id, key_id)` -> `bool`: false when the user has no such key.
/// - `s.count_keys(user_id)` -> `std::size_t`.
///
/// Sessions and tokens (times are Unix seconds)
/// - `s.start_session(session, tokens, max_sessions, new_user)` -> `std::uint64_t`, with
///   `session` a SessionRecord, `tokens` a `const std::vector<IssuedToken>&` and
///   `new_user` a `const UserRecord*` (nullptr: none). In one atomic step: inserts
///   `*new_user` if given; ends the oldest sessions until fewer than `max_sessions`
///   remain (0: no limit); stores the session under a new id larger than every earlier
///   one, and the tokens for it; for an "api-key" session adds `session.key_id` to the
///   owner's api_key_identities unless there. Returns the new id.
/// - `s.find_session(id)` -> `std::optional<SessionRecord>`.
/// - `s.insert_token(hash, record)` -> `bool`: false (nothing stored) when the session
///   is gone.
/// - `s.find_token(hash)` -> `std::optional<TokenRecord>`.
/// - `s.find_live_session(hash, kind, now)` -> `std::optional<SessionRecord>`: what
///   every authenticated request asks, in one atomic read (one statement on a
///   database) instead of find_token, find_session and find_user one after another.
///   The session of the token whose hash is `hash`, only when all of these hold at
///   once, else nullopt:
///   - that token exists and is of kind `kind`;
///   - it expires after `now` (its `expires_at > now`);
///   - its session exists (not ended) and `refresh_expires_at > now`;
///   - the session's user exists and is not disabled.
/// - `s.find_live_session_key(hash, kind, now, key_id)` -> `std::optional<SessionKey>`:
///   find_live_session and, for the session found, find_key(session.user_id, key_id),
///   both in one atomic read (what a key fetch asks). nullopt when find_live_session
///   would be; otherwise the session, with `key` empty when its user has no such key.
/// - `s.end_session(id)`, `s.end_user_sessions(user_id)`, `s.end_expired(now)`: end
///   sessions (one, all of one user's, or those expired at `now`) with their tokens;
///   `end_expired` also drops every expired token. An anonymous user left with no
///   session is deleted in the same step: nothing could ever log in as it again.
/// - `s.delete_tokens(kind)`: forgets every token of that kind.
/// - `s.count_sessions()`, `s.count_user_sessions(user_id)`, `s.count_tokens(kind)` ->
///   `std::size_t`.
///
/// Deployment secrets
/// - `s.load_or_store_secret(name, candidate)` -> `std::string`: the secret stored
///   under `name`; if there is none, stores `candidate` first. Processes sharing a store
///   therefore agree on one value (the token-signing key).
template <class S>
concept Store = requires(S& s, const S& cs, std::string_view id, const ObjectId& key_id,
                         const UserRecord& u, const KeyRecord& k, const SessionRecord& session,
                         const std::vector<IssuedToken>& tokens, const TokenRecord& token,
                         std::size_t n, bool flag, std::int64_t now, TokenKind kind) {
  { cs.find_user(id) } -> std::same_as<std::optional<UserRecord>>;
  { cs.find_user_by_email(id) } -> std::same_as<std::optional<UserRecord>>;
  { s.insert_user(u) } -> std::same_as<bool>;
  { s.set_password(id, id) } -> std::same_as<bool>;
  { s.set_user_disabled(id, flag) } -> std::same_as<bool>;
  { s.delete_user(id) } -> std::same_as<bool>;
  { cs.list_users() } -> std::same_as<std::vector<UserRecord>>;
  { cs.api_key_identities(id) } -> std::same_as<std::vector<std::string>>;

  { s.create_key(id, k, n) } -> std::same_as<CreateKeyOutcome>;
  { cs.list_keys(id) } -> std::same_as<std::vector<KeyRecord>>;
  { cs.find_key(id, key_id) } -> std::same_as<std::optional<KeyRecord>>;
  { cs.find_key_by_hash(id) } -> std::same_as<std::optional<std::pair<std::string, KeyRecord>>>;
  { s.set_key_disabled(id, key_id, flag) } -> std::same_as<bool>;
  { s.delete_key(id, key_id) } -> std::same_as<bool>;
  { cs.count_keys(id) } -> std::same_as<std::size_t>;

  { s.start_session(session, tokens, n, &u) } -> std::same_as<std::uint64_t>;
  { cs.find_session(std::uint64_t{}) } -> std::same_as<std::optional<SessionRecord>>;
  { s.insert_token(id, token) } -> std::same_as<bool>;
  { cs.find_token(id) } -> std::same_as<std::optional<TokenRecord>>;
  { cs.find_live_session(id, kind, now) } -> std::same_as<std::optional<SessionRecord>>;
  { cs.find_live_session_key(id, kind, now, key_id) } -> std::same_as<std::optional<SessionKey>>;
  s.end_session(std::uint64_t{});
  s.end_user_sessions(id);
  s.end_expired(now);
  s.delete_tokens(kind);
  { cs.count_sessions() } -> std::same_as<std::size_t>;
  { cs.count_user_sessions(id) } -> std::same_as<std::size_t>;
  { cs.count_tokens(kind) } -> std::same_as<std::size_t>;

  { s.load_or_store_secret(id, std::string{}) } -> std::same_as<std::string>;
};

}  // namespace appkeys::testing::backend
