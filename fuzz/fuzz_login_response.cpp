// Fuzzes detail::wire::parse_login_response (PROTOCOL.md §4) and, on the same bytes,
// parse_refresh_response: both read tokens out of a body.
//
// Input: the response body, as is.
// Checks: failures are malformed_response with a clean message (no token, no marker);
// a success agrees with nlohmann/json's reading of the input: non-empty tokens and user
// id, a device id that is 24 hex and not all zero or else empty; tokens print redacted.
#include "fuzz_common.hpp"

#include <appkeys/detail/wire.hpp>
#include <appkeys/object_id.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wire = appkeys::detail::wire;
using appkeys_fuzz::oracle_string;

namespace {

void check_failure(const appkeys::AppError& error, int status) {
  appkeys_fuzz::check_error_is_clean(error);
  APPKEYS_FUZZ_CHECK(error.value() == appkeys::errc::malformed_response, error.what());
  APPKEYS_FUZZ_CHECK(error.http_status() == status, error.what());
}

bool non_empty_string(const nlohmann::json& value, const char* name) {
  const std::string* text = oracle_string(value, name);
  return text != nullptr && !text->empty();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = appkeys_fuzz::as_text(data, size);
  constexpr int status = 200;
  const auto oracle = appkeys_fuzz::oracle_parse(body);

  auto login = wire::parse_login_response(body, status);
  const bool expect_login = oracle && non_empty_string(*oracle, "access_token") &&
                            non_empty_string(*oracle, "refresh_token") &&
                            non_empty_string(*oracle, "user_id");
  APPKEYS_FUZZ_CHECK(login.has_value() == expect_login, body);
  if (!login) {
    check_failure(login.error(), status);
  } else {
    APPKEYS_FUZZ_CHECK(login->access_token.reveal() == *oracle_string(*oracle, "access_token"),
                       body);
    APPKEYS_FUZZ_CHECK(login->refresh_token.reveal() == *oracle_string(*oracle, "refresh_token"),
                       body);
    APPKEYS_FUZZ_CHECK(login->user_id == *oracle_string(*oracle, "user_id"), body);
    const std::string* device = oracle_string(*oracle, "device_id");
    const bool usable_device = device != nullptr && appkeys::ObjectId::is_valid_hex(*device) &&
                               *device != std::string(24, '0');
    APPKEYS_FUZZ_CHECK(login->device_id == (usable_device ? *device : std::string()), body);
    APPKEYS_FUZZ_CHECK(appkeys_fuzz::printed(login->access_token) == "[redacted]", body);
    APPKEYS_FUZZ_CHECK(appkeys_fuzz::printed(login->refresh_token) == "[redacted]", body);
  }

  auto refresh = wire::parse_refresh_response(body, 201);
  APPKEYS_FUZZ_CHECK(refresh.has_value() == (oracle && non_empty_string(*oracle, "access_token")),
                     body);
  if (!refresh) {
    check_failure(refresh.error(), 201);
  } else {
    APPKEYS_FUZZ_CHECK(refresh->reveal() == *oracle_string(*oracle, "access_token"), body);
  }
  return 0;
}
