// Fuzzes detail::wire::parse_profile (GET /auth/profile, PROTOCOL.md §4).
//
// Input: the response body, as is.
// Checks: failures are malformed_response with a clean message, and happen only when
// nlohmann/json's own reading finds the profile invalid too; a success agrees with
// nlohmann/json's reading (user id, type, every identity in order) and survives a
// round trip through the serializer the fake backend answers with.
#include "fuzz_common.hpp"

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wire = appkeys::detail::wire;
using appkeys_fuzz::oracle_string;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = appkeys_fuzz::as_text(data, size);
  constexpr int status = 200;
  auto profile = wire::parse_profile(body, status);
  const auto oracle = appkeys_fuzz::oracle_parse(body);

  if (!profile) {
    appkeys_fuzz::check_error_is_clean(profile.error());
    APPKEYS_FUZZ_CHECK(profile.error().value() == appkeys::errc::malformed_response,
                       profile.error().what());
    APPKEYS_FUZZ_CHECK(profile.error().http_status() == status, profile.error().what());
    // Refused only for a reason the oracle sees too.
    bool valid = oracle && oracle_string(*oracle, "user_id") != nullptr;
    if (valid) {
      const auto identities = oracle->find("identities");
      valid = identities != oracle->end() && identities->is_array();
      if (valid) {
        for (const auto& identity : *identities) {
          if (oracle_string(identity, "id") == nullptr ||
              oracle_string(identity, "provider_type") == nullptr) {
            valid = false;
          }
        }
      }
    }
    APPKEYS_FUZZ_CHECK(!valid, body);
    return 0;
  }

  APPKEYS_FUZZ_CHECK(oracle && oracle->is_object(), body);
  const std::string* user_id = oracle_string(*oracle, "user_id");
  APPKEYS_FUZZ_CHECK(user_id != nullptr && *user_id == profile->user_id, body);
  const std::string* type = oracle_string(*oracle, "type");
  APPKEYS_FUZZ_CHECK(profile->type == (type ? *type : std::string()), body);
  const auto identities = oracle->find("identities");
  APPKEYS_FUZZ_CHECK(identities != oracle->end() && identities->is_array(), body);
  APPKEYS_FUZZ_CHECK(identities->size() == profile->identities.size(), body);
  for (std::size_t i = 0; i < profile->identities.size(); ++i) {
    const std::string* id = oracle_string((*identities)[i], "id");
    const std::string* provider = oracle_string((*identities)[i], "provider_type");
    APPKEYS_FUZZ_CHECK(id != nullptr && *id == profile->identities[i].id, body);
    APPKEYS_FUZZ_CHECK(provider != nullptr && *provider == profile->identities[i].provider_type,
                       body);
  }

  const std::string text = appkeys::detail::dump_json(
      wire::profile_json(profile->user_id, profile->identities, nlohmann::json::object()));
  auto again = wire::parse_profile(text, status);
  APPKEYS_FUZZ_CHECK(again.has_value(), text);
  APPKEYS_FUZZ_CHECK(again->user_id == profile->user_id, text);
  APPKEYS_FUZZ_CHECK(again->identities == profile->identities, text);
  return 0;
}
