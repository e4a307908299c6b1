// appkeys — HttplibTransport: the Transport over cpp-httplib, with keep-alive pooling.
//
// cpp-httplib is a compiled library on Debian 12 (0.11.4): build with the flags and libs
// of `pkg-config --cflags --libs cpp-httplib`. They define CPPHTTPLIB_OPENSSL_SUPPORT,
// which also changes the layout of httplib's classes, so compiling this header without
// them against that library is an ODR violation, not merely "no TLS".
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/url.hpp>
#include <appkeys/detail/wipe.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/httplib_detail/clock.hpp>
#include <appkeys/transport/httplib_detail/failure.hpp>
#include <appkeys/transport/httplib_detail/pool.hpp>
#include <appkeys/transport/httplib_detail/proxy_tunnel.hpp>
#include <appkeys/transport/httplib_detail/sigpipe_guard.hpp>
#include <appkeys/transport/httplib_detail/target.hpp>
#include <appkeys/transport/httplib_detail/watchdog.hpp>
#include <appkeys/transport/httplib_options.hpp>

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys {

/// A Transport over cpp-httplib: HTTP/1.1 with keep-alive connections pooled per
/// scheme://host:port, TLS through OpenSSL with certificate and hostname verification.
///
///     appkeys::App<appkeys::HttplibTransport> app({.app_id = "shop-abcde"});
///     appkeys::HttplibTransport custom({.ca_file = "/etc/ssl/private-ca.pem"});
///
/// What it guarantees:
/// - Any HTTP status is a response; redirects are never followed. Only a failed exchange
///   is an error: errc::connection_failed (refused, unreachable, DNS), errc::timeout,
///   errc::tls (handshake, certificate or hostname), errc::insecure_transport,
///   errc::response_too_large, errc::transport (connection lost mid-response, anything
///   else), errc::invalid_argument (a malformed URL or header). Messages name the method
///   and URL without its query, never a header value, the body or the proxy password.
/// - request.timeout bounds the whole exchange: waiting for a pooled connection,
///   connecting (also capped by connect_timeout), the TLS handshake, sending and
///   receiving. Every socket wait is capped by the remaining budget, and a watchdog
///   thread (one per transport, started by the first request) shuts the socket down at
///   the deadline, so a server that trickles bytes cannot stretch the call. Precision:
///   once connected, the call returns within a few milliseconds of the deadline. The
///   watchdog cannot interrupt httplib while it connects and does the TLS handshake
///   (httplib holds its socket lock then); those steps are bounded per socket wait by
///   the time left when the request started, so only a peer that trickles its TLS
///   handshake can hold a call past request.timeout.
/// - No write raises SIGPIPE, and the process's signal dispositions are left alone:
///   plain HTTP is sent with MSG_NOSIGNAL (PlainClient); over TLS, where OpenSSL does
///   the writing, SIGPIPE is blocked in the calling thread meanwhile (SigpipeGuard).
/// - Method, headers and body are sent as given, except that httplib adds Host,
///   `Accept: */*` and `User-Agent: cpp-httplib/<version>` when the request has none,
///   and frames the body itself (a given Content-Length or Transfer-Encoding is not
///   forwarded). No Content-Type is added. A request with an empty body carries
///   `Content-Length: 0` for POST and PUT, nothing for GET and DELETE.
/// - A connection that failed in any way, or that the watchdog stopped, is closed and
///   never reused.
/// - Response header values are percent-decoded by httplib 0.11 ("a%20b" → "a b");
///   no header of PROTOCOL.md contains a '%'.
///
/// Copies share one pool and one watchdog; a moved-from transport only reports errors.
///
/// Thread safety: send() may be called concurrently from any number of threads on one
/// transport or its copies; each pooled connection serves one request at a time, so
/// up to max_connections_per_host requests per origin run in parallel. Destroying the
/// last copy while a send() runs is undefined.
class HttplibTransport {
 public:
  HttplibTransport() : HttplibTransport(HttplibTransportOptions{}) {}
  /// A transport configured by `options` (HttplibTransport() uses the defaults).
  explicit HttplibTransport(HttplibTransportOptions options)
      : state_(detail::share_new<State>(std::move(options))) {}

  /// Precondition: not moved from.
  const HttplibTransportOptions& options() const noexcept { return state_->options; }

  /// Sends `request` on a pooled connection; any HTTP status is a response, failures to
  /// get one are errc::insecure_transport (before any I/O), connection_failed,
  /// timeout, tls, transport or response_too_large.
  Result<HttpResponse> send(const HttpRequest& request) {
    if (!state_) return AppError(errc::transport, "HttplibTransport: used after being moved from");
#if APPKEYS_HAS_EXCEPTIONS
    try {
      return send_checked(request);
    } catch (const std::exception&) {
      // The exception's text is not kept: it could quote the request.
      return AppError(errc::transport, "HttplibTransport: " + describe(request) +
                                           ": unexpected exception inside cpp-httplib");
    }
#else
    return send_checked(request);
#endif
  }

 private:
  using Clock = httplib_detail::Clock;
  using Target = httplib_detail::Target;

  using Lease = httplib_detail::Pool::Lease;

  struct State {
    explicit State(HttplibTransportOptions opts) : options(std::move(opts)) {}

    const HttplibTransportOptions options;
    httplib_detail::Pool pool;
    // Destroyed first: joins its thread before any pooled client goes away.
    httplib_detail::Watchdog watchdog;
  };

  static std::string describe(const HttpRequest& request) {
    return httplib_detail::describe(request);
  }

  bool use_proxy(const Target& target) const {
    return httplib_detail::use_proxy(state_->options, target);
  }

  Result<HttpResponse> send_checked(const HttpRequest& request) {
    namespace support = httplib_detail;
    const HttplibTransportOptions& options = state_->options;

    auto parsed = support::parse_url(request.url);
    if (!parsed) return std::move(parsed).error();
    Target& target = *parsed;
    if (!target.https && !options.allow_insecure_http && !support::is_loopback_host(target.host)) {
      return AppError(errc::insecure_transport,
                      "HttplibTransport: refused to send " + describe(request) +
                          " over plain HTTP to a non-loopback host; use https:// (or set "
                          "HttplibTransportOptions::allow_insecure_http)");
    }
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
    if (target.https) {
      return AppError(errc::tls, "HttplibTransport: " + describe(request) +
                                     ": cpp-httplib was built without OpenSSL support "
                                     "(compile with `pkg-config --cflags cpp-httplib`)");
    }
#endif
    for (const auto& [name, value] : request.headers) {
      if (!support::valid_header_name(name) || !support::valid_header_value(value)) {
        // The value is not quoted: it may be a token.
        return AppError(errc::invalid_argument,
                        "HttplibTransport: " + describe(request) + ": header '" +
                            (support::valid_header_name(name) ? name : std::string("?")) +
                            "' has a malformed name or a CR, LF or NUL in its value");
      }
    }
    if (use_proxy(target) && (options.proxy_port < 1 || options.proxy_port > 65535)) {
      return AppError(errc::invalid_argument,
                      "HttplibTransport: proxy_port must be between 1 and 65535");
    }
    if (request.timeout <= std::chrono::milliseconds::zero()) {
      return AppError(errc::invalid_argument, "HttplibTransport: " + describe(request) +
                                                  ": the request timeout must be positive");
    }

    const auto start = Clock::now();
    const auto deadline =
        start + std::min<std::chrono::milliseconds>(request.timeout, std::chrono::hours(24 * 365));

    auto lease = state_->pool.acquire(target, deadline, options);
    if (!lease) {
      return AppError(errc::timeout, "HttplibTransport: " + describe(request) +
                                         ": timed out waiting for one of the " +
                                         std::to_string(support::Pool::connection_limit(options)) +
                                         " connections to " + target.origin);
    }
    return exchange(*lease, target, request, deadline);
  }

  Result<HttpResponse> exchange(Lease& lease, Target& target, const HttpRequest& request,
                                Clock::time_point deadline) {
    const HttplibTransportOptions& options = state_->options;
    httplib::ClientImpl& client = lease.client();

    auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    remaining = std::max(remaining, std::chrono::microseconds(1000));
    client.set_connection_timeout(
        std::min<std::chrono::microseconds>(remaining, options.connect_timeout));
    // httplib's poll() takes whole milliseconds and truncates, so a socket wait set to
    // exactly the remaining budget can end just before the deadline and look like a
    // dropped connection. A little slack lets the watchdog (or the clock) decide.
    const auto socket_wait = remaining + std::chrono::milliseconds(20);
    client.set_read_timeout(socket_wait);
    client.set_write_timeout(socket_wait);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (target.https && use_proxy(target)) {  // only then is the client a tunnel
      if (auto* tunnel = dynamic_cast<httplib_detail::ProxyTunnelClient*>(&client)) {
        tunnel->budget(deadline, options.connect_timeout);
      }
    }
#endif

    httplib::Request out;
    out.method = std::string(to_string(request.method));
    out.path = std::move(target.path_query);
    for (const auto& [name, value] : request.headers) {
      if (detail::iequals(name, "Content-Length") || detail::iequals(name, "Transfer-Encoding")) {
        continue;
      }
      out.headers.emplace(name, value);
    }
    if (!request.body.empty()) {
      // A content provider instead of out.body: httplib adds "Content-Type: text/plain"
      // to a body without one, but not to provided content, and the body (which may
      // hold a password or key) is not copied.
      const std::string* body = &request.body;
      out.content_length_ = body->size();
      out.content_provider_ = [body](std::size_t offset, std::size_t length,
                                     httplib::DataSink& sink) {
        return sink.write(body->data() + offset, length);
      };
    }

    // What the two callbacks below share, reached through one pointer: a std::function
    // stores a capture of one pointer in place, while the five references this holds
    // would cost each callback a heap allocation per request.
    struct Receiving {
      std::string body;
      bool too_large = false;
      bool past_deadline = false;
      std::size_t limit;
      Clock::time_point deadline;
    } in{{}, false, false, options.max_response_bytes, deadline};
    out.response_handler = [in = &in](const httplib::Response& head) {
      // The body's buffer is sized once: it may hold a token, and a string that grows
      // leaves copies in the blocks it frees. The header is found by a scan that skips
      // names of another length: a response has a handful of headers, and httplib's own
      // find() calls tolower() on every character it compares.
      constexpr std::string_view content_length = "Content-Length";
      const auto it =
          std::find_if(head.headers.begin(), head.headers.end(), [&](const auto& header) {
            return header.first.size() == content_length.size() &&
                   detail::iequals(header.first, content_length);
          });
      if (it == head.headers.end()) return true;
      std::uint64_t length = 0;
      const std::string& text = it->second;
      const auto [end, parse_error] =
          std::from_chars(text.data(), text.data() + text.size(), length);
      if (parse_error != std::errc() || end != text.data() + text.size()) return true;
      if (length > in->limit) {
        in->too_large = true;
        return false;
      }
      in->body.reserve(static_cast<std::size_t>(length));
      return true;
    };
    out.content_receiver = [in = &in](const char* data, std::size_t size, std::uint64_t,
                                      std::uint64_t) {
      if (size > in->limit - std::min(in->limit, in->body.size())) {
        in->too_large = true;
        return false;
      }
      if (Clock::now() >= in->deadline) {
        in->past_deadline = true;
        return false;
      }
      in->body.append(data, size);
      return true;
    };

    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    bool ok = false;
    bool stopped = false;
    {
      // Only TLS needs it: plain HTTP sends with MSG_NOSIGNAL (PlainClient).
      httplib_detail::SigpipeGuard quiet(/*needed=*/target.https);
      httplib_detail::Watch watch(state_->watchdog, deadline, client);
      ok = client.send(out, response, error);
      stopped = watch.disarm();
    }
    scrub(out);

    if (!ok) {
      return httplib_detail::exchange_failure(
          request, target, lease.client(), options, error, in.too_large,
          in.past_deadline || stopped || Clock::now() >= deadline);
    }
    if (response.status == 407 && use_proxy(target)) {
      // Only a proxy sends 407 (RFC 9110 §15.5.8): the server was never reached.
      return AppError(errc::connection_failed,
                      "HttplibTransport: " + describe(request) + ": the proxy " +
                          options.proxy_host + ':' + std::to_string(options.proxy_port) +
                          " refused the request (407 Proxy Authentication Required)");
    }

    HttpResponse result;
    result.status = response.status;
    // Moves httplib's header nodes over as they are (std::multimap::merge takes nodes
    // from a map with another comparator): no allocation or copy per header.
    result.headers.merge(response.headers);
    result.body = std::move(in.body);
    if (!stopped) lease.keep();
    return result;
  }

  /// Wipes httplib's copies of the Authorization header.
  static void scrub(httplib::Request& out) noexcept {
    for (auto& [name, value] : out.headers) {
      if (detail::iequals(name, "Authorization")) detail::wipe(value);
    }
  }

  std::shared_ptr<State> state_;
};

static_assert(Transport<HttplibTransport>);

}  // namespace appkeys
