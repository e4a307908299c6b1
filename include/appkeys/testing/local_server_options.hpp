// appkeys — LocalServerOptions: where and how a testing::LocalServer serves (address,
// port, threads, an artificial delay, TLS files, an access-log sink).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace appkeys::testing {

/// One answered request, as LocalServer reports it to an access-log sink. It carries
/// nothing a client sent except the method and the path: no query string, header or
/// body, so no token, password or key value can reach a log through it.
///
/// Thread safety: a value passed by const reference; valid only during the sink's call.
struct AccessLogEntry {
  /// The request method as received ("GET", "POST", ...); "-" when the request line
  /// could not be parsed. Bytes outside printable ASCII are percent-encoded.
  std::string_view method;
  /// The request target without its query string or fragment, as the client sent it
  /// (percent-encoding kept), at most 256 bytes ("..." marks a cut); "-" when absent.
  /// Bytes outside printable ASCII are percent-encoded, so one entry is one line.
  std::string_view path;
  /// The HTTP status sent back.
  int status = 0;
  /// From the moment the request was routed to the response being written, delay
  /// included; zero for requests httplib refused before routing them (malformed ones).
  std::chrono::milliseconds duration{0};
};

/// How a LocalServer serves. Every member has a default, so
/// `LocalServer{backend, {.port = 8080}}` changes only what it names.
///
/// Thread safety: a value type; LocalServer keeps its own copy.
struct LocalServerOptions {
  /// Connections served at once by default (see LocalServer::default_worker_threads).
  static constexpr std::size_t default_worker_threads = 256;

  /// The address to listen on: an IPv4 or IPv6 literal or a host name. LocalServer
  /// itself does not refuse non-loopback addresses (`appkeys serve` does).
  std::string host = "127.0.0.1";
  /// 0: a free port, chosen by the system (LocalServer::port() tells which).
  std::uint16_t port = 0;
  /// Connections served at once (at least 1): each takes a worker thread while open.
  std::size_t worker_threads = default_worker_threads;
  /// Every request is answered this long after it arrived, as a server far away would
  /// be; the worker thread waits meanwhile. Zero: no delay.
  std::chrono::milliseconds delay{0};
  /// PEM certificate chain for HTTPS (leaf first); with tls_key_file, or both empty
  /// for plain HTTP.
  std::string tls_cert_file{};
  /// PEM private key matching tls_cert_file, unencrypted.
  std::string tls_key_file{};
  /// Called once per answered request, after its response is written, from the worker
  /// thread that served it: calls may be concurrent, so the sink must serialize its own
  /// output. Empty: no access log. An exception it throws is swallowed.
  std::function<void(const AccessLogEntry&)> access_log{};
  /// Web origins (`https://app.example.com`, scheme and host and any port, as browsers
  /// send them in Origin) whose pages may call this server from a browser, or "*" for
  /// any. A request from a listed origin gets Access-Control-Allow-Origin naming it, and
  /// its preflight (OPTIONS with Access-Control-Request-Method) is answered 204. Empty
  /// (the default): no CORS headers, and OPTIONS gets 405.
  std::vector<std::string> cors_origins{};
};

}  // namespace appkeys::testing
