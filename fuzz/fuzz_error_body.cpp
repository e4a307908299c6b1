// Fuzzes detail::error_from_response (PROTOCOL.md §5), the one place where text the
// server chose reaches an exception message.
//
// Input: the response body, as is. Each input is tried with JSON content types
// (several spellings) and non-JSON ones, under a status derived from the input's hash
// and under a few fixed statuses.
// Checks: the realm-core mapping, predicted independently from nlohmann/json's reading
// of the body; status kept; messages, codes and links printable and bounded; the
// marker reaches what() only through the `error` or `error_code` field (which the
// protocol says are shown), never from any other field.
#include "fuzz_common.hpp"

#include <appkeys/detail/error_mapping.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using appkeys::errc;
using appkeys_fuzz::contains;
using appkeys_fuzz::marker;

namespace {

bool printable(std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

/// The mapping PROTOCOL.md §5 describes, from the oracle's reading of the body.
struct Expected {
  errc code = errc::http_error;
  const std::string* error = nullptr;
  const std::string* error_code = nullptr;
  const std::string* link = nullptr;
};

Expected expect(const std::optional<nlohmann::json>& body, bool json_type) {
  Expected out;
  if (!json_type || !body || !body->is_object()) return out;
  out.error = appkeys_fuzz::oracle_string(*body, "error");
  out.error_code = appkeys_fuzz::oracle_string(*body, "error_code");
  out.link = appkeys_fuzz::oracle_string(*body, "link");
  if (out.error_code != nullptr && !out.error_code->empty()) {
    out.code =
        appkeys::detail::errc_from_server_code(*out.error_code).value_or(errc::app_server_error);
  } else if (out.error != nullptr) {
    out.code = errc::app_unknown_error;
  }
  return out;
}

void check_one(std::string_view body, const std::optional<nlohmann::json>& oracle, int status,
               const char* content_type, bool json_type) {
  appkeys::HttpResponse response;
  response.status = status;
  if (content_type != nullptr) response.headers.emplace("Content-Type", content_type);
  response.body = std::string(body);
  const appkeys::AppError error = appkeys::detail::error_from_response(response, "fetch API key");
  const std::string_view what = error.what();

  // Bounded and printable: message ≤ 512 + "...", code ≤ 128 + "...", link ≤ 2048 + "...".
  APPKEYS_FUZZ_CHECK(printable(what), what);
  APPKEYS_FUZZ_CHECK(what.size() <= 1024, what);
  APPKEYS_FUZZ_CHECK(printable(error.server_code()) && error.server_code().size() <= 131, what);
  APPKEYS_FUZZ_CHECK(printable(error.link()) && error.link().size() <= 2051, what);
  APPKEYS_FUZZ_CHECK(&error.code().category() == &appkeys::app_category(), what);
  APPKEYS_FUZZ_CHECK(error.http_status() == status, what);

  const Expected expected = expect(oracle, json_type);
  APPKEYS_FUZZ_CHECK(error.value() == expected.code, what);
  if (expected.code == errc::http_error) {
    APPKEYS_FUZZ_CHECK(error.server_code().empty() && error.link().empty(), what);
    APPKEYS_FUZZ_CHECK(contains(what, "HTTP status " + std::to_string(status)), what);
  }
  if (expected.code != errc::http_error && expected.code != errc::app_unknown_error) {
    APPKEYS_FUZZ_CHECK(!error.server_code().empty(), what);
    // Kept as received (when short and printable, it is the very string).
    if (expected.error_code->size() <= 128 && printable(*expected.error_code)) {
      APPKEYS_FUZZ_CHECK(error.server_code() == *expected.error_code, what);
    }
  }
  if (expected.code != errc::http_error && expected.link != nullptr &&
      expected.link->size() <= 2048 && printable(*expected.link)) {
    APPKEYS_FUZZ_CHECK(error.link() == *expected.link, what);
  }

  // The marker may only come through the fields that are shown on purpose.
  const bool shown_field_has_marker =
      expected.code != errc::http_error &&
      ((expected.error != nullptr && contains(*expected.error, marker)) ||
       (expected.error_code != nullptr && contains(*expected.error_code, marker)));
  if (!shown_field_has_marker) {
    APPKEYS_FUZZ_CHECK(!contains(what, marker), what);
    APPKEYS_FUZZ_CHECK(!contains(error.message(), marker), what);
    APPKEYS_FUZZ_CHECK(!contains(error.server_code(), marker), what);
  }
  if (expected.code == errc::http_error || expected.link == nullptr ||
      !contains(*expected.link, marker)) {
    APPKEYS_FUZZ_CHECK(!contains(error.link(), marker), error.link());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = appkeys_fuzz::as_text(data, size);
  const auto oracle = appkeys_fuzz::oracle_parse(body);

  // FNV-1a of the input picks a "random" but reproducible status in 100..599.
  std::uint32_t hash = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 16777619u;
  const std::array<int, 5> statuses = {static_cast<int>(100 + hash % 500), 400, 401, 404, 500};

  struct Type {
    const char* value;
    bool json;
  };
  static constexpr std::array<Type, 7> types = {{
      {"application/json", true},
      {"application/json; charset=utf-8", true},
      {"Application/JSON;charset=UTF-8", true},
      {"text/plain; charset=utf-8", false},
      {"text/html", false},
      {"application/jso", false},
      {nullptr, false},
  }};
  for (int status : statuses) {
    for (const Type& type : types) check_one(body, oracle, status, type.value, type.json);
  }
  return 0;
}
