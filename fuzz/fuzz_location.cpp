// Fuzzes detail::wire::parse_location (PROTOCOL.md §1): the one answer that decides
// where every later request, with its tokens, is sent.
//
// Input: the response body, as is.
// Checks: failures are malformed_response with a clean message; a success is exactly a
// hostname the oracle below calls an http(s) URL with a host, as nlohmann/json reads it,
// and survives a round trip through location_json (whose ws_hostname must swap the
// scheme, written in any case, and keep the rest).
#include "fuzz_common.hpp"

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wire = appkeys::detail::wire;

namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = text[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != prefix[i]) return false;
  }
  return true;
}

/// Length of the scheme and "://" when `url` starts with http:// or https:// in any
/// case, else 0.
std::size_t http_prefix(std::string_view url) {
  if (starts_with_nocase(url, "https://")) return 8;
  if (starts_with_nocase(url, "http://")) return 7;
  return 0;
}

/// The oracle, written apart from detail::split_url: an http(s) URL whose authority
/// (up to the first '/', '?' or '#') names a host: a non-empty IPv6 literal in
/// brackets, followed by nothing or ":port", or else a non-empty text before the last
/// ':'.
bool is_http_url_with_host(std::string_view url) {
  const std::size_t prefix = http_prefix(url);
  if (prefix == 0) return false;
  std::string_view authority = url.substr(prefix);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (!authority.empty() && authority[0] == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    return close + 1 == authority.size() || authority[close + 1] == ':';
  }
  const std::size_t colon = authority.rfind(':');
  return (colon == std::string_view::npos ? authority.size() : colon) > 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = appkeys_fuzz::as_text(data, size);
  constexpr int status = 200;
  auto location = wire::parse_location(body, status);
  const auto oracle = appkeys_fuzz::oracle_parse(body);
  const std::string* hostname = oracle ? appkeys_fuzz::oracle_string(*oracle, "hostname") : nullptr;
  const bool http = hostname != nullptr && is_http_url_with_host(*hostname);
  APPKEYS_FUZZ_CHECK(location.has_value() == http, body);

  if (!location) {
    appkeys_fuzz::check_error_is_clean(location.error());
    APPKEYS_FUZZ_CHECK(location.error().value() == appkeys::errc::malformed_response,
                       location.error().what());
    APPKEYS_FUZZ_CHECK(location.error().http_status() == status, location.error().what());
    return 0;
  }
  APPKEYS_FUZZ_CHECK(location->hostname == *hostname, body);

  const auto served = wire::location_json(location->hostname);
  const std::string text = appkeys::detail::dump_json(served);
  auto again = wire::parse_location(text, status);
  APPKEYS_FUZZ_CHECK(again.has_value() && again->hostname == location->hostname, text);
  const std::string ws = served["ws_hostname"].get<std::string>();
  const std::size_t prefix = http_prefix(location->hostname);
  const bool secure = prefix == 8;
  APPKEYS_FUZZ_CHECK(ws.rfind(secure ? "wss://" : "ws://", 0) == 0, ws);
  APPKEYS_FUZZ_CHECK(ws.substr(secure ? 6 : 5) == location->hostname.substr(prefix), ws);
  return 0;
}
