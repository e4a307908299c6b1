// appkeys — what HttplibTransport checks in a request before any I/O: its URL, taken
// apart for httplib (Target), and its header names and values.
#pragma once

#include <appkeys/detail/url.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace appkeys::httplib_detail {

/// An absolute http(s) URL taken apart for httplib.
struct Target {
  bool https = false;
  std::string host;  // as given, brackets stripped from an IPv6 literal
  int port = 0;
  std::string path_query;  // "/path?query", fragment dropped, never empty (exchange takes it)
  std::string origin;      // "https://host:port", lower-case scheme and host: the pool key
};

/// RFC 9110 token characters (what a header name may contain), as a table with static
/// storage: every request's every header name is checked, so this is on the hot path
/// (a table local to is_token_char was built again on the stack for every character).
struct TokenChars {
  bool allowed[256] = {};
  constexpr TokenChars() {
    for (int c = '0'; c <= '9'; ++c) allowed[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) allowed[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) allowed[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
      allowed[static_cast<unsigned char>(c)] = true;
  }
};
inline constexpr TokenChars token_chars;

inline constexpr bool is_token_char(char c) noexcept {
  return token_chars.allowed[static_cast<unsigned char>(c)];
}

inline bool valid_header_name(std::string_view name) noexcept {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_token_char);
}

/// httplib writes values verbatim, so a CR or LF here would let a value add headers or
/// end the request early.
inline bool valid_header_value(std::string_view value) noexcept {
  // Three memchr scans (vectorised) instead of one loop of three comparisons a byte:
  // every request's Authorization value is a few hundred bytes.
  for (const char forbidden : {'\r', '\n', '\0'}) {
    if (std::memchr(value.data(), forbidden, value.size()) != nullptr) return false;
  }
  return true;
}

inline AppError url_error(std::string_view why) {
  return AppError(errc::invalid_argument,
                  "HttplibTransport: invalid request URL: " + std::string(why));
}

/// Takes an absolute http:// or https:// URL apart (detail::split_url) and checks it
/// for httplib. Userinfo ("user:pw@host") is refused: credentials travel in headers,
/// never in URLs that end up in logs.
inline Result<Target> parse_url(std::string_view url) {
  const detail::UrlSplit split = detail::split_url(url);
  if (!split) return url_error(split.problem);
  const detail::UrlParts& parts = split.parts;
  if (parts.authority.find('@') != std::string_view::npos) {
    return url_error("credentials in the URL (user@host) are not supported");
  }
  const std::string_view host = parts.host;
  if (parts.bracketed) {
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return url_error("malformed IPv6 literal");
    }
  } else if (!std::all_of(host.begin(), host.end(), [](char c) {
               // ASCII only, whatever the locale (std::isalnum follows it).
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_';
             })) {
    return url_error("the host contains characters that are not allowed in a host name");
  }

  Target target;
  target.https = parts.https;
  target.port = target.https ? 443 : 80;
  if (!parts.port.empty()) {
    const std::string_view port_text = parts.port;
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
      return url_error("the port is not a number");
    }
    target.port = 0;
    for (char c : port_text) target.port = target.port * 10 + (c - '0');
    if (target.port < 1 || target.port > 65535) return url_error("the port is out of range");
  }

  const std::string_view tail = parts.target.substr(0, parts.target.find('#'));
  if (std::any_of(tail.begin(), tail.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte >= 0x7f;
      })) {
    return url_error(
        "the path or query contains spaces, control or non-ASCII characters "
        "(percent-encode them)");
  }
  if (tail.empty() || tail.front() != '/') target.path_query = '/';
  target.path_query += tail;

  target.host = std::string(host);
  // The pool key: scheme, host and port, lower-case, the port always spelled out.
  // Written in place into a string sized once (every request builds it).
  char port_text[8];
  const auto port_end = std::to_chars(port_text, port_text + sizeof(port_text), target.port).ptr;
  const std::string_view scheme = target.https ? "https://" : "http://";
  const std::size_t brackets = parts.bracketed ? 2 : 0;
  std::string& origin = target.origin;
  origin.resize(scheme.size() + brackets + host.size() + 1 +
                static_cast<std::size_t>(port_end - port_text));
  char* out = std::copy(scheme.begin(), scheme.end(), origin.data());
  if (parts.bracketed) *out++ = '[';
  out = std::transform(host.begin(), host.end(), out, detail::ascii_lower);
  if (parts.bracketed) *out++ = ']';
  *out++ = ':';
  std::copy(port_text, port_end, out);
  return target;
}

/// The library's one loopback rule (detail/url.hpp), under the name the CLI uses.
using detail::is_loopback_host;

}  // namespace appkeys::httplib_detail
