// appkeys — what a finished libcurl transfer becomes: the response, or an AppError with
// the right errc and a message scrubbed of anything secret.
#pragma once

#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/transport/curl_detail/handles.hpp>
#include <appkeys/transport/curl_detail/request_headers.hpp>
#include <appkeys/transport/curl_detail/response.hpp>
#include <appkeys/transport/curl_detail/target.hpp>

#include <curl/curl.h>

#include <string>
#include <string_view>
#include <utility>

namespace appkeys::curl_detail {

/// The errc for a libcurl failure (other than the ones the callbacks explain).
inline errc errc_for(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return errc::connection_failed;
    case CURLE_OPERATION_TIMEDOUT:
      return errc::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return errc::tls;
    case CURLE_FILESIZE_EXCEEDED:
      return errc::response_too_large;
    default:
      // PARTIAL_FILE, RECV_ERROR, SEND_ERROR, GOT_NOTHING, WEIRD_SERVER_REPLY,
      // HTTP2, PROXY, OUT_OF_MEMORY, ...: the exchange broke after it started.
      return errc::transport;
  }
}

/// Removes every occurrence of `secret` from `text` (defence in depth: libcurl's
/// messages do not contain headers, bodies or proxy passwords, and must never leak
/// one even if a future libcurl starts to).
inline void redact(std::string& text, std::string_view secret) {
  if (secret.size() < 4) return;  // too short to matter, and would mangle the message
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), Secret::redacted);
    at += Secret::redacted.size();
  }
}

/// The AppError for a failed transfer: the errc, and a message from libcurl's error
/// buffer with the method and origin, scrubbed of anything secret.
template <class Options>
AppError failure(CURLcode code, const Exchange& exchange, const Handle& handle,
                 const HttpRequest& request, const Target& target, const RequestHeaders& headers,
                 const Options& options) {
  errc error = errc_for(code);
  std::string what;
  if (exchange.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    error = errc::response_too_large;
    what = "the response exceeds max_response_bytes (" +
           std::to_string(options.max_response_bytes) + ")";
  } else if (exchange.out_of_memory) {
    error = errc::transport;
    what = "out of memory while reading the response";
  } else {
    what =
        handle.error[0] != '\0' ? std::string(handle.error) : std::string(curl_easy_strerror(code));
    while (!what.empty() && (what.back() == '\n' || what.back() == '\r')) what.pop_back();
  }
  std::string message = std::string(Options::transport_name) + ": " + what + " (" +
                        std::string(to_string(request.method)) + " " + origin_of(target.url.get()) +
                        ")";
  for (std::string_view secret : headers.secrets) redact(message, secret);
  redact(message, options.proxy_password.reveal());
  return AppError(error, std::move(message));
}

/// What a finished transfer on `handle` gives its caller: the response collected in
/// `exchange` (with libcurl's status code), or the AppError that ended it.
template <class Options>
Result<HttpResponse> outcome(CURLcode code, Exchange& exchange, const Handle& handle,
                             const HttpRequest& request, const Target& target,
                             const RequestHeaders& headers, const Options& options) {
  if (code != CURLE_OK || exchange.too_large || exchange.out_of_memory) {
    return failure(code, exchange, handle, request, target, headers, options);
  }
  long status = 0;
  curl_easy_getinfo(handle.easy, CURLINFO_RESPONSE_CODE, &status);
  exchange.response.status = static_cast<int>(status);
  return std::move(exchange.response);
}

}  // namespace appkeys::curl_detail
