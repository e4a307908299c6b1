// Fuzzes detail::wire::parse_api_key_list (the fetch-all response body).
//
// Input: the response body, as is.
// Checks: failures are malformed_response with a clean message, and happen only when
// nlohmann/json's own reading finds no array or an element that is not a valid key; a
// success is a JSON array (by that reading) with one key per element, in order, each
// agreeing with parse_api_key on that element, and the list survives a round trip.
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
  auto keys = wire::parse_api_key_list(body, "fetch API keys", status);
  const auto oracle = appkeys_fuzz::oracle_parse(body);

  if (!keys) {
    appkeys_fuzz::check_error_is_clean(keys.error());
    APPKEYS_FUZZ_CHECK(keys.error().value() == appkeys::errc::malformed_response,
                       keys.error().what());
    APPKEYS_FUZZ_CHECK(keys.error().http_status() == status, keys.error().what());
    // A list is refused only for a reason: not JSON, not an array, or a bad element.
    if (oracle && oracle->is_array()) {
      bool some_element_fails = false;
      for (const auto& item : *oracle) {
        if (!appkeys_fuzz::oracle_valid_key(item)) some_element_fails = true;
      }
      APPKEYS_FUZZ_CHECK(some_element_fails, body);
    }
    return 0;
  }

  APPKEYS_FUZZ_CHECK(oracle && oracle->is_array(), body);
  APPKEYS_FUZZ_CHECK(oracle->size() == keys->size(), body);
  nlohmann::json serialized = nlohmann::json::array();
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const appkeys::ApiKey& key = (*keys)[i];
    // Each element parses alone to the same key.
    const std::string element = appkeys::detail::dump_json((*oracle)[i]);
    auto single = wire::parse_api_key(element, "fetch API keys", status);
    APPKEYS_FUZZ_CHECK(single.has_value(), element);
    APPKEYS_FUZZ_CHECK(*single == key, element);
    std::optional<std::string_view> value;
    if (key.key) value = key.key->reveal();
    serialized.push_back(wire::api_key_json(key.id, key.name, key.disabled, value));
  }

  // Round trip of the whole list, in order.
  const std::string text = appkeys::detail::dump_json(serialized);
  auto again = wire::parse_api_key_list(text, "fetch API keys", status);
  APPKEYS_FUZZ_CHECK(again.has_value(), text);
  APPKEYS_FUZZ_CHECK(*again == *keys, text);
  return 0;
}
