// Fuzzes detail/json_writer.hpp and the request bodies written with it (wire_requests.hpp's
// create_key_body, device_json, login_body, register_body).
//
// Input: arbitrary bytes. The whole input is one string; for the bodies, the first
// byte says where to cut the rest into two strings (an email or a name, and a password,
// key or device field).
// Checks: append_json_string writes exactly what nlohmann/json's
// dump(-1, ' ', false, error_handler_t::replace) writes, within json_string_bound;
// nlohmann/json parses it back strictly to a string that is the input when the input
// is UTF-8 (and that writes back to the same text either way); each body is the text of
// the nlohmann/json document the client used to build, parses back strictly, and never
// outgrew the room it reserved before its secret.
#include "../tests/support/request_bodies_reference.hpp"
#include "fuzz_common.hpp"

#include <appkeys/credentials.hpp>
#include <appkeys/detail/json_writer.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/detail/wire_requests.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace wire = appkeys::detail::wire;
using json = nlohmann::json;
namespace reference = request_bodies_reference;
using reference::dump;
using reference::written;

/// nlohmann/json's strict reading of `text` (no comments, nothing after the value).
json parse_strict(std::string_view text) {
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false,
                           /*ignore_comments=*/false);
  APPKEYS_FUZZ_CHECK(!value.is_discarded(), text);
  return value;
}

/// Whether `text` is UTF-8: nlohmann/json's strict dump throws on anything else.
bool is_utf8(std::string_view text) {
  try {
    (void)json(std::string(text)).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

std::size_t reserved_capacity(std::size_t size) {
  std::string probe;
  probe.reserve(size);
  return probe.capacity();
}

void check_string(std::string_view text) {
  const std::string out = written(text);
  APPKEYS_FUZZ_CHECK(out == dump(json(std::string(text))), out);
  APPKEYS_FUZZ_CHECK(out.size() <= appkeys::detail::json_string_bound(text.size()), out);
  const json back = parse_strict(out);
  APPKEYS_FUZZ_CHECK(back.is_string(), out);
  const auto& value = back.get_ref<const std::string&>();
  if (is_utf8(text)) APPKEYS_FUZZ_CHECK(value == text, out);
  APPKEYS_FUZZ_CHECK(written(value) == out, out);
}

void check_body(const std::string& body, const json& expected) {
  APPKEYS_FUZZ_CHECK(body == dump(expected), body);
  APPKEYS_FUZZ_CHECK(parse_strict(body).is_object(), body);
}

void check_bodies(std::string_view first, std::string_view second) {
  check_body(wire::create_key_body(first), reference::create_key(first));

  appkeys::DeviceInfo device;
  device.platform = std::string(first);
  device.device_name = std::string(second);
  device.framework_version = std::string(first);
  const std::string device_id(second);
  const std::string device_text = wire::device_json(device, first, device_id);
  const json device_doc = reference::device(device, first, device_id);
  check_body(device_text, device_doc);

  for (const auto& credentials :
       {appkeys::Credentials::email_password(first, second), appkeys::Credentials::api_key(second),
        appkeys::Credentials::anonymous()}) {
    const std::string body = wire::login_body(credentials, device_text);
    check_body(body, reference::login(credentials, device_doc));
    const std::size_t bound = wire::login_body_bound(credentials, device_text);
    APPKEYS_FUZZ_CHECK(body.size() <= bound, body);
    APPKEYS_FUZZ_CHECK(body.capacity() == reserved_capacity(bound), body);
  }

  const std::string body = wire::register_body(first, second);
  check_body(body, reference::register_email(first, second));
  const std::size_t bound = wire::register_body_bound(first, second);
  APPKEYS_FUZZ_CHECK(body.size() <= bound, body);
  APPKEYS_FUZZ_CHECK(body.capacity() == reserved_capacity(bound), body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = appkeys_fuzz::as_text(data, size);
  check_string(text);
  if (!text.empty()) {
    const std::string_view rest = text.substr(1);
    const std::size_t cut = static_cast<unsigned char>(text[0]) % (rest.size() + 1);
    check_bodies(rest.substr(0, cut), rest.substr(cut));
  }
  return 0;
}
