// appkeys — HttplibTransportOptions: how an HttplibTransport connects.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/secret.hpp>

#include <cstddef>
#include <string>

namespace appkeys {

/// How an HttplibTransport connects. An aggregate whose defaults are the safe choice:
/// `HttplibTransport{{.connect_timeout = std::chrono::seconds(3)}}`.
///
/// Thread safety: a value type; HttplibTransport keeps its own copy.
struct HttplibTransportOptions {
  /// Bound on establishing the TCP connection (further capped by the request's own
  /// timeout, which covers the whole exchange).
  std::chrono::milliseconds connect_timeout{10'000};
  /// Kept-alive connections per scheme://host:port; a request that finds all of them
  /// busy waits (within its timeout) for one to come back. 0 is treated as 1.
  std::size_t max_connections_per_host = 8;
  /// PEM file of trusted CA certificates; empty: the system's default store.
  std::string ca_file{};
  /// Directory of hashed CA certificates (c_rehash layout); used with or without ca_file.
  std::string ca_dir{};
  /// Turns off certificate AND hostname verification: anyone on the path can then read
  /// and change every token and key. Only for a test server with a throwaway certificate
  /// you cannot add to ca_file.
  bool danger_accept_invalid_certificates = false;
  /// Plain http:// is refused (errc::insecure_transport, before any I/O) unless the
  /// host is loopback (127.0.0.0/8, ::1, localhost) or this is set: requests carry
  /// passwords, tokens and key values, which must not cross a network in clear.
  bool allow_insecure_http = false;
  /// HTTP proxy (CONNECT tunnel for https). Empty host: no proxy. Loopback hosts are
  /// always reached directly, never through the proxy.
  std::string proxy_host{};
  /// The proxy's port.
  int proxy_port = 0;
  /// Basic authentication with the proxy; empty username: none.
  std::string proxy_username{};
  /// Password for the proxy's basic authentication.
  Secret proxy_password{};
  /// Larger response bodies (after decompression) fail with errc::response_too_large;
  /// a Content-Length above it fails before the body is read.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
};

}  // namespace appkeys
