// appkeys — the six API-key routes' rules (PROTOCOL.md §3, §6), for a caller already
// authenticated with a refresh token; BasicBackend routes to them.
#pragma once

#include <appkeys/credentials.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/sha256.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/testing/backend/options.hpp>
#include <appkeys/testing/backend/records.hpp>
#include <appkeys/testing/backend/responses.hpp>
#include <appkeys/testing/backend/store.hpp>
#include <appkeys/testing/backend/url.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

namespace appkeys::testing::backend::api_key_rules {

/// 404 APIKeyNotFound: an id that is not 24 hex, an unknown id and another user's id
/// are the same answer (§6).
inline HttpResponse key_not_found(std::string_view origin) {
  return responses::error(origin, 404, errc::api_key_not_found, "API key not found");
}

/// POST api_keys: checks the session's provider, the body and the name, then lets the
/// store check uniqueness and the per-user limit in one atomic step.
template <Store S>
HttpResponse create(S& store, const FakeBackendOptions& options, std::string_view origin,
                    const SessionRecord& session, std::string_view body_text) {
  if (session.provider == provider_name(AuthProvider::anonymous) ||
      session.provider == provider_name(AuthProvider::api_key)) {
    return responses::error(origin, 403, errc::invalid_parameter,
                            "API keys cannot be created by a user logged in with the '" +
                                session.provider + "' provider");
  }
  auto body = detail::parse_json(body_text);
  if (!body || !body->is_object()) {
    return responses::error(origin, 400, errc::bad_request, "request body must be a JSON object");
  }
  const std::string* name = detail::string_member(*body, detail::wire::field::name);
  if (name == nullptr || name->empty()) {
    // The hosted service sent this one without an error_code (PROTOCOL.md §6).
    return responses::json_response(400, detail::wire::error_json("'name' is a required string."));
  }
  if (!std::all_of(name->begin(), name->end(), fake_detail::is_key_name_char)) {
    return responses::error(origin, 400, errc::invalid_parameter,
                            "API key name can only contain ASCII letters, numbers, underscores, "
                            "and hyphens.");
  }
  if (name->size() > options.max_key_name_bytes) {
    return responses::error(origin, 400, errc::invalid_parameter,
                            "API key name must not be longer than " +
                                std::to_string(options.max_key_name_bytes) + " bytes");
  }
  KeyRecord key;
  key.id = detail::random_object_id();
  key.name = *name;
  std::string value = detail::random_token_chars(64);
  key.key_hash = detail::sha256_hex(value);
  HttpResponse response;
  switch (store.create_key(session.user_id, key, options.max_keys_per_user)) {
    case CreateKeyOutcome::created:
      response =
          responses::json_response(201, detail::wire::api_key_json(key.id, key.name, false, value));
      break;
    case CreateKeyOutcome::name_taken:
      response = responses::error(origin, 409, errc::api_key_already_exists,
                                  "API key with name already exists");
      break;
    case CreateKeyOutcome::limit_reached:
      response = responses::error(
          origin, 400, errc::invalid_parameter,
          "a user can have at most " + std::to_string(options.max_keys_per_user) + " API keys");
      break;
    case CreateKeyOutcome::no_such_user:
      response = responses::error(origin, 401, errc::invalid_session, "invalid session");
      break;
  }
  fake_detail::wipe(value);
  return response;
}

/// GET api_keys: the caller's keys in creation order, never their values.
template <Store S>
HttpResponse list(const S& store, const SessionRecord& session) {
  detail::json list = detail::json::array();
  for (const auto& key : store.list_keys(session.user_id)) {
    list.push_back(detail::wire::api_key_json(key.id, key.name, key.disabled));
  }
  return responses::json_response(200, list);
}

/// GET api_keys/\<id\>, given the caller's key with that id if it has one (an id that
/// is not 24 hex has none). BasicBackend reads the key with the session, in one store
/// call (Store::find_live_session_key).
inline HttpResponse fetch(std::string_view origin, const std::optional<KeyRecord>& key) {
  if (!key) return key_not_found(origin);
  return responses::json_response(200,
                                  detail::wire::api_key_json(key->id, key->name, key->disabled));
}

/// PUT api_keys/\<id\>/enable|disable: idempotent, the same state again succeeds (§6).
template <Store S>
HttpResponse set_disabled(S& store, std::string_view origin, const SessionRecord& session,
                          std::string_view id_text, bool disabled) {
  auto id = ObjectId::from_hex(id_text);
  if (!id || !store.set_key_disabled(session.user_id, *id, disabled)) return key_not_found(origin);
  return responses::no_content();
}

/// DELETE api_keys/\<id\>: permanent; the key can never log in again.
template <Store S>
HttpResponse remove(S& store, std::string_view origin, const SessionRecord& session,
                    std::string_view id_text) {
  auto id = ObjectId::from_hex(id_text);
  if (!id || !store.delete_key(session.user_id, *id)) return key_not_found(origin);
  return responses::no_content();
}

}  // namespace appkeys::testing::backend::api_key_rules
