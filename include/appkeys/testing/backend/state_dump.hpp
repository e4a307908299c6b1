// appkeys — a JSON view of everything a Store holds, for tests that prove no secret is
// kept in clear (FakeBackend::debug_dump).
#pragma once

#include <appkeys/detail/json.hpp>
#include <appkeys/testing/backend/records.hpp>
#include <appkeys/testing/backend/store.hpp>

#include <string>
#include <string_view>

namespace appkeys::testing::backend {

/// Users (id, provider, email, disabled, the password hash, identities), their keys (id,
/// name, disabled, key hash) and session counts, plus the store's session and token
/// counts. Not one atomic snapshot: each part is read in its own step.
template <Store S>
detail::json dump_store(const S& store) {
  using detail::json;
  json users = json::array();
  for (const UserRecord& user : store.list_users()) {
    json keys = json::array();
    for (const KeyRecord& key : store.list_keys(user.id)) {
      keys.push_back(json{{"_id", key.id.to_hex()},
                          {"name", key.name},
                          {"disabled", key.disabled},
                          {"key_sha256", key.key_hash}});
    }
    json identities = json::array();
    identities.push_back(json{{"id", user.identity_id}, {"provider_type", user.provider}});
    for (const auto& key_id : store.api_key_identities(user.id)) {
      identities.push_back(json{{"id", key_id}, {"provider_type", "api-key"}});
    }
    json entry = json::object();
    entry["id"] = user.id;
    entry["provider"] = user.provider;
    if (!user.email.empty()) entry["email"] = user.email;
    if (!user.password_hash.empty()) {
      // HeaderCrypto's "$sha256$salt$hash" as the two fields it always had; other
      // formats as they are.
      constexpr std::string_view prefix = "$sha256$";
      const std::string_view hash = user.password_hash;
      const std::size_t dollar = hash.find('$', prefix.size());
      if (hash.substr(0, prefix.size()) == prefix && dollar != std::string_view::npos) {
        entry["password_salt"] = std::string(hash.substr(prefix.size(), dollar - prefix.size()));
        entry["password_sha256"] = std::string(hash.substr(dollar + 1));
      } else {
        entry["password_hash"] = user.password_hash;
      }
    }
    entry["disabled"] = user.disabled;
    entry["identities"] = std::move(identities);
    entry["api_keys"] = std::move(keys);
    entry["sessions"] = store.count_user_sessions(user.id);
    users.push_back(std::move(entry));
  }
  json out = json::object();
  out["sessions"] = store.count_sessions();
  out["access_tokens"] = store.count_tokens(TokenKind::access);
  out["refresh_tokens"] = store.count_tokens(TokenKind::refresh);
  out["users"] = std::move(users);
  return out;
}

}  // namespace appkeys::testing::backend
