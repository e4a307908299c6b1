// appkeys — the one URL splitter and the one loopback check, shared by the client's
// configuration checks, HttplibTransport, the libcurl transports and the fake backend.
#pragma once

#include <appkeys/http.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <string_view>

namespace appkeys::detail {

/// An absolute http(s) URL taken apart, as views into the text it was split from.
struct UrlParts {
  bool https = false;
  std::string_view scheme;     ///< "http" or "https", as written (any case)
  std::string_view authority;  ///< between "://" and the first '/', '?' or '#'; never empty
  std::string_view host;       ///< the authority without its port; an IPv6 literal unbracketed
  bool bracketed = false;      ///< the host was an IPv6 literal in brackets
  std::string_view port;       ///< what follows the host's ':' ("" when none); not checked
  std::string_view target;     ///< the rest: path, query and fragment ("" when none)

  /// "scheme://authority" as written: where the request goes.
  std::string_view origin(std::string_view url) const noexcept {
    return url.substr(0, scheme.size() + 3 + authority.size());
  }
  /// The path without query or fragment; "/" when the URL has none.
  std::string_view path() const noexcept {
    const std::string_view path = target.substr(0, target.find_first_of("?#"));
    return path.empty() || path.front() != '/' ? std::string_view("/") : path;
  }
};

/// What split_url found, or why it could not split the text (`problem` set, the parts
/// then meaningless).
struct UrlSplit {
  UrlParts parts;
  const char* problem = nullptr;  ///< a static sentence naming what is wrong

  explicit operator bool() const noexcept { return problem == nullptr; }
};

/// Splits an absolute http:// or https:// URL into scheme, authority (host and port)
/// and target. Structure only: which characters a host, port or path may hold is the
/// caller's rule (a transport is strict, the fake backend lenient).
template <class = void>  // compiled only where used: see detail/dependent.hpp
inline UrlSplit split_url(std::string_view url) noexcept {
  UrlSplit out;
  UrlParts& parts = out.parts;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    out.problem = "it is not absolute (no scheme://)";
    return out;
  }
  parts.scheme = url.substr(0, scheme_end);
  if (iequals(parts.scheme, "https")) {
    parts.https = true;
  } else if (!iequals(parts.scheme, "http")) {
    out.problem = "only http:// and https:// are supported";
    return out;
  }
  const std::string_view rest = url.substr(scheme_end + 3);
  // A plain loop: find_first_of("/?#") calls memchr on the set for every character.
  std::size_t authority_end = 0;
  while (authority_end < rest.size() && rest[authority_end] != '/' && rest[authority_end] != '?' &&
         rest[authority_end] != '#') {
    ++authority_end;
  }
  if (authority_end == rest.size()) authority_end = std::string_view::npos;
  parts.authority = rest.substr(0, authority_end);
  if (authority_end != std::string_view::npos) parts.target = rest.substr(authority_end);

  const std::string_view authority = parts.authority;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      out.problem = "unterminated IPv6 literal";
      return out;
    }
    parts.bracketed = true;
    parts.host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        out.problem = "unexpected characters after the IPv6 literal";
        return out;
      }
      parts.port = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    parts.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) parts.port = authority.substr(colon + 1);
  }
  if (parts.host.empty()) out.problem = "the host is empty";
  return out;
}

/// True for a host whose traffic never leaves the machine, judged from its spelling
/// alone (no DNS): "localhost" (any case), 127.0.0.0/8 in dotted-quad form, ::1, and
/// IPv4-mapped loopback (::ffff:127.x.y.z, which the kernel routes to 127.x.y.z); an
/// IPv6 literal may come bracketed and with a zone ("[::1%lo]").
///
/// Everything else counts as remote, which errs on the side of refusing plain HTTP:
/// "127.1" and names that merely resolve to a loopback address, and also a trailing
/// dot ("localhost.", "127.0.0.1."): an absolute name is looked up by the resolver
/// (glibc's hosts file does not list "localhost."), so a DNS answer could send it
/// anywhere.
template <class = void>  // compiled only where used: see detail/dependent.hpp
inline bool is_loopback_host(std::string_view host) {
  if (iequals(host, "localhost")) return true;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host.size() > 64) return false;
  std::string text(host);
  if (text.find(':') != std::string::npos) {
    if (auto zone = text.find('%'); zone != std::string::npos) text.resize(zone);
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  // inet_pton(AF_INET) takes only the four-decimal-parts form (no "127.1", no
  // trailing dot), which is also what libcurl normalises every IPv4 spelling into.
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) != 1) return false;
  unsigned char first = 0;
  std::memcpy(&first, &v4.s_addr, 1);  // network order: the first byte is the first part
  return first == 127;
}

}  // namespace appkeys::detail
