// appkeys — the protocol's JSON shapes (PROTOCOL.md §3–§5), written once: the field
// names, and the answers. The request bodies the client sends are in wire_requests.hpp.
//
// The client parses with these functions and the fake backend serializes with them,
// so the two cannot drift apart. Parsers are strict and never throw: a missing
// field, a wrong type or a non-JSON body is errc::malformed_response, and no message
// ever quotes a body (a body may hold a key value or a token).
//
// Compiled only where used: each function below that uses nlohmann/json is a template
// that names the JSON type Json<T> (see detail/json.hpp), so that a translation unit
// that includes this header but never calls it does not instantiate nlohmann/json's
// templates for it. Without that, every program that includes <appkeys/appkeys.hpp>
// pays for all of them.
#pragma once

#include <appkeys/api_key.hpp>
#include <appkeys/app_config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/json_reader.hpp>
#include <appkeys/detail/url.hpp>
#include <appkeys/error.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/result.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/user.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appkeys::detail::wire {

// Field names.
namespace field {
inline constexpr const char* id = "_id";
inline constexpr const char* name = "name";
inline constexpr const char* disabled = "disabled";
inline constexpr const char* key = "key";
inline constexpr const char* access_token = "access_token";
inline constexpr const char* refresh_token = "refresh_token";
inline constexpr const char* user_id = "user_id";
inline constexpr const char* device_id = "device_id";
inline constexpr const char* username = "username";
inline constexpr const char* email = "email";
inline constexpr const char* password = "password";
inline constexpr const char* options = "options";
inline constexpr const char* device = "device";
inline constexpr const char* oid = "$oid";
inline constexpr const char* hostname = "hostname";
inline constexpr const char* ws_hostname = "ws_hostname";
inline constexpr const char* deployment_model = "deployment_model";
inline constexpr const char* location = "location";
inline constexpr const char* type = "type";
inline constexpr const char* identities = "identities";
inline constexpr const char* provider_type = "provider_type";
inline constexpr const char* data = "data";
inline constexpr const char* error = "error";
inline constexpr const char* error_code = "error_code";
inline constexpr const char* link = "link";
}  // namespace field

template <class = void>  // compiled only where used: see detail/dependent.hpp
inline AppError malformed(std::string_view what_response, std::string_view problem, int status) {
  std::string message = "malformed response to ";
  message += what_response;
  message += ": ";
  message += problem;
  return AppError(errc::malformed_response, std::move(message), status);
}

// ---------------------------------------------------------------------------------
// API keys (§3)

/// The server's description of a key; `key` only on the create response.
template <class T = void>
inline Json<T> api_key_json(const ObjectId& id, std::string_view name, bool disabled,
                            std::optional<dependent_t<T, std::string_view>> key = std::nullopt) {
  Json<T> out = Json<T>::object();
  out[field::id] = id.to_hex();
  if (key) out[field::key] = std::string(*key);
  out[field::name] = std::string(name);
  out[field::disabled] = disabled;
  return out;
}

/// The members an API key object is read for; api_key_from_members reads them in this
/// order.
inline constexpr std::string_view api_key_members[] = {"_id", "name", "disabled", "key"};

/// The rules of PROTOCOL.md §3 for one key object, and their messages, written once
/// for a single key and for each element of a list: `members` holds what the members
/// named by api_key_members held; `is_object`, whether the value was an object.
template <class T = void>
inline Result<dependent_t<T, ApiKey>> api_key_from_members(const JsonMember* members,
                                                           bool is_object, std::string_view context,
                                                           int status) {
  const std::string* id_text = members[0].string();
  const std::string* name = members[1].string();
  const bool* disabled = members[2].boolean();
  const JsonMember& key_value = members[3];
  if (!is_object) return malformed(context, "an API key is not a JSON object", status);
  if (id_text == nullptr) return malformed(context, "'_id' is missing or not a string", status);
  auto id = ObjectId::from_hex(*id_text);
  if (!id) return malformed(context, "'_id' is not 24 hex characters", status);
  if (name == nullptr) return malformed(context, "'name' is missing or not a string", status);
  if (disabled == nullptr) {
    return malformed(context, "'disabled' is missing or not a boolean", status);
  }
  // "key" may be absent or null (no value) or a string; anything else is refused.
  if (key_value.kind != JsonMember::Kind::absent && key_value.kind != JsonMember::Kind::null &&
      key_value.kind != JsonMember::Kind::string) {
    return malformed(context, "'key' is not a string", status);
  }
  ApiKey key{*id, *name, *disabled, std::nullopt};
  if (const std::string* value = key_value.string()) key.key.emplace(*value);
  return key;
}

/// One API key (a create or fetch answer).
template <class T = void>
inline Result<dependent_t<T, ApiKey>> parse_api_key(std::string_view body, std::string_view context,
                                                    int status) {
  JsonMember members[std::size(api_key_members)];
  JsonMembersReader<T> reader({api_key_members, members, std::size(members)});
  if (!reader.read(body)) return malformed(context, "body is not valid JSON", status);
  const bool is_object = reader.top_shape() == JsonMembersReader<T>::Shape::object;
  return api_key_from_members<T>(members, is_object, context, status);
}

/// A key list (a fetch-all answer): a JSON array of key objects, each read as it is
/// parsed; the first element that breaks the rules is the error.
template <class T = void>
inline Result<std::vector<dependent_t<T, ApiKey>>> parse_api_key_list(std::string_view body,
                                                                      std::string_view context,
                                                                      int status) {
  struct List {
    std::string_view context;
    int status;
    std::vector<dependent_t<T, ApiKey>> keys;
    Result<void> elements_ok;  // the first bad element's error, once there is one

    static void begin(void* self) { static_cast<List*>(self)->keys.clear(); }
    static void element(void* self, bool is_object, const JsonFields& fields) {
      auto& list = *static_cast<List*>(self);
      if (!list.elements_ok) return;
      auto key = api_key_from_members<T>(fields.members, is_object, list.context, list.status);
      if (!key) {
        list.elements_ok = std::move(key).error();
        return;
      }
      list.keys.push_back(std::move(*key));
    }
  } list{context, status, {}, {}};
  JsonMember members[std::size(api_key_members)];
  JsonMembersReader<T> reader(JsonFields{});
  reader.read_list({}, {api_key_members, members, std::size(members)},
                   {&list, &List::begin, &List::element});
  if (!reader.read(body)) return malformed(context, "body is not valid JSON", status);
  if (reader.top_shape() != JsonMembersReader<T>::Shape::array) {
    return malformed(context, "body is not a JSON array", status);
  }
  if (!list.elements_ok) return std::move(list.elements_ok).error();
  return std::move(list.keys);
}

/// Whether any of `keys` came with its value, i.e. whether the body that held them
/// must be wiped (a list or a fetch normally has none, and wiping a 100,000-key list
/// costs time for nothing). A template, its parameter's type dependent, only so that it
/// is compiled where a call is made (see detail/dependent.hpp).
template <class V = void>
bool any_key_value(const std::vector<dependent_t<V, ApiKey>>& keys) noexcept {
  for (const auto& key : keys) {
    if (key.key) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------
// Location (§1)

struct Location {
  std::string hostname;
};

template <class T = void>
inline Json<T> location_json(std::string_view hostname) {
  Json<T> out = Json<T>::object();
  out[field::deployment_model] = "GLOBAL";
  out[field::hostname] = std::string(hostname);
  out[field::location] = "US-VA";
  // The scheme may be written in any case (split_url accepts "HTTPS://"); the rest is
  // kept as written.
  std::string ws(hostname);
  if (const UrlSplit url = split_url(hostname)) {
    ws = std::string(url.parts.https ? "wss" : "ws") + ws.substr(url.parts.scheme.size());
  }
  out[field::ws_hostname] = ws;
  return out;
}

template <class T = void>
inline Result<dependent_t<T, Location>> parse_location(std::string_view body, int status) {
  constexpr std::string_view context = "location request";
  static constexpr std::string_view names[] = {"hostname"};
  JsonMember hostname_member;
  JsonMembersReader<T> reader({names, &hostname_member, 1});
  if (!reader.read(body)) return malformed(context, "body is not valid JSON", status);
  const std::string* hostname = hostname_member.string();
  if (hostname == nullptr) {
    return malformed(context, "'hostname' is missing or not a string", status);
  }
  if (!split_url(*hostname)) {
    return malformed(context, "'hostname' is not an http(s) URL", status);
  }
  return Location{*hostname};
}

// ---------------------------------------------------------------------------------
// Logins and sessions (§4)

struct LoginResponse {
  Secret access_token;
  Secret refresh_token;
  std::string user_id;
  std::string device_id;
};

template <class T = void>
inline Json<T> login_response_json(std::string_view access_token, std::string_view refresh_token,
                                   std::string_view user_id, std::string_view device_id) {
  Json<T> out = Json<T>::object();
  out[field::access_token] = std::string(access_token);
  out[field::device_id] = std::string(device_id);
  out[field::refresh_token] = std::string(refresh_token);
  out[field::user_id] = std::string(user_id);
  return out;
}

template <class T = void>
inline Result<dependent_t<T, LoginResponse>> parse_login_response(std::string_view body,
                                                                  int status) {
  constexpr std::string_view context = "log in";
  static constexpr std::string_view names[] = {"access_token", "refresh_token", "user_id",
                                               "device_id"};
  JsonMember members[std::size(names)];
  JsonMembersReader<T> reader({names, members, std::size(members)});
  if (!reader.read(body)) return malformed(context, "body is not valid JSON", status);
  const std::string* access = members[0].string();
  const std::string* refresh = members[1].string();
  const std::string* user_id = members[2].string();
  if (access == nullptr || access->empty()) {
    return malformed(context, "'access_token' is missing or not a string", status);
  }
  if (refresh == nullptr || refresh->empty()) {
    return malformed(context, "'refresh_token' is missing or not a string", status);
  }
  if (user_id == nullptr || user_id->empty()) {
    return malformed(context, "'user_id' is missing or not a string", status);
  }
  LoginResponse out{Secret(*access), Secret(*refresh), *user_id, {}};
  // device_id is optional in practice (older servers omit it); a zero id means none.
  if (const std::string* device = members[3].string();
      device != nullptr && ObjectId::is_valid_hex(*device) && *device != std::string(24, '0')) {
    out.device_id = *device;
  }
  return out;
}

template <class T = void>
inline Json<T> refresh_response_json(std::string_view access_token) {
  return Json<T>{{field::access_token, std::string(access_token)}};
}

template <class T = void>
inline Result<dependent_t<T, Secret>> parse_refresh_response(std::string_view body, int status) {
  constexpr std::string_view context = "access token refresh";
  static constexpr std::string_view names[] = {"access_token"};
  JsonMember access_member;
  JsonMembersReader<T> reader({names, &access_member, 1});
  if (!reader.read(body)) return malformed(context, "body is not valid JSON", status);
  const std::string* access = access_member.string();
  if (access == nullptr || access->empty()) {
    return malformed(context, "'access_token' is missing or not a string", status);
  }
  return Secret(*access);
}

struct Profile {
  std::string user_id;
  std::string type;
  std::vector<UserIdentity> identities;
};

template <class T = void>
inline Json<T> profile_json(std::string_view user_id, const std::vector<UserIdentity>& identities,
                            const Json<T>& data) {
  Json<T> list = Json<T>::array();
  for (const auto& identity : identities) {
    list.push_back(Json<T>{{"id", identity.id}, {field::provider_type, identity.provider_type}});
  }
  Json<T> out = Json<T>::object();
  out[field::data] = data;
  out[field::identities] = std::move(list);
  out[field::type] = "normal";
  out[field::user_id] = std::string(user_id);
  return out;
}

template <class T = void>
inline Result<dependent_t<T, Profile>> parse_profile(std::string_view body, int status) {
  constexpr std::string_view context = "profile request";
  static constexpr std::string_view names[] = {"user_id", "type"};
  static constexpr std::string_view identity_names[] = {"id", "provider_type"};
  struct Identities {
    std::vector<UserIdentity> list;
    bool all_valid = true;

    static void begin(void* self) {
      auto& identities = *static_cast<Identities*>(self);
      identities.list.clear();
      identities.all_valid = true;
    }
    static void element(void* self, bool is_object, const JsonFields& fields) {
      auto& identities = *static_cast<Identities*>(self);
      const std::string* id = fields.members[0].string();
      const std::string* provider = fields.members[1].string();
      if (!is_object || id == nullptr || provider == nullptr) identities.all_valid = false;
      if (identities.all_valid) identities.list.push_back(UserIdentity{*id, *provider});
    }
  } identities;
  JsonMember members[std::size(names)];
  JsonMember identity[std::size(identity_names)];
  JsonMembersReader<T> reader({names, members, std::size(members)});
  reader.read_list(field::identities, {identity_names, identity, std::size(identity)},
                   {&identities, &Identities::begin, &Identities::element});
  if (!reader.read(body)) return malformed(context, "body is not valid JSON", status);
  const std::string* user_id = members[0].string();
  if (user_id == nullptr) return malformed(context, "'user_id' is missing or not a string", status);
  Profile profile{*user_id, {}, {}};
  if (const std::string* type = members[1].string()) profile.type = *type;
  if (reader.list_shape() != JsonMembersReader<T>::Shape::array) {
    return malformed(context, "'identities' is missing or not an array", status);
  }
  if (!identities.all_valid) {
    return malformed(context, "an identity lacks a string 'id' or 'provider_type'", status);
  }
  profile.identities = std::move(identities.list);
  return profile;
}

// ---------------------------------------------------------------------------------
// Errors (§5)

template <class T = void>
inline Json<T> error_json(std::string_view message, std::string_view code = {},
                          std::string_view link = {}) {
  Json<T> out = Json<T>::object();
  out[field::error] = std::string(message);
  if (!code.empty()) out[field::error_code] = std::string(code);
  if (!link.empty()) out[field::link] = std::string(link);
  return out;
}

}  // namespace appkeys::detail::wire
