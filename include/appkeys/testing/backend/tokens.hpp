// appkeys — HS256 JWTs: how the server rules sign and check the tokens they issue.
#pragma once

#include <appkeys/detail/base64.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/testing/backend/crypto.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace appkeys::testing::backend {

/// The claims the server puts in a token.
///
/// Thread safety: a value type.
struct TokenClaims {
  std::string subject;          ///< The user id (`sub`).
  std::string device_id;        ///< `baas_device_id`.
  std::string type;             ///< "access" or "refresh" (`typ`).
  std::int64_t issued_at = 0;   ///< `iat`, Unix seconds.
  std::int64_t expires_at = 0;  ///< `exp`, Unix seconds.
};

/// `header.payload.signature`, signed with HMAC-SHA256 under `key`. A random `jti`
/// makes every token unique, even two issued in the same second for the same session.
template <Crypto C>
std::string sign_jwt(const C& crypto, std::string_view key, const TokenClaims& claims) {
  using detail::json;
  const json header = {{"alg", "HS256"}, {"typ", "JWT"}};
  json payload = json::object();
  payload["baas_device_id"] = claims.device_id;
  payload["exp"] = claims.expires_at;
  payload["iat"] = claims.issued_at;
  payload["jti"] = detail::random_object_id().to_hex();
  payload["sub"] = claims.subject;
  payload["typ"] = claims.type;
  std::string token = detail::base64url_encode(detail::dump_json(header));
  token += '.';
  token += detail::base64url_encode(detail::dump_json(payload));
  const std::string signature = crypto.hmac_sha256(key, token);
  token += '.';
  token += detail::base64url_encode(signature);
  return token;
}

/// Whether `token` is three dot-separated parts whose signature is the HMAC-SHA256 of
/// the first two under `key`, compared in constant time. The claims are not read here:
/// the store decides whether the token is still valid.
template <Crypto C>
bool jwt_signature_valid(const C& crypto, std::string_view key, std::string_view token) {
  const std::size_t last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos || token.find('.') == last_dot) return false;
  const std::string_view signed_part = token.substr(0, last_dot);
  const std::string expected = detail::base64url_encode(crypto.hmac_sha256(key, signed_part));
  return crypto.equal(expected, token.substr(last_dot + 1));
}

}  // namespace appkeys::testing::backend
