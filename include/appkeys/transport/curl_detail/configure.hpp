// appkeys — every libcurl option of one exchange, set in one place for both libcurl
// transports: TLS verification and CA options, no redirects, http(s) only, proxies,
// the method and body, the callbacks and the response size limit.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/http.hpp>
#include <appkeys/transport/curl_detail/handles.hpp>
#include <appkeys/transport/curl_detail/request_headers.hpp>
#include <appkeys/transport/curl_detail/response.hpp>
#include <appkeys/transport/curl_detail/target.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

namespace appkeys::curl_detail {

/// Sets every option of one exchange on a fresh (or curl_easy_reset) handle. The
/// pointers given to libcurl (URL, headers, body, exchange) must outlive the transfer.
/// `share` may be null.
template <class Options>
CURLcode configure(Handle& handle, CURLSH* share, const Options& options,
                   const HttpRequest& request, bool body, Target& target, RequestHeaders& headers,
                   Exchange& exchange, std::chrono::milliseconds remaining) {
  CURL* easy = handle.easy;
  CURLcode result = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (result == CURLE_OK) result = curl_easy_setopt(easy, option, value);
  };
  constexpr long on = 1L;
  constexpr long off = 0L;

  // The share (a pointer kept outside the options) survives curl_easy_reset; setting
  // it again is a cheap detach and re-attach that keeps this function self-contained.
  set(CURLOPT_SHARE, share);
  handle.error[0] = '\0';
  set(CURLOPT_ERRORBUFFER, handle.error);
  set(CURLOPT_CURLU, target.url.get());
  // No SIGALRM-based DNS timeouts: signals are process-wide and unsafe with threads.
  set(CURLOPT_NOSIGNAL, on);
  set(CURLOPT_FOLLOWLOCATION, off);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_HTTP09_ALLOWED, off);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
  if (options.connect_timeout.count() > 0) {
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  }
  // Kept-alive connections sit idle between requests; keepalive probes find the ones
  // a NAT or firewall dropped silently.
  set(CURLOPT_TCP_KEEPALIVE, on);
  // A proxy's "200 Connection established" is not the server's response.
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, on);

  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  const long verify_peer = options.danger_accept_invalid_certificates ? off : on;
  const long verify_host = options.danger_accept_invalid_certificates ? 0L : 2L;
  set(CURLOPT_SSL_VERIFYPEER, verify_peer);
  set(CURLOPT_SSL_VERIFYHOST, verify_host);
  set(CURLOPT_PROXY_SSL_VERIFYPEER, verify_peer);
  set(CURLOPT_PROXY_SSL_VERIFYHOST, verify_host);
  if (!options.ca_file.empty()) {
    set(CURLOPT_CAINFO, options.ca_file.c_str());
    set(CURLOPT_PROXY_CAINFO, options.ca_file.c_str());
  }
  if (!options.ca_dir.empty()) {
    set(CURLOPT_CAPATH, options.ca_dir.c_str());
    set(CURLOPT_PROXY_CAPATH, options.ca_dir.c_str());
  }

  if (!options.proxy.empty()) {
    set(CURLOPT_PROXY, options.proxy.c_str());
    // The environment's no_proxy would otherwise still apply to an explicit proxy.
    if (!options.use_environment_proxy) set(CURLOPT_NOPROXY, "");
    if (!options.proxy_username.empty()) {
      set(CURLOPT_PROXYUSERNAME, options.proxy_username.c_str());
    }
    if (!options.proxy_password.empty()) {
      // libcurl wants a NUL-terminated string and keeps a copy; wipe ours at once.
      std::string password(options.proxy_password.reveal());
      set(CURLOPT_PROXYPASSWORD, password.c_str());
      wipe(password);
    }
  } else if (!options.use_environment_proxy) {
    // An empty string, set explicitly, is libcurl's "no proxy, whatever the
    // environment says"; leaving the option unset would read http_proxy & co.
    set(CURLOPT_PROXY, "");
  }

  if (body) {
    set(CURLOPT_POST, on);
    // An explicit size: the body may hold NUL bytes, and libcurl would strlen() it.
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    // Never null, even for an empty body: with POST and no POSTFIELDS libcurl reads
    // the body through the read callback, which defaults to reading stdin.
    set(CURLOPT_POSTFIELDS, static_cast<const void*>(request.body.data()));
  } else {
    set(CURLOPT_HTTPGET, on);
  }
  if (request.method != HttpMethod::get && request.method != HttpMethod::post) {
    // to_string returns a view of a string literal, so data() is NUL-terminated;
    // libcurl copies it anyway.
    set(CURLOPT_CUSTOMREQUEST, to_string(request.method).data());
  }
  set(CURLOPT_HTTPHEADER, headers.list.get());

  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&exchange));
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&exchange));
  // Refuses a declared Content-Length over the limit before reading any of the body.
  const auto max_off = static_cast<std::size_t>(std::numeric_limits<curl_off_t>::max());
  set(CURLOPT_MAXFILESIZE_LARGE,
      static_cast<curl_off_t>(std::min(options.max_response_bytes, max_off)));
  return result;
}

}  // namespace appkeys::curl_detail
