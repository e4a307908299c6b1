// appkeys — MemoryStore: the Store policy kept in process memory (FakeBackend's store).
#pragma once

#include <appkeys/object_id.hpp>
#include <appkeys/testing/backend/records.hpp>
#include <appkeys/testing/backend/store.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace appkeys::testing::backend {

/// A Store in memory: everything is lost with the object. Each call takes one mutex for
/// its whole duration, which makes it the atomic step the Store concept asks for.
///
/// Thread safety: every member function may be called concurrently.
class MemoryStore {
 public:
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  /// See Store.
  std::optional<UserRecord> find_user(std::string_view id) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(id);
    if (it == users_.end()) return std::nullopt;
    return it->second.record;
  }

  /// See Store.
  std::optional<UserRecord> find_user_by_email(std::string_view email) const {
    std::lock_guard lock(mutex_);
    auto it = email_index_.find(email);
    if (it == email_index_.end()) return std::nullopt;
    return users_.find(it->second)->second.record;
  }

  /// See Store.
  bool insert_user(const UserRecord& user) {
    std::lock_guard lock(mutex_);
    return insert_user_locked(user);
  }

  /// See Store.
  bool set_password(std::string_view id, std::string_view hash) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(id);
    if (it == users_.end()) return false;
    it->second.record.password_hash = std::string(hash);
    return true;
  }

  /// See Store.
  bool set_user_disabled(std::string_view id, bool disabled) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(id);
    if (it == users_.end()) return false;
    it->second.record.disabled = disabled;
    return true;
  }

  /// See Store.
  bool delete_user(std::string_view id) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(id);
    if (it == users_.end()) return false;
    end_sessions_locked(sessions_of_locked(id));
    it = users_.find(id);
    if (it == users_.end()) return true;  // an anonymous user goes with its sessions
    for (const auto& key : it->second.keys) {
      key_hash_index_.erase(key.key_hash);
      key_owner_.erase(key.id.to_hex());
    }
    if (!it->second.record.email.empty()) email_index_.erase(it->second.record.email);
    users_.erase(it);
    return true;
  }

  /// See Store.
  std::vector<UserRecord> list_users() const {
    std::lock_guard lock(mutex_);
    std::vector<UserRecord> out;
    out.reserve(users_.size());
    for (const auto& [id, user] : users_) out.push_back(user.record);
    return out;
  }

  /// See Store.
  std::vector<std::string> api_key_identities(std::string_view id) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(id);
    return it == users_.end() ? std::vector<std::string>{} : it->second.identities;
  }

  /// See Store.
  CreateKeyOutcome create_key(std::string_view user_id, const KeyRecord& key,
                              std::size_t max_keys) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    if (it == users_.end()) return CreateKeyOutcome::no_such_user;
    auto& keys = it->second.keys;
    for (const auto& existing : keys) {
      if (existing.name == key.name) return CreateKeyOutcome::name_taken;
    }
    if (keys.size() >= max_keys) return CreateKeyOutcome::limit_reached;
    key_owner_.emplace(key.id.to_hex(), it->first);
    key_hash_index_.emplace(key.key_hash, key.id.to_hex());
    keys.push_back(key);
    return CreateKeyOutcome::created;
  }

  /// See Store.
  std::vector<KeyRecord> list_keys(std::string_view user_id) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    return it == users_.end() ? std::vector<KeyRecord>{} : it->second.keys;
  }

  /// See Store.
  std::optional<KeyRecord> find_key(std::string_view user_id, const ObjectId& key_id) const {
    std::lock_guard lock(mutex_);
    const KeyRecord* key = find_key_locked(user_id, key_id);
    if (key == nullptr) return std::nullopt;
    return *key;
  }

  /// See Store.
  std::optional<std::pair<std::string, KeyRecord>> find_key_by_hash(std::string_view hash) const {
    std::lock_guard lock(mutex_);
    auto entry = key_hash_index_.find(std::string(hash));
    if (entry == key_hash_index_.end()) return std::nullopt;
    const std::string& owner = key_owner_.at(entry->second);
    const KeyRecord* key = find_key_locked(owner, *ObjectId::from_hex(entry->second));
    if (key == nullptr) return std::nullopt;
    return std::pair<std::string, KeyRecord>{owner, *key};
  }

  /// See Store.
  bool set_key_disabled(std::string_view user_id, const ObjectId& key_id, bool disabled) {
    std::lock_guard lock(mutex_);
    KeyRecord* key = find_key_locked(user_id, key_id);
    if (key == nullptr) return false;
    key->disabled = disabled;
    return true;
  }

  /// See Store.
  bool delete_key(std::string_view user_id, const ObjectId& key_id) {
    std::lock_guard lock(mutex_);
    KeyRecord* key = find_key_locked(user_id, key_id);
    if (key == nullptr) return false;
    key_hash_index_.erase(key->key_hash);
    key_owner_.erase(key->id.to_hex());
    auto& keys = users_.find(user_id)->second.keys;
    keys.erase(keys.begin() + (key - keys.data()));
    return true;
  }

  /// See Store.
  std::size_t count_keys(std::string_view user_id) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    return it == users_.end() ? 0 : it->second.keys.size();
  }

  /// See Store.
  std::uint64_t start_session(const SessionRecord& session, const std::vector<IssuedToken>& tokens,
                              std::size_t max_sessions, const UserRecord* new_user) {
    std::lock_guard lock(mutex_);
    if (new_user != nullptr) insert_user_locked(*new_user);
    while (max_sessions > 0 && sessions_.size() >= max_sessions) {
      end_sessions_locked({sessions_.begin()->first});  // ids grow: the first is the oldest
    }
    const std::uint64_t id = next_session_id_++;
    SessionRecord& stored = sessions_[id];
    stored = session;
    stored.id = id;
    for (const auto& token : tokens) {
      TokenRecord record = token.record;
      record.session_id = id;
      tokens_[token.hash] = record;
    }
    if (!session.key_id.empty()) {
      auto user = users_.find(session.user_id);
      if (user != users_.end()) {
        auto& seen = user->second.identities;
        if (std::find(seen.begin(), seen.end(), session.key_id) == seen.end()) {
          seen.push_back(session.key_id);
        }
      }
    }
    return id;
  }

  /// See Store.
  std::optional<SessionRecord> find_session(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    return it->second;
  }

  /// See Store.
  bool insert_token(std::string_view hash, const TokenRecord& record) {
    std::lock_guard lock(mutex_);
    if (sessions_.find(record.session_id) == sessions_.end()) return false;
    tokens_[std::string(hash)] = record;
    return true;
  }

  /// See Store.
  std::optional<TokenRecord> find_token(std::string_view hash) const {
    std::lock_guard lock(mutex_);
    auto it = tokens_.find(std::string(hash));
    if (it == tokens_.end()) return std::nullopt;
    return it->second;
  }

  /// See Store.
  std::optional<SessionRecord> find_live_session(std::string_view hash, TokenKind kind,
                                                 std::int64_t now) const {
    std::lock_guard lock(mutex_);
    const SessionRecord* session = live_session_locked(hash, kind, now);
    if (session == nullptr) return std::nullopt;
    return *session;
  }

  /// See Store.
  std::optional<SessionKey> find_live_session_key(std::string_view hash, TokenKind kind,
                                                  std::int64_t now, const ObjectId& key_id) const {
    std::lock_guard lock(mutex_);
    const SessionRecord* session = live_session_locked(hash, kind, now);
    if (session == nullptr) return std::nullopt;
    SessionKey found{*session, std::nullopt};
    if (const KeyRecord* key = find_key_locked(session->user_id, key_id)) found.key = *key;
    return found;
  }

  /// See Store.
  void end_session(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    end_sessions_locked({id});
  }

  /// See Store.
  void end_user_sessions(std::string_view user_id) {
    std::lock_guard lock(mutex_);
    end_sessions_locked(sessions_of_locked(user_id));
  }

  /// See Store.
  void end_expired(std::int64_t now) {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> expired;
    for (const auto& [id, session] : sessions_) {
      if (session.refresh_expires_at <= now) expired.push_back(id);
    }
    end_sessions_locked(expired);
    std::erase_if(tokens_, [&](const auto& entry) { return entry.second.expires_at <= now; });
  }

  /// See Store.
  void delete_tokens(TokenKind kind) {
    std::lock_guard lock(mutex_);
    std::erase_if(tokens_, [&](const auto& entry) { return entry.second.kind == kind; });
  }

  /// See Store.
  std::size_t count_sessions() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

  /// See Store.
  std::size_t count_user_sessions(std::string_view user_id) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(sessions_.begin(), sessions_.end(),
                      [&](const auto& entry) { return entry.second.user_id == user_id; }));
  }

  /// See Store.
  std::size_t count_tokens(TokenKind kind) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(tokens_.begin(), tokens_.end(),
                      [&](const auto& entry) { return entry.second.kind == kind; }));
  }

  /// See Store.
  std::string load_or_store_secret(std::string_view name, std::string candidate) {
    std::lock_guard lock(mutex_);
    return secrets_.try_emplace(std::string(name), std::move(candidate)).first->second;
  }

 private:
  struct UserData {
    UserRecord record;
    std::vector<KeyRecord> keys;          // creation order
    std::vector<std::string> identities;  // key ids ever used to log in
  };

  // Everything below is called with mutex_ held.

  bool insert_user_locked(const UserRecord& user) {
    if (!user.email.empty() && email_index_.find(user.email) != email_index_.end()) return false;
    if (!users_.try_emplace(user.id, UserData{user, {}, {}}).second) return false;
    if (!user.email.empty()) email_index_.emplace(user.email, user.id);
    return true;
  }

  /// find_live_session's checks: the token, its session and its user, all live.
  const SessionRecord* live_session_locked(std::string_view hash, TokenKind kind,
                                           std::int64_t now) const {
    auto token = tokens_.find(std::string(hash));
    if (token == tokens_.end() || token->second.kind != kind || token->second.expires_at <= now) {
      return nullptr;
    }
    auto session = sessions_.find(token->second.session_id);
    if (session == sessions_.end() || session->second.refresh_expires_at <= now) return nullptr;
    auto user = users_.find(session->second.user_id);
    if (user == users_.end() || user->second.record.disabled) return nullptr;
    return &session->second;
  }

  KeyRecord* find_key_locked(std::string_view user_id, const ObjectId& key_id) {
    auto owner = key_owner_.find(key_id.to_hex());
    if (owner == key_owner_.end() || owner->second != user_id) return nullptr;
    auto user = users_.find(user_id);
    if (user == users_.end()) return nullptr;
    for (auto& key : user->second.keys) {
      if (key.id == key_id) return &key;
    }
    return nullptr;
  }

  const KeyRecord* find_key_locked(std::string_view user_id, const ObjectId& key_id) const {
    return const_cast<MemoryStore*>(this)->find_key_locked(user_id, key_id);
  }

  std::vector<std::uint64_t> sessions_of_locked(std::string_view user_id) const {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, session] : sessions_) {
      if (session.user_id == user_id) ids.push_back(id);
    }
    return ids;
  }

  void end_sessions_locked(const std::vector<std::uint64_t>& ids) {
    if (ids.empty()) return;
    std::vector<std::string> anonymous_owners;
    for (auto id : ids) {
      auto session = sessions_.find(id);
      if (session == sessions_.end()) continue;
      anonymous_owners.push_back(session->second.user_id);
      sessions_.erase(session);
    }
    // One pass, linear in the tokens however many sessions ended (a sweep may end many).
    std::erase_if(tokens_, [&](const auto& entry) {
      return sessions_.find(entry.second.session_id) == sessions_.end();
    });
    for (const auto& user_id : anonymous_owners) remove_if_unreachable_anonymous(user_id);
  }

  void remove_if_unreachable_anonymous(const std::string& user_id) {
    auto user = users_.find(user_id);
    if (user == users_.end() || user->second.record.provider != "anon-user") return;
    if (!user->second.keys.empty()) return;
    for (const auto& [id, session] : sessions_) {
      if (session.user_id == user_id) return;
    }
    users_.erase(user);
  }

  mutable std::mutex mutex_;
  // Everything below is guarded by mutex_.
  std::map<std::string, UserData, std::less<>> users_;
  std::map<std::string, std::string, std::less<>> email_index_;  // email -> user id
  std::unordered_map<std::string, std::string> key_owner_;       // key id -> user id
  std::unordered_map<std::string, std::string> key_hash_index_;  // key hash -> key id
  std::map<std::uint64_t, SessionRecord> sessions_;
  std::unordered_map<std::string, TokenRecord> tokens_;  // token hash -> record
  std::uint64_t next_session_id_ = 1;
  std::map<std::string, std::string, std::less<>> secrets_;
};

static_assert(Store<MemoryStore>);

}  // namespace appkeys::testing::backend
