// Fuzzes detail::jwt_expiry and detail::base64url_decode / base64url_encode: the client
// reads `exp` out of every access token a server hands it (PROTOCOL.md §4).
//
// Input: used three ways: as base64url text; as a whole token; and as the claims JSON
// of a token built around it ("header." + base64url(input) + ".signature").
// Checks: decode accepts exactly the documented alphabet and lengths and yields
// floor(6n/8) bytes; encode/decode round-trip any bytes; jwt_expiry returns exactly
// the `exp` that nlohmann/json reads from the claims when it is a number in
// (0, 1e11) seconds (or, past the end of system_clock, nothing or that end), and
// nothing otherwise. These functions return optionals, not
// AppErrors, so there is no message that could leak the marker.
#include "fuzz_common.hpp"

#include <appkeys/detail/base64.hpp>
#include <appkeys/detail/jwt.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace detail = appkeys::detail;

namespace {

bool in_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '+' || c == '/';
}

void check_decode(std::string_view text) {
  auto decoded = detail::base64url_decode(text);
  std::string_view stripped = text;
  while (!stripped.empty() && stripped.back() == '=') stripped.remove_suffix(1);
  bool valid = stripped.size() % 4 != 1;
  for (char c : stripped) valid = valid && in_alphabet(c);
  APPKEYS_FUZZ_CHECK(decoded.has_value() == valid, text);
  if (!decoded) return;
  APPKEYS_FUZZ_CHECK(decoded->size() == stripped.size() * 6 / 8, text);
  auto again = detail::base64url_decode(detail::base64url_encode(*decoded));
  APPKEYS_FUZZ_CHECK(again && *again == *decoded, text);
}

void check_round_trip(std::string_view bytes) {
  const std::string encoded = detail::base64url_encode(bytes);
  APPKEYS_FUZZ_CHECK(encoded.size() == (bytes.size() * 8 + 5) / 6, encoded);
  for (char c : encoded) {
    APPKEYS_FUZZ_CHECK(in_alphabet(c) && c != '+' && c != '/', encoded);
  }
  auto decoded = detail::base64url_decode(encoded);
  APPKEYS_FUZZ_CHECK(decoded && *decoded == bytes, encoded);
}

/// What jwt_expiry must answer for a token whose payload segment decodes to `claims`:
/// nullopt, or an exp in (0, 1e11) seconds, truncated.
std::optional<std::int64_t> expected_exp(const std::optional<std::string>& claims) {
  if (!claims) return std::nullopt;
  auto value = appkeys_fuzz::oracle_parse(*claims);
  if (!value || !value->is_object()) return std::nullopt;
  auto it = value->find("exp");
  if (it == value->end() || !it->is_number()) return std::nullopt;
  const double seconds = it->get<double>();
  if (!(seconds > 0 && seconds < 1e11)) return std::nullopt;
  return static_cast<std::int64_t>(seconds);
}

void check_expiry(std::string_view token) {
  std::optional<std::string> claims;
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second != std::string_view::npos) {
    claims = detail::base64url_decode(token.substr(first + 1, second - first - 1));
  }
  const auto expected = expected_exp(claims);
  const auto expiry = detail::jwt_expiry(token);
  if (!expected) {
    APPKEYS_FUZZ_CHECK(!expiry.has_value(), token);
    return;
  }
  // system_clock counts nanoseconds in an int64 with libstdc++: it ends in 2262, at
  // 9223372036 s. An exp beyond that cannot be represented; either answer (none, or a
  // time at the clock's end) is acceptable there, a wrapped-around one is not.
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  using std::chrono::system_clock;
  const std::int64_t clock_end = duration_cast<seconds>(system_clock::duration::max()).count();
  if (*expected >= clock_end) {
    if (expiry) {
      APPKEYS_FUZZ_CHECK(
          duration_cast<seconds>(expiry->time_since_epoch()).count() >= clock_end - 1, token);
    }
    return;
  }
  APPKEYS_FUZZ_CHECK(expiry.has_value(), token);
  APPKEYS_FUZZ_CHECK(duration_cast<seconds>(expiry->time_since_epoch()).count() == *expected,
                     token);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = appkeys_fuzz::as_text(data, size);
  check_decode(input);
  check_round_trip(input);
  check_expiry(input);
  std::string token = "eyJhbGciOiJIUzI1NiJ9.";
  token += detail::base64url_encode(input);
  token += ".c2lnbmF0dXJl";
  check_expiry(token);
  return 0;
}
