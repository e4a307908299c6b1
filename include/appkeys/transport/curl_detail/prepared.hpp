// appkeys — the checks a libcurl transport makes before any I/O, in one call: the
// timeout, the URL (http(s) only, plain http only to loopback unless allowed) and the
// headers.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/curl_detail/request_headers.hpp>
#include <appkeys/transport/curl_detail/target.hpp>

#include <algorithm>
#include <string>
#include <utility>

namespace appkeys::curl_detail {

/// `request.timeout`, capped so that a "forever" timeout (milliseconds::max()) cannot
/// overflow the clock arithmetic; a year is forever enough.
inline std::chrono::milliseconds capped_timeout(const HttpRequest& request) noexcept {
  return std::min(request.timeout, std::chrono::milliseconds(std::chrono::hours(24 * 365)));
}

/// A request that passed every check before I/O, ready to configure a handle with.
/// Holds views into the request's headers: the request must outlive it, unmoved.
struct PreparedRequest {
  Target target;
  RequestHeaders headers;
  bool body = false;  ///< Sent through libcurl's POST machinery (see sends_body).
};

/// Checks `request` without any I/O: errc::invalid_argument for a timeout that is not
/// positive, a URL or header that cannot be sent as given; errc::insecure_transport for
/// plain http:// to a remote host unless allowed.
template <class Options>
Result<PreparedRequest> prepare(const HttpRequest& request, const Options& options) {
  if (capped_timeout(request).count() <= 0) {
    return AppError(errc::invalid_argument, std::string(Options::transport_name) +
                                                ": the request's timeout is not positive");
  }
  auto target = parse_target(request.url, options);
  if (!target) return std::move(target).error();
  const bool body = sends_body(request);
  auto headers = build_headers(request, body, Options::transport_name);
  if (!headers) return std::move(headers).error();
  return PreparedRequest{std::move(*target), std::move(*headers), body};
}

}  // namespace appkeys::curl_detail
