// appkeys fuzzing — checks shared by every target.
//
// A failed check prints what broke and aborts, so libFuzzer (or the replay driver, or
// ctest) sees a crash. `assert` is not used: release builds define NDEBUG.
#pragma once

#include <appkeys/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace appkeys_fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              std::string_view detail) {
  std::fprintf(stderr, "\n%s:%d: fuzz invariant violated: %s\n", file, line, condition);
  if (!detail.empty()) {
    std::fprintf(stderr, "  detail: %.*s\n",
                 static_cast<int>(std::min<std::size_t>(detail.size(), 2000)), detail.data());
  }
  std::fflush(stderr);
  std::abort();
}

#define APPKEYS_FUZZ_CHECK(condition, detail)                                         \
  do {                                                                                \
    if (!(condition)) ::appkeys_fuzz::fail(__FILE__, __LINE__, #condition, (detail)); \
  } while (false)

/// The seeded secret. Corpus files carry it in the fields that hold secrets (`key`,
/// `access_token`, `password`, ...) and mutations keep it around; no AppError message
/// may ever repeat it.
inline constexpr std::string_view marker = "SECRETMARKER";

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return size == 0 ? std::string_view()
                   : std::string_view(reinterpret_cast<const char*>(data), size);
}

inline bool contains(std::string_view haystack, std::string_view needle) noexcept {
  return !needle.empty() && haystack.find(needle) != std::string_view::npos;
}

/// Checks an AppError built from fuzzed bytes: no marker (whatever the input: if the
/// input holds the marker, no part of it may reach the message), no control bytes, and
/// a length that does not grow with the body (a parser's message never quotes one).
/// `max_what` is the largest what() the code under test can legitimately produce.
inline void check_error_is_clean(const appkeys::AppError& error, std::size_t max_what = 400) {
  const std::string_view what = error.what();
  APPKEYS_FUZZ_CHECK(!contains(what, marker), what);
  APPKEYS_FUZZ_CHECK(!contains(error.message(), marker), error.message());
  APPKEYS_FUZZ_CHECK(what.size() <= max_what, what);
  for (char c : what) {
    const auto byte = static_cast<unsigned char>(c);
    APPKEYS_FUZZ_CHECK(byte >= 0x20 && byte != 0x7f, what);
  }
  // The code is always an appkeys code.
  APPKEYS_FUZZ_CHECK(&error.code().category() == &appkeys::app_category(), what);
}

// The oracle's reading of an absolute URL, written apart from detail::split_url (the
// library's one splitter, used by the client and by the fake backend's router).

inline bool starts_with_nocase(std::string_view text, std::string_view prefix) {
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
inline std::size_t http_prefix(std::string_view url) {
  if (starts_with_nocase(url, "https://")) return 8;
  if (starts_with_nocase(url, "http://")) return 7;
  return 0;
}

/// The oracle, written apart from detail::split_url: an http(s) URL whose authority
/// (up to the first '/', '?' or '#') names a host: a non-empty IPv6 literal in
/// brackets, followed by nothing or ":port", or else a non-empty text before the last
/// ':'.
inline bool is_http_url_with_host(std::string_view url) {
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

/// Bracket depth outside strings, written here independently of the library's own
/// counter so the oracles below can predict when parse_json refuses a deep text.
inline std::size_t bracket_depth(std::string_view text) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// The oracle's own reading of a JSON text: nlohmann/json directly, refusing what the
/// library documents it refuses (nesting deeper than its limit of 64).
inline std::optional<nlohmann::json> oracle_parse(std::string_view text) {
  if (bracket_depth(text) > 64) return std::nullopt;
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

/// The string member `name` of `value`, if `value` is an object that has one.
inline const std::string* oracle_string(const nlohmann::json& value, const char* name) {
  if (!value.is_object()) return nullptr;
  auto it = value.find(name);
  return it != value.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

/// The oracle's reading of PROTOCOL.md §3 for one key object, written apart from the
/// library's reader: an object with a 24-hex-character string `_id`, a string `name`,
/// a boolean `disabled`, and a `key` that is absent, null or a string.
inline bool oracle_valid_key(const nlohmann::json& value) {
  if (!value.is_object()) return false;
  const std::string* id = oracle_string(value, "_id");
  if (id == nullptr || id->size() != 24) return false;
  for (char c : *id) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  if (oracle_string(value, "name") == nullptr) return false;
  auto disabled = value.find("disabled");
  if (disabled == value.end() || !disabled->is_boolean()) return false;
  auto key = value.find("key");
  return key == value.end() || key->is_null() || key->is_string();
}

template <class T>
std::string printed(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace appkeys_fuzz
