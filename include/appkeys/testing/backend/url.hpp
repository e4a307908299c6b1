// appkeys — URL and text helpers of the server rules (no I/O).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace appkeys::testing::fake_detail {

/// A request URL split for routing.
struct UrlParts {
  std::string origin;  // "scheme://authority": the location answer and error links name it
  std::string path;    // without query or fragment: routing and the request log ignore them
};

/// nullopt unless `url` is absolute http:// or https:// with a non-empty authority, as
/// a real transport would demand.
inline std::optional<UrlParts> split_http_url(std::string_view url) {
  std::size_t scheme_end = 0;
  if (url.rfind("http://", 0) == 0) {
    scheme_end = 7;
  } else if (url.rfind("https://", 0) == 0) {
    scheme_end = 8;
  } else {
    return std::nullopt;
  }
  const std::size_t authority_end = url.find_first_of("/?#", scheme_end);
  const std::string_view authority =
      url.substr(scheme_end, authority_end == std::string_view::npos ? std::string_view::npos
                                                                     : authority_end - scheme_end);
  if (authority.empty()) return std::nullopt;
  UrlParts parts;
  parts.origin = std::string(url.substr(0, scheme_end + authority.size()));
  if (authority_end != std::string_view::npos && url[authority_end] == '/') {
    const std::string_view rest = url.substr(authority_end);
    parts.path = std::string(rest.substr(0, rest.find_first_of("?#")));
  } else {
    parts.path = "/";
  }
  return parts;
}

/// split_http_url(url).has_value(), without building the parts: FakeTransport checks
/// every request's URL, and the backend splits it again anyway.
inline bool is_absolute_http_url(std::string_view url) noexcept {
  std::size_t scheme_end = 0;
  if (url.rfind("http://", 0) == 0) {
    scheme_end = 7;
  } else if (url.rfind("https://", 0) == 0) {
    scheme_end = 8;
  } else {
    return false;
  }
  // The authority runs up to the first '/', '?' or '#': non-empty iff the character
  // right after the scheme is none of them.
  return url.size() > scheme_end && url[scheme_end] != '/' && url[scheme_end] != '?' &&
         url[scheme_end] != '#';
}

inline bool starts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.substr(0, prefix.size()) == prefix;
}

/// Characters, not bytes: the password limits are stated in characters, and a
/// multi-byte UTF-8 password must not be refused for being "long".
inline std::size_t utf8_length(std::string_view text) noexcept {
  std::size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

inline bool is_key_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

/// Overwrites a temporary copy of a secret before it is freed.
inline void wipe(std::string& text) noexcept {
  volatile char* bytes = text.data();
  for (std::size_t i = 0; i < text.size(); ++i) bytes[i] = 0;
}

}  // namespace appkeys::testing::fake_detail
