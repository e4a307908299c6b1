// appkeys — a request's headers as libcurl wants them: checked so nothing can split the
// request, and with libcurl's own additions suppressed so exactly the request is sent.
#pragma once

#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/curl_detail/handles.hpp>
#include <appkeys/transport/curl_detail/target.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace appkeys::curl_detail {

/// A header name is an RFC 9110 token; anything else could split or forge lines.
inline bool is_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    const bool token = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return false;
  }
  return true;
}

/// CR, LF or NUL in a value would end the header line early (header injection).
inline bool is_header_value(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

/// Whether a request goes through libcurl's POST machinery (PUT too): it takes the body
/// from memory with an explicit size. POST and PUT always do, so an empty body is still
/// announced as Content-Length: 0 (RFC 9110 asks for it; some front ends answer 411
/// without it), as cpp-httplib does.
inline bool sends_body(const HttpRequest& request) noexcept {
  return !request.body.empty() || request.method == HttpMethod::post ||
         request.method == HttpMethod::put;
}

/// The request's headers as libcurl wants them, plus the values to keep out of
/// messages (views into the request's own headers: the request must outlive this).
struct RequestHeaders {
  HeaderList list;
  std::vector<std::string_view> secrets;
};

/// Builds the header list of `request`; errc::invalid_argument (before any I/O) for a
/// header that would break the request's framing. `who` starts the messages.
inline Result<RequestHeaders> build_headers(const HttpRequest& request, bool body,
                                            std::string_view who) {
  RequestHeaders out;
  bool has_content_type = false;
  bool has_expect = false;
  bool has_accept = false;
  for (const auto& [name, value] : request.headers) {
    if (!is_header_name(name) || !is_header_value(value)) {
      return AppError(errc::invalid_argument,
                      std::string(who) +
                          ": a request header has a name or value that would break "
                          "the request's framing (CR, LF, NUL or a non-token name)");
    }
    has_content_type = has_content_type || detail::iequals(name, "Content-Type");
    has_expect = has_expect || detail::iequals(name, "Expect");
    has_accept = has_accept || detail::iequals(name, "Accept");
    if (detail::iequals(name, "Authorization") || detail::iequals(name, "Proxy-Authorization") ||
        detail::iequals(name, "Cookie")) {
      const std::string_view text(value);
      out.secrets.push_back(text);
      if (auto space = text.find(' '); space != std::string_view::npos) {
        out.secrets.push_back(text.substr(space + 1));  // the token without "Bearer "
      }
    }
    // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would
    // remove the header instead).
    if (!append_header(out.list, value.empty() ? name + ";" : name + ": " + value)) {
      return out_of_memory(who);
    }
  }
  // libcurl adds headers of its own unless told not to; "Name:" removes one:
  // - a body sent through the POST machinery gets x-www-form-urlencoded;
  // - a large body gets "Expect: 100-continue", costing a round trip (or a 1 s stall
  //   against servers that never answer 100);
  // - every request gets "Accept: */*".
  if (body && !has_content_type && !append_header(out.list, "Content-Type:")) {
    return out_of_memory(who);
  }
  if (!has_expect && !append_header(out.list, "Expect:")) return out_of_memory(who);
  if (!has_accept && !append_header(out.list, "Accept:")) return out_of_memory(who);
  return out;
}

}  // namespace appkeys::curl_detail
