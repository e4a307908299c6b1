// Fuzzes detail::wire::parse_api_key (the create / fetch-one response body).
//
// Input: the response body, as is.
// Checks: failures are malformed_response with a clean message; a success agrees with
// nlohmann/json's own reading of the input, survives a round trip through the
// serializer the fake backend uses, and prints without its key value.
#include "fuzz_common.hpp"

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wire = appkeys::detail::wire;
using appkeys_fuzz::contains;
using appkeys_fuzz::marker;

namespace {

void check_same(const appkeys::ApiKey& a, const appkeys::ApiKey& b, std::string_view what) {
  APPKEYS_FUZZ_CHECK(a.id == b.id, what);
  APPKEYS_FUZZ_CHECK(a.name == b.name, what);
  APPKEYS_FUZZ_CHECK(a.disabled == b.disabled, what);
  APPKEYS_FUZZ_CHECK(a.key.has_value() == b.key.has_value(), what);
  if (a.key && b.key) APPKEYS_FUZZ_CHECK(a.key->reveal() == b.key->reveal(), what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = appkeys_fuzz::as_text(data, size);
  constexpr int status = 201;
  auto key = wire::parse_api_key(body, "create API key", status);
  const auto oracle = appkeys_fuzz::oracle_parse(body);

  if (!key) {
    appkeys_fuzz::check_error_is_clean(key.error());
    APPKEYS_FUZZ_CHECK(key.error().value() == appkeys::errc::malformed_response,
                       key.error().what());
    APPKEYS_FUZZ_CHECK(key.error().http_status() == status, key.error().what());
    // Refused only for a reason the oracle sees too (a create answer must also carry
    // a non-empty key value, which parse_api_key does not check).
    APPKEYS_FUZZ_CHECK(!(oracle && appkeys_fuzz::oracle_valid_key(*oracle)), body);
    return 0;
  }

  // The oracle: a JSON object whose fields are what the parser returned.
  APPKEYS_FUZZ_CHECK(oracle && oracle->is_object(), body);
  const std::string* id_text = appkeys_fuzz::oracle_string(*oracle, "_id");
  const std::string* name = appkeys_fuzz::oracle_string(*oracle, "name");
  APPKEYS_FUZZ_CHECK(id_text != nullptr && name != nullptr, body);
  APPKEYS_FUZZ_CHECK(key->id.to_hex().size() == 24, body);
  auto expected_id = appkeys::ObjectId::from_hex(*id_text);
  APPKEYS_FUZZ_CHECK(expected_id && *expected_id == key->id, body);
  APPKEYS_FUZZ_CHECK(*name == key->name, body);
  APPKEYS_FUZZ_CHECK(oracle->contains("disabled") && (*oracle)["disabled"].is_boolean() &&
                         (*oracle)["disabled"].get<bool>() == key->disabled,
                     body);
  const bool has_key = oracle->contains("key") && !(*oracle)["key"].is_null();
  APPKEYS_FUZZ_CHECK(has_key == key->key.has_value(), body);
  if (has_key) {
    APPKEYS_FUZZ_CHECK((*oracle)["key"].is_string() &&
                           (*oracle)["key"].get_ref<const std::string&>() == key->key->reveal(),
                       body);
  }

  // Round trip through the serializer the fake backend answers with.
  std::optional<std::string_view> value;
  if (key->key) value = key->key->reveal();
  const std::string text =
      appkeys::detail::dump_json(wire::api_key_json(key->id, key->name, key->disabled, value));
  auto again = wire::parse_api_key(text, "create API key", status);
  APPKEYS_FUZZ_CHECK(again.has_value(), text);
  check_same(*key, *again, text);

  // Printing shows "[redacted]" for the value: the text cannot depend on the value.
  const std::string shown = appkeys_fuzz::printed(*key);
  if (key->key) {
    appkeys::ApiKey other = *key;
    other.key.emplace("another value");
    APPKEYS_FUZZ_CHECK(appkeys_fuzz::printed(other) == shown, shown);
  }
  if (!contains(key->name, marker)) APPKEYS_FUZZ_CHECK(!contains(shown, marker), shown);
  return 0;
}
