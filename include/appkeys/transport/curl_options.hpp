// appkeys — the options both libcurl transports are built from (CurlTransport and
// CurlMultiTransport): one definition, so their safe defaults cannot drift apart.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/secret.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace appkeys {

/// How a libcurl transport connects. An aggregate with safe defaults, so
/// `CurlTransport{{.ca_file = "/etc/my-ca.pem"}}` changes only what it names. (Every
/// member has a default member initializer, even the empty strings, so that GCC's
/// -Wmissing-field-initializers stays quiet about designated initializers.)
///
/// One template for both transports, so their safe defaults cannot drift apart:
/// `Transport` (a traits class of curl_detail) names the transport, for messages, and
/// sets the default of max_connections, the one member whose meaning differs.
/// CurlTransportOptions and CurlMultiTransport::Options are its two instances.
///
/// Thread safety: a value type; each transport keeps its own copy.
template <class Transport>
struct BasicCurlOptions {
  /// The transport's name, as failure messages start with it.
  static constexpr std::string_view transport_name = Transport::name;

  /// Bound on establishing one connection (TCP + TLS handshake). The request's own
  /// timeout still bounds the whole exchange; libcurl uses the smaller of the two.
  /// Zero or negative leaves only the request's timeout.
  std::chrono::milliseconds connect_timeout{10'000};
  /// CurlTransport (default 8): how many requests may be in flight at once, and so
  /// how many easy handles (each keeping its own kept-alive connections) the transport
  /// owns; further concurrent send() calls wait for a free handle, and that wait counts
  /// against their timeout.
  /// CurlMultiTransport (default 64): the most connections open to one host at once
  /// (CURLMOPT_MAX_HOST_CONNECTIONS); requests beyond what they can carry wait in the
  /// transport's queue, and that wait counts against their timeout.
  /// 0 is treated as 1.
  std::size_t max_connections = Transport::default_max_connections;
  /// PEM file of CA certificates to trust instead of the system's bundle.
  std::string ca_file{};
  /// Directory of hashed CA certificates (c_rehash) to trust instead of the system's.
  std::string ca_dir{};
  /// Turns OFF verification of the server's certificate chain AND of its host name
  /// (for the server and for an HTTPS proxy). Anyone on the path can then read and
  /// change the traffic, tokens and key values included. For tests against
  /// self-signed servers only; prefer ca_file.
  bool danger_accept_invalid_certificates = false;
  /// Allow plain http:// to hosts other than loopback (127.0.0.0/8, [::1],
  /// localhost). Off, such a request fails with errc::insecure_transport before any
  /// I/O, because every request but one carries a password, a token or a key.
  bool allow_insecure_http = false;
  /// Proxy URL ("http://proxy:3128", "https://...", "socks5h://..."); empty for none.
  std::string proxy{};
  /// User name for the proxy's authentication; empty: none.
  std::string proxy_username{};
  /// Password for the proxy's authentication.
  Secret proxy_password{};
  /// When true, an empty `proxy` lets libcurl read http_proxy / https_proxy /
  /// all_proxy / no_proxy from the environment. Off by default so that a process's
  /// environment cannot silently route credentials through a proxy.
  bool use_environment_proxy = false;
  /// Largest response body accepted (and, separately, the largest total size of the
  /// response headers); a larger response fails with errc::response_too_large.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
};

namespace curl_detail {

/// What BasicCurlOptions needs to know about CurlTransport.
struct EasyTransportTraits {
  static constexpr std::string_view name = "CurlTransport";  ///< For messages.
  static constexpr std::size_t default_max_connections = 8;  ///< Pooled handles.
};

/// What BasicCurlOptions needs to know about CurlMultiTransport.
struct MultiTransportTraits {
  static constexpr std::string_view name = "CurlMultiTransport";  ///< For messages.
  static constexpr std::size_t default_max_connections = 64;      ///< Per host.
};

}  // namespace curl_detail

}  // namespace appkeys
