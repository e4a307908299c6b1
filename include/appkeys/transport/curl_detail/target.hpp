// appkeys — where a request goes, as libcurl's own URL parser understands it, and the
// rule that plain http:// reaches only loopback hosts unless allowed.
#pragma once

#include <appkeys/detail/url.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/curl_detail/handles.hpp>

#include <curl/curl.h>

#include <string>
#include <string_view>

namespace appkeys::curl_detail {

/// The library's one loopback rule (detail/url.hpp); libcurl hands IPv6 hosts over
/// bracketed, which it accepts.
using detail::is_loopback_host;

/// "scheme://host[:port]" of a parsed URL: enough to say where a failure happened (or
/// to group requests by server), without the user info, path or query (which could
/// hold something private).
inline std::string origin_of(CURLU* url) {
  std::string origin;
  char* part = nullptr;
  if (curl_url_get(url, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
    CurlString scheme(part);
    origin += scheme.get();
    origin += "://";
  }
  part = nullptr;
  if (curl_url_get(url, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    CurlString host(part);
    origin += host.get();
  }
  part = nullptr;
  if (curl_url_get(url, CURLUPART_PORT, &part, 0) == CURLUE_OK) {
    CurlString port(part);
    origin += ':';
    origin += port.get();
  }
  return origin;
}

/// The AppError for a failed allocation inside libcurl.
inline AppError out_of_memory(std::string_view who) {
  return AppError(errc::transport, std::string(who) + ": out of memory");
}

/// A request URL as libcurl's own parser understood it. The transfer uses this very
/// parse (CURLOPT_CURLU), so the host the checks saw is the host contacted.
struct Target {
  UrlHandle url;
};

/// Parses and checks `text` before any I/O: errc::invalid_argument for what cannot be
/// sent as given, errc::insecure_transport for plain http:// to a remote host unless
/// `options.allow_insecure_http`.
template <class Options>
Result<Target> parse_target(const std::string& text, const Options& options) {
  const std::string who(Options::transport_name);
  if (text.find('\0') != std::string::npos) {
    return AppError(errc::invalid_argument, who + ": the request URL contains a NUL byte");
  }
  Target target{UrlHandle(curl_url())};
  if (!target.url) return out_of_memory(who);
  // Flags 0: a scheme is required (no guessing), spaces and control bytes are refused.
  if (curl_url_set(target.url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return AppError(errc::invalid_argument,
                    who + ": the request URL is not an absolute http(s) URL");
  }
  std::string scheme;
  std::string host;
  char* part = nullptr;
  if (curl_url_get(target.url.get(), CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
    scheme = CurlString(part).get();
  }
  part = nullptr;
  if (curl_url_get(target.url.get(), CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    host = CurlString(part).get();
  }
  if (detail::iequals(scheme, "http")) {
    if (!options.allow_insecure_http && !is_loopback_host(host)) {
      return AppError(errc::insecure_transport,
                      who + ": refusing plain http:// to non-loopback host " + host +
                          " (use https://, or set allow_insecure_http)");
    }
  } else if (!detail::iequals(scheme, "https")) {
    return AppError(errc::invalid_argument,
                    who + ": unsupported URL scheme '" + scheme + "' (http, https)");
  }
  // libcurl would turn user info in the URL into an Authorization: Basic header the
  // request never asked for; the protocol carries credentials in headers and bodies.
  for (CURLUPart piece : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS}) {
    part = nullptr;
    if (curl_url_get(target.url.get(), piece, &part, 0) == CURLUE_OK) {
      CurlString discard(part);
      return AppError(errc::invalid_argument,
                      who +
                          ": the request URL carries user info (user:password@), "
                          "which is not sent");
    }
  }
  // The origin (for messages) is read back from the URL only when a request fails:
  // three curl_url_get calls and their allocations, on every request, otherwise.
  return target;
}

}  // namespace appkeys::curl_detail
