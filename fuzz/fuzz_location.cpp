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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = appkeys_fuzz::as_text(data, size);
  constexpr int status = 200;
  auto location = wire::parse_location(body, status);
  const auto oracle = appkeys_fuzz::oracle_parse(body);
  const std::string* hostname = oracle ? appkeys_fuzz::oracle_string(*oracle, "hostname") : nullptr;
  const bool http = hostname != nullptr && appkeys_fuzz::is_http_url_with_host(*hostname);
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
  const std::size_t prefix = appkeys_fuzz::http_prefix(location->hostname);
  const bool secure = prefix == 8;
  APPKEYS_FUZZ_CHECK(ws.rfind(secure ? "wss://" : "ws://", 0) == 0, ws);
  APPKEYS_FUZZ_CHECK(ws.substr(secure ? 6 : 5) == location->hostname.substr(prefix), ws);
  return 0;
}
