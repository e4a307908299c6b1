// appkeys — reading the one claim the client needs from a JWT-shaped token.
//
// Compiled only where used: each function below that uses nlohmann/json is a template
// that names the JSON type Json<T> (see detail/json.hpp), so that a translation unit
// that includes this header but never calls it does not instantiate nlohmann/json's
// templates for it. Without that, every program that includes <appkeys/appkeys.hpp>
// pays for all of them.
#pragma once

#include <appkeys/detail/base64.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/json_reader.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace appkeys::detail {

/// The `exp` claim of a JWT, or nullopt if the token is not a JWT or has no numeric
/// exp. Tokens are otherwise opaque (PROTOCOL.md §4): no signature check happens here.
template <class T = void>
inline std::optional<dependent_t<T, std::chrono::system_clock::time_point>> jwt_expiry(
    std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto payload = base64url_decode<T>(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  static constexpr std::string_view names[] = {"exp"};
  JsonMember exp;
  JsonMembersReader<T> claims({names, &exp, 1});
  if (!claims.read(*payload) || claims.top_shape() != JsonMembersReader<T>::Shape::object) {
    return std::nullopt;
  }
  if (exp.numeric() == nullptr) return std::nullopt;
  const double seconds = *exp.numeric();
  if (!(seconds > 0 && seconds < 1e11)) return std::nullopt;  // also rejects NaN
  // system_clock may count in 64-bit nanoseconds, which end in the year 2262: a later
  // exp would overflow the conversion (found by fuzz_jwt), and means "never expires".
  using std::chrono::system_clock;
  constexpr auto clock_end =
      std::chrono::duration_cast<std::chrono::seconds>(system_clock::duration::max()).count();
  if (seconds >= static_cast<double>(clock_end)) return system_clock::time_point::max();
  return system_clock::time_point(std::chrono::seconds(static_cast<std::int64_t>(seconds)));
}

}  // namespace appkeys::detail
