// appkeys — the transport's vocabulary: HttpMethod, Headers, HttpRequest, HttpResponse.
//
// Public because users write transports (see concepts.hpp).
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/dependent.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace appkeys {

enum class HttpMethod { get, post, put, del };

constexpr std::string_view to_string(HttpMethod method) noexcept {
  switch (method) {
    case HttpMethod::get:
      return "GET";
    case HttpMethod::post:
      return "POST";
    case HttpMethod::put:
      return "PUT";
    case HttpMethod::del:
      return "DELETE";
  }
  return "GET";
}

inline std::ostream& operator<<(std::ostream& out, HttpMethod method) {
  return out << to_string(method);
}

namespace detail {
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Orders header names ignoring ASCII case, as HTTP compares them.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return ascii_lower(x) < ascii_lower(y);
    });
  }
};

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}
}  // namespace detail

/// HTTP headers: an ordered multimap whose lookups ignore the name's case, as in
/// cpp-httplib. `h.emplace("Accept", "application/json")`, `h.find("accept")`.
using Headers = std::multimap<std::string, std::string, detail::CaseInsensitiveLess>;

/// The first value of header `name`, if present. (A template only so that it is
/// compiled where it is used: see detail/dependent.hpp.)
template <class V = void>
std::optional<detail::dependent_t<V, std::string_view>> header_value(const Headers& headers,
                                                                     std::string_view name) {
  if (auto it = headers.find(name); it != headers.end()) return std::string_view(it->second);
  return std::nullopt;
}

/// One request as the protocol layer builds it. `url` is absolute
/// ("https://host/api/client/v2.0/..."); `timeout` bounds the whole exchange.
///
/// The Authorization header and the body may hold secrets: a transport that logs
/// must redact them (see examples/).
///
/// Thread safety: a value type; distinct objects are independent.
struct HttpRequest {
  HttpMethod method = HttpMethod::get;        ///< GET, POST, PUT or DELETE.
  std::string url;                            ///< Absolute http:// or https:// URL.
  Headers headers;                            ///< Sent as given, in order.
  std::string body;                           ///< Empty when there is none.
  std::chrono::milliseconds timeout{60'000};  ///< Bound on the whole exchange.
};

/// One response: any status is a response, not a transport error.
///
/// Thread safety: a value type; distinct objects are independent.
struct HttpResponse {
  int status = 0;    ///< The HTTP status code.
  Headers headers;   ///< As received; look names up in any case.
  std::string body;  ///< The whole body.
};

}  // namespace appkeys
