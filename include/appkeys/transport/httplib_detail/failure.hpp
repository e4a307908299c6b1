// appkeys — what HttplibTransport reports when an exchange fails: cpp-httplib's error,
// mapped to an errc and a message that names the method, the URL without its query
// and the peer, never a header value, the body or the proxy password.
#pragma once

#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/transport/httplib_detail/pool.hpp>
#include <appkeys/transport/httplib_detail/proxy_tunnel.hpp>
#include <appkeys/transport/httplib_detail/target.hpp>
#include <appkeys/transport/httplib_options.hpp>

#include <httplib.h>

#include <string>
#include <string_view>

namespace appkeys::httplib_detail {

/// "METHOD url" for messages, without the query or fragment: a query string could
/// carry a secret.
inline std::string describe(const HttpRequest& request) {
  std::string text(to_string(request.method));
  text += ' ';
  const std::string_view url = request.url;
  text += url.substr(0, url.find_first_of("?#"));
  return text;
}

/// The status with which a proxy refused a CONNECT tunnel, -1 for a malformed answer,
/// 0 when no tunnel was refused.
inline int proxy_refusal([[maybe_unused]] httplib::ClientImpl& client) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (auto* tunnel = dynamic_cast<ProxyTunnelClient*>(&client)) {
    return tunnel->refused_status();
  }
#endif
  return 0;
}

/// Why certificate verification failed, as " (reason)", for TLS clients.
inline std::string verify_detail([[maybe_unused]] httplib::ClientImpl& client) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (auto* tls = dynamic_cast<httplib::SSLClient*>(&client)) {
    const long code = tls->get_openssl_verify_result();
    if (code != X509_V_OK) return std::string(" (") + X509_verify_cert_error_string(code) + ")";
    return " (the certificate does not name this host)";
  }
#endif
  return {};
}

/// The AppError for a failed exchange: `too_large` when the body went past
/// max_response_bytes, `timed_out` when the deadline had passed.
inline AppError exchange_failure(const HttpRequest& request, const Target& target,
                                 httplib::ClientImpl& client,
                                 const HttplibTransportOptions& options, httplib::Error error,
                                 bool too_large, bool timed_out) {
  const std::string what = "HttplibTransport: " + describe(request) + ": ";
  const std::string peer = target.origin;
  if (too_large) {
    return AppError(errc::response_too_large,
                    what + "the response body exceeds max_response_bytes (" +
                        std::to_string(options.max_response_bytes) + " bytes)");
  }
  using E = httplib::Error;
  switch (error) {
    case E::ConnectionTimeout:
      return AppError(errc::timeout, what + "timed out connecting to " + peer);
    case E::Connection:
    case E::BindIPAddress:
      if (const int status = proxy_refusal(client); status != 0) {
        return AppError(errc::connection_failed,
                        what + "the proxy " + options.proxy_host + ':' +
                            std::to_string(options.proxy_port) + " refused the tunnel to " + peer +
                            (status > 0 ? " (HTTP " + std::to_string(status) + ")"
                                        : std::string(" (malformed answer)")));
      }
      if (timed_out) return AppError(errc::timeout, what + "timed out connecting to " + peer);
      return AppError(errc::connection_failed,
                      what + "could not connect to " + peer +
                          (use_proxy(options, target) ? " through the proxy" : "") +
                          " (connection refused, host unreachable or name not resolved)");
    case E::Read:
    case E::Write:
    case E::Canceled:
      if (timed_out) {
        return AppError(errc::timeout, what + "no complete response within the request timeout");
      }
      return AppError(
          errc::transport,
          what + (error == E::Write ? "the connection failed while sending the request"
                                    : "the connection closed before the response was complete"));
    case E::SSLConnection:
      if (timed_out) return AppError(errc::timeout, what + "timed out during the TLS handshake");
      return AppError(errc::tls, what + "the TLS handshake with " + peer + " failed");
    case E::SSLLoadingCerts:
      return AppError(errc::tls, what + "could not load the CA certificates (ca_file '" +
                                     options.ca_file + "', ca_dir '" + options.ca_dir + "')");
    case E::SSLServerVerification:
      return AppError(errc::tls, what + "the certificate of " + peer + " is not valid for it" +
                                     verify_detail(client));
    case E::Compression:
      return AppError(errc::transport, what + "the response body could not be decompressed");
    default:
      return AppError(errc::transport,
                      what + "cpp-httplib reported error '" + httplib::to_string(error) + "'");
  }
}

}  // namespace appkeys::httplib_detail
