// appkeys — what the server rules read from a request besides its body's fields: the
// bearer token and the client's device id.
#pragma once

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/http.hpp>
#include <appkeys/object_id.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace appkeys::testing::backend::request_parts {

/// The token of an `Authorization: Bearer <token>` header (scheme in any case, spaces
/// around the token ignored); nullopt for a missing, empty or other-scheme header.
inline std::optional<std::string_view> bearer_token(const Headers& headers) {
  auto header = header_value(headers, "Authorization");
  if (!header) return std::nullopt;
  constexpr std::string_view scheme = "bearer ";
  if (header->size() <= scheme.size() ||
      !detail::iequals(header->substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  std::string_view token = header->substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

/// The `$oid` of `options.device.deviceId` when it is a usable id, else a new one: the
/// client sends back the id it was given, and the server keeps it.
inline std::string device_id_from(const detail::json& body) {
  namespace field = detail::wire::field;
  auto member = [](const detail::json* object, const char* name) -> const detail::json* {
    if (object == nullptr || !object->is_object()) return nullptr;
    auto it = object->find(name);
    return it == object->end() ? nullptr : &*it;
  };
  const detail::json* device_id =
      member(member(member(&body, field::options), field::device), "deviceId");
  if (device_id != nullptr) {
    if (const std::string* text = detail::string_member(*device_id, field::oid)) {
      if (auto id = ObjectId::from_hex(*text); id && !id->is_zero()) return id->to_hex();
    }
  }
  return detail::random_object_id().to_hex();
}

}  // namespace appkeys::testing::backend::request_parts
