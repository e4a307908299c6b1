// appkeys — URL and text helpers of the server rules (no I/O).
#pragma once

#include <appkeys/detail/url.hpp>
#include <appkeys/detail/wipe.hpp>

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

/// nullopt unless `url` is absolute http:// or https:// with a non-empty host, as a
/// real transport would demand (detail::split_url, the library's one splitter).
inline std::optional<UrlParts> split_http_url(std::string_view url) {
  const auto split = detail::split_url(url);
  if (!split) return std::nullopt;
  return UrlParts{std::string(split.parts.origin(url)), std::string(split.parts.path())};
}

/// split_http_url(url).has_value(), without building the parts: FakeTransport checks
/// every request's URL, and the backend splits it again anyway.
inline bool is_absolute_http_url(std::string_view url) noexcept {
  return static_cast<bool>(detail::split_url(url));
}

/// The origin of a request that came with a bare path: "http://" and its Host header
/// when that names a host and nothing more, else "http://localhost". A Host header is
/// the client's to write: one holding '/', '?' or '#' must not make the location answer
/// a hostname that no client can parse.
inline std::string origin_from_host(std::optional<std::string_view> host) {
  if (host && !host->empty()) {
    std::string origin = "http://";
    origin += *host;
    if (const auto split = detail::split_url(origin); split && split.parts.target.empty()) {
      return origin;
    }
  }
  return "http://localhost";
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

using detail::wipe;  // the library's one wipe (detail/wipe.hpp)

}  // namespace appkeys::testing::fake_detail
