// appkeys — HttplibTransport: the Transport over cpp-httplib, with keep-alive pooling.
//
// cpp-httplib is a compiled library on Debian 12 (0.11.4): build with the flags and libs
// of `pkg-config --cflags --libs cpp-httplib`. They define CPPHTTPLIB_OPENSSL_SUPPORT,
// which also changes the layout of httplib's classes, so compiling this header without
// them against that library is an ODR violation, not merely "no TLS".
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/url.hpp>
#include <appkeys/detail/wipe.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/secret.hpp>

#include <httplib.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

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

namespace httplib_detail {

using Clock = std::chrono::steady_clock;

/// An absolute http(s) URL taken apart for httplib.
struct Target {
  bool https = false;
  std::string host;  // as given, brackets stripped from an IPv6 literal
  int port = 0;
  std::string path_query;  // "/path?query", fragment dropped, never empty (exchange takes it)
  std::string origin;      // "https://host:port", lower-case scheme and host: the pool key
};

/// RFC 9110 token characters (what a header name may contain), as a table: every
/// request's every header name is checked, so this is on the hot path.
inline constexpr bool is_token_char(char c) noexcept {
  constexpr auto table = [] {
    struct Table {
      bool allowed[256] = {};
    } t;
    for (int c = '0'; c <= '9'; ++c) t.allowed[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t.allowed[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t.allowed[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
      t.allowed[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  return table.allowed[static_cast<unsigned char>(c)];
}

inline bool valid_header_name(std::string_view name) noexcept {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_token_char);
}

/// httplib writes values verbatim, so a CR or LF here would let a value add headers or
/// end the request early.
inline bool valid_header_value(std::string_view value) noexcept {
  // Three memchr scans (vectorised) instead of one loop of three comparisons a byte:
  // every request's Authorization value is a few hundred bytes.
  for (const char forbidden : {'\r', '\n', '\0'}) {
    if (std::memchr(value.data(), forbidden, value.size()) != nullptr) return false;
  }
  return true;
}

inline AppError url_error(std::string_view why) {
  return AppError(errc::invalid_argument,
                  "HttplibTransport: invalid request URL: " + std::string(why));
}

/// Takes an absolute http:// or https:// URL apart (detail::split_url) and checks it
/// for httplib. Userinfo ("user:pw@host") is refused: credentials travel in headers,
/// never in URLs that end up in logs.
inline Result<Target> parse_url(std::string_view url) {
  const detail::UrlSplit split = detail::split_url(url);
  if (!split) return url_error(split.problem);
  const detail::UrlParts& parts = split.parts;
  if (parts.authority.find('@') != std::string_view::npos) {
    return url_error("credentials in the URL (user@host) are not supported");
  }
  const std::string_view host = parts.host;
  if (parts.bracketed) {
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return url_error("malformed IPv6 literal");
    }
  } else if (!std::all_of(host.begin(), host.end(), [](char c) {
               // ASCII only, whatever the locale (std::isalnum follows it).
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_';
             })) {
    return url_error("the host contains characters that are not allowed in a host name");
  }

  Target target;
  target.https = parts.https;
  target.port = target.https ? 443 : 80;
  if (!parts.port.empty()) {
    const std::string_view port_text = parts.port;
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                             [](char c) { return c >= '0' && c <= '9'; })) {
      return url_error("the port is not a number");
    }
    target.port = 0;
    for (char c : port_text) target.port = target.port * 10 + (c - '0');
    if (target.port < 1 || target.port > 65535) return url_error("the port is out of range");
  }

  const std::string_view tail = parts.target.substr(0, parts.target.find('#'));
  if (std::any_of(tail.begin(), tail.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte >= 0x7f;
      })) {
    return url_error(
        "the path or query contains spaces, control or non-ASCII characters "
        "(percent-encode them)");
  }
  if (tail.empty() || tail.front() != '/') target.path_query = '/';
  target.path_query += tail;

  target.host = std::string(host);
  // The pool key: scheme, host and port, lower-case, the port always spelled out.
  std::string& origin = target.origin;
  origin.reserve(parts.scheme.size() + host.size() + 11);
  origin = target.https ? "https://" : "http://";
  if (parts.bracketed) origin += '[';
  for (char c : host) origin += detail::ascii_lower(c);
  if (parts.bracketed) origin += ']';
  origin += ':';
  origin += std::to_string(target.port);
  return target;
}

/// The library's one loopback rule (detail/url.hpp), under the name the CLI uses.
using detail::is_loopback_host;

/// Keeps SIGPIPE away from the calling thread while it lives. cpp-httplib (0.11.4 as
/// built by Debian) writes to sockets without MSG_NOSIGNAL and OpenSSL writes
/// close_notify when a client is destroyed, so a write to a connection the peer reset,
/// or that the watchdog shut down, would raise SIGPIPE and by default kill the process.
/// Blocking it in this thread turns that into an EPIPE error; a SIGPIPE raised meanwhile
/// is consumed before the old mask returns. Process-wide dispositions stay untouched.
///
/// Three system calls in the common case (block; at the end, look for a pending
/// SIGPIPE, restore). No SIGPIPE can be pending for this thread when the guard starts
/// with SIGPIPE unblocked (it would have been delivered), so one found pending at the
/// end is ours; with SIGPIPE already blocked the guard consumes nothing.
class SigpipeGuard {
 public:
  SigpipeGuard() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    active_ = ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  ~SigpipeGuard() {
    if (!active_) return;
    if (sigismember(&old_, SIGPIPE) == 1) {
      ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
      return;  // it was blocked already: nothing of ours to consume
    }
    sigset_t pending;
    sigemptyset(&pending);
    if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec no_wait{0, 0};
      ::sigtimedwait(&pipe_, nullptr, &no_wait);
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool active_ = false;
};

/// Enforces whole-request deadlines. httplib 0.11 has only per-operation socket
/// timeouts, so a peer that sends one byte just before each read times out could hold a
/// request forever; at a request's deadline this thread calls Client::stop(), httplib's
/// thread-safe way to shut the socket down under a running request, which makes the
/// blocked read or write fail at once.
///
/// stop() waits for httplib's socket mutex, which send() holds while it connects and
/// does the TLS handshake; each firing therefore runs on a short-lived thread of its
/// own, so one slow connect never delays another request's deadline. Firings happen
/// only for requests that time out.
///
/// Thread safety: arm() and disarm() may be called concurrently.
class Watchdog {
 public:
  Watchdog() = default;
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  /// Watches `client` until disarm(id); stops it if `deadline` passes first.
  std::uint64_t arm(Clock::time_point deadline, httplib::ClientImpl* client) {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    const std::uint64_t id = next_id_++;
    entries_.emplace(id, Entry{deadline, client, false, {}});
    // Wake the thread only if it would otherwise sleep past this deadline. In steady
    // use every new deadline lies beyond the one it sleeps towards (they are all "now +
    // timeout"), so a request costs no wake-up and no context switch; the thread
    // re-scans when its (possibly stale) deadline comes.
    if (deadline < sleeping_until_) changed_.notify_all();
    return id;
  }

  /// Stops watching; returns true if the deadline fired (the client's socket was shut
  /// down, so it must not be reused). Once this returns, the watchdog no longer
  /// touches the client.
  bool disarm(std::uint64_t id) {
    std::thread firer;
    bool fired = false;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(id);
      if (it == entries_.end()) return false;
      fired = it->second.fired;
      firer = std::move(it->second.firer);
      entries_.erase(it);
    }
    // The firing thread returns as soon as stop() does; send() has returned by now, so
    // httplib's socket mutex is free.
    if (firer.joinable()) firer.join();
    return fired;
  }

 private:
  struct Entry {
    Clock::time_point deadline;
    httplib::ClientImpl* client;
    bool fired;
    std::thread firer;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      Entry* next = nullptr;
      for (auto& [id, entry] : entries_) {
        if (!entry.fired && (next == nullptr || entry.deadline < next->deadline)) next = &entry;
      }
      if (next == nullptr) {
        sleeping_until_ = Clock::time_point::max();
        changed_.wait(lock);
        sleeping_until_ = Clock::time_point::min();
        continue;
      }
      if (const Clock::time_point deadline = next->deadline; Clock::now() < deadline) {
        // A copy: the entry may be erased while the lock is released.
        sleeping_until_ = deadline;
        changed_.wait_until(lock, deadline);
        sleeping_until_ = Clock::time_point::min();
        continue;
      }
      next->fired = true;
      httplib::ClientImpl* client = next->client;
      next->firer = std::thread([client] {
        SigpipeGuard quiet;  // stop() may write a TLS close_notify to a dead socket
        client->stop();
      });
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, Entry> entries_;  // guarded by mutex_
  std::uint64_t next_id_ = 1;               // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  // When the thread will next look at entries_ by itself: the deadline it waits for,
  // max() while it waits for a notification, min() while it is not waiting (or not yet
  // started), so that arm() notifies. Guarded by mutex_.
  Clock::time_point sleeping_until_ = Clock::time_point::min();
  std::thread thread_;  // started by the first arm()
};

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
/// An SSLClient that reaches its server through an HTTP proxy's CONNECT tunnel which
/// this class opens itself. httplib 0.11.4's own tunnelling deadlocks for ever (it
/// locks its non-recursive socket mutex twice) when the proxy answers the CONNECT with
/// "Connection: close" or as HTTP/1.0 with any reason but "Connection established",
/// as proxies refusing credentials (407) commonly do. Overriding the virtual
/// create_and_connect_socket() hands httplib a socket that already is the tunnel; the
/// TLS handshake, SNI and certificate checks are then httplib's, for the real host.
///
/// Thread safety: as httplib::SSLClient (one request at a time); budget() must be set
/// before each send.
class ProxyTunnelClient final : public httplib::SSLClient {
 public:
  ProxyTunnelClient(const std::string& host, int port, std::string proxy_host, int proxy_port,
                    std::string proxy_authorization)
      : httplib::SSLClient(host, port),
        authority_((host.find(':') != std::string::npos ? '[' + host + ']' : host) + ':' +
                   std::to_string(port)),
        proxy_host_(std::move(proxy_host)),
        proxy_port_(proxy_port),
        proxy_authorization_(std::move(proxy_authorization)) {}
  ProxyTunnelClient(const ProxyTunnelClient&) = delete;
  ProxyTunnelClient& operator=(const ProxyTunnelClient&) = delete;
  ~ProxyTunnelClient() override { detail::wipe(proxy_authorization_); }

  /// Bounds the next tunnel set-up: connecting to the proxy by `connect_timeout`, all of
  /// it by `deadline`.
  void budget(Clock::time_point deadline, std::chrono::milliseconds connect_timeout) {
    deadline_ = deadline;
    connect_timeout_ = connect_timeout;
    refused_status_ = 0;
  }
  /// The status the proxy refused the last CONNECT with; 0 if it did not refuse one.
  int refused_status() const noexcept { return refused_status_; }

 private:
  bool create_and_connect_socket(Socket& socket, httplib::Error& error) override {
    if (!is_valid()) {
      error = httplib::Error::SSLConnection;
      return false;
    }
    const Clock::time_point connect_by = std::min(deadline_, Clock::now() + connect_timeout_);
    const int fd = connect_to_proxy(connect_by, error);
    if (fd < 0) return false;
    std::string request = "CONNECT " + authority_ + " HTTP/1.1\r\nHost: " + authority_ + "\r\n";
    if (!proxy_authorization_.empty()) {
      request += "Proxy-Authorization: " + proxy_authorization_ + "\r\n";
    }
    request += "\r\n";
    const bool sent = send_all(fd, request);
    detail::wipe(request);
    std::string head;
    if (!sent || !read_head(fd, head)) {
      ::close(fd);
      error = Clock::now() >= deadline_ ? httplib::Error::ConnectionTimeout
                                        : httplib::Error::Connection;
      return false;
    }
    // "HTTP/1.1 200 Connection established": any 2xx opens the tunnel.
    const std::size_t space = head.find(' ');
    const int status = space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
    if (status < 200 || status > 299) {
      ::close(fd);
      refused_status_ = status == 0 ? -1 : status;
      error = httplib::Error::Connection;
      return false;
    }
    socket.sock = fd;
    return true;
  }

  static int remaining_ms(Clock::time_point until) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 24LL * 3600 * 1000));
  }

  int connect_to_proxy(Clock::time_point connect_by, httplib::Error& error) const {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(proxy_port_);
    if (::getaddrinfo(proxy_host_.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
      error = httplib::Error::Connection;
      return -1;
    }
    int connected = -1;
    bool timed_out = false;
    for (addrinfo* address = found; address != nullptr && connected < 0;
         address = address->ai_next) {
      const int fd =
          ::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   address->ai_protocol);
      if (fd < 0) continue;
      int ok = ::connect(fd, address->ai_addr, address->ai_addrlen) == 0 ? 1 : 0;
      if (ok == 0 && errno == EINPROGRESS) {
        pollfd ready{fd, POLLOUT, 0};
        const int waited = ::poll(&ready, 1, remaining_ms(connect_by));
        int failure = 0;
        socklen_t length = sizeof(failure);
        if (waited == 0) timed_out = true;
        ok = waited > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 &&
                     failure == 0
                 ? 1
                 : 0;
      }
      if (ok == 1) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // httplib expects blocking
        int yes = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
        connected = fd;
      } else {
        ::close(fd);
      }
    }
    ::freeaddrinfo(found);
    if (connected < 0) {
      error = timed_out ? httplib::Error::ConnectionTimeout : httplib::Error::Connection;
    }
    return connected;
  }

  bool send_all(int fd, std::string_view data) const {
    while (!data.empty()) {
      pollfd ready{fd, POLLOUT, 0};
      if (::poll(&ready, 1, remaining_ms(deadline_)) <= 0) return false;
      const auto sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  /// The proxy's response head, read one byte at a time so that no byte of the tunnel
  /// that might follow it is consumed.
  bool read_head(int fd, std::string& head) const {
    while (head.size() < 16 * 1024) {
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, remaining_ms(deadline_)) <= 0) return false;
      char byte = 0;
      if (::recv(fd, &byte, 1, 0) != 1) return false;
      head += byte;
      if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) return true;
    }
    return false;
  }

  std::string authority_;
  std::string proxy_host_;
  int proxy_port_;
  std::string proxy_authorization_;  // "Basic ..." or empty
  Clock::time_point deadline_ = Clock::now();
  std::chrono::milliseconds connect_timeout_{10'000};
  int refused_status_ = 0;
};
#endif

/// Arms a Watchdog for one request and disarms it on every path out, so the watchdog
/// never holds a pointer to a client that went back to the pool.
class Watch {
 public:
  Watch(Watchdog& watchdog, Clock::time_point deadline, httplib::ClientImpl& client)
      : watchdog_(watchdog), id_(watchdog.arm(deadline, &client)) {}
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch() {
    if (id_ != 0) watchdog_.disarm(id_);
  }
  /// True if the deadline fired and the client was stopped.
  bool disarm() { return watchdog_.disarm(std::exchange(id_, 0)); }

 private:
  Watchdog& watchdog_;
  std::uint64_t id_;
};

}  // namespace httplib_detail

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
/// - SIGPIPE is blocked in the calling thread while httplib writes (see SigpipeGuard);
///   the process's signal dispositions are left alone.
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

  struct Origin {
    std::vector<std::unique_ptr<httplib::ClientImpl>> idle;
    std::size_t alive = 0;  // idle + in use
  };

  struct State {
    explicit State(HttplibTransportOptions opts) : options(std::move(opts)) {}
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
      httplib_detail::SigpipeGuard quiet;  // closing TLS clients writes close_notify
      origins.clear();
    }

    const HttplibTransportOptions options;
    std::mutex mutex;
    std::condition_variable returned;       // a connection went back or was closed
    std::map<std::string, Origin> origins;  // guarded by mutex; never erased
    // Destroyed first: joins its thread before any pooled client goes away.
    httplib_detail::Watchdog watchdog;
  };

  /// A pooled client lent to one request; goes back to the pool, or is closed, on
  /// destruction (closed unless keep() was called).
  class Lease {
   public:
    Lease(State& state, Origin& origin, std::unique_ptr<httplib::ClientImpl> client)
        : state_(&state), origin_(&origin), client_(std::move(client)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      std::unique_ptr<httplib::ClientImpl> doomed;
      {
        std::lock_guard lock(state_->mutex);
        if (reusable_) {
#if APPKEYS_HAS_EXCEPTIONS
          try {
            origin_->idle.push_back(std::move(client_));
          } catch (...) {  // no memory for the idle list: close the connection instead
            doomed = std::move(client_);
            --origin_->alive;
          }
#else
          origin_->idle.push_back(std::move(client_));
#endif
        } else {
          doomed = std::move(client_);
          --origin_->alive;
        }
      }
      state_->returned.notify_all();
      if (doomed) {
        // Closing may write (see SigpipeGuard). Only then: a connection going back to
        // the pool writes nothing, and the guard costs four system calls.
        httplib_detail::SigpipeGuard quiet;
        doomed.reset();  // closes its socket here, outside the lock
      }
    }
    httplib::ClientImpl& client() noexcept { return *client_; }
    void adopt(std::unique_ptr<httplib::ClientImpl> client) noexcept {
      client_ = std::move(client);
    }
    void keep() noexcept { reusable_ = true; }

   private:
    State* state_;
    Origin* origin_;
    std::unique_ptr<httplib::ClientImpl> client_;
    bool reusable_ = false;
  };

  static std::string describe(const HttpRequest& request) {
    std::string text(to_string(request.method));
    text += ' ';
    const std::string_view url = request.url;
    text += url.substr(0, url.find_first_of("?#"));  // a query string could carry a secret
    return text;
  }

  bool use_proxy(const Target& target) const {
    return !state_->options.proxy_host.empty() && !httplib_detail::is_loopback_host(target.host);
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

    auto lease = acquire(target, deadline, request);
    if (!lease) return std::move(lease).error();
    return exchange(**lease, target, request, deadline);
  }

  /// A client for the target's origin: an idle pooled one, a new one while the origin
  /// has fewer than max_connections_per_host, else the first one returned in time.
  Result<std::unique_ptr<Lease>> acquire(const Target& target, Clock::time_point deadline,
                                         const HttpRequest& request) {
    const std::size_t limit = std::max<std::size_t>(1, state_->options.max_connections_per_host);
    std::unique_lock lock(state_->mutex);
    Origin& origin = state_->origins[target.origin];
    for (;;) {
      if (!origin.idle.empty()) {
        auto client = std::move(origin.idle.back());  // most recently used: likeliest alive
        origin.idle.pop_back();
        lock.unlock();
        return std::make_unique<Lease>(*state_, origin, std::move(client));
      }
      if (origin.alive < limit) break;
      if (state_->returned.wait_until(lock, deadline) == std::cv_status::timeout &&
          origin.idle.empty() && origin.alive >= limit) {
        return AppError(errc::timeout, "HttplibTransport: " + describe(request) +
                                           ": timed out waiting for one of the " +
                                           std::to_string(limit) + " connections to " +
                                           target.origin);
      }
    }
    ++origin.alive;
    lock.unlock();
#if APPKEYS_HAS_EXCEPTIONS
    // Until a Lease owns the slot, give it back by hand if anything throws.
    std::unique_ptr<Lease> lease;
    try {
      lease = std::make_unique<Lease>(*state_, origin, nullptr);
    } catch (...) {
      {
        std::lock_guard relock(state_->mutex);
        --origin.alive;
      }
      state_->returned.notify_all();
      throw;
    }
#else
    auto lease = std::make_unique<Lease>(*state_, origin, nullptr);
#endif
    lease->adopt(make_client(target));  // if this throws, ~Lease gives the slot back
    return lease;
  }

  std::unique_ptr<httplib::ClientImpl> make_client(const Target& target) const {
    const HttplibTransportOptions& options = state_->options;
    std::unique_ptr<httplib::ClientImpl> client;
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (target.https) {
      std::unique_ptr<httplib::SSLClient> tls;
      if (use_proxy(target)) {
        std::string authorization;
        if (!options.proxy_username.empty()) {
          std::string password(options.proxy_password.reveal());
          authorization =
              httplib::make_basic_authentication_header(options.proxy_username, password, true)
                  .second;
          detail::wipe(password);
        }
        tls = std::make_unique<httplib_detail::ProxyTunnelClient>(
            target.host, target.port, options.proxy_host, options.proxy_port,
            std::move(authorization));
      } else {
        tls = std::make_unique<httplib::SSLClient>(target.host, target.port);
      }
      if (options.danger_accept_invalid_certificates) {
        tls->enable_server_certificate_verification(false);
      }
      if (!options.ca_file.empty() || !options.ca_dir.empty()) {
        tls->set_ca_cert_path(options.ca_file, options.ca_dir);
      }
      client = std::move(tls);
    }
#endif
    if (!client) client = std::make_unique<httplib::ClientImpl>(target.host, target.port);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // else a kept-alive request waits ~40 ms on Nagle
    client->set_follow_location(false);
    client->set_url_encode(false);             // the URL is already encoded; send it byte for byte
    if (use_proxy(target) && !target.https) {  // https: ProxyTunnelClient
      client->set_proxy(options.proxy_host, options.proxy_port);
      if (!options.proxy_username.empty()) {
        std::string password(options.proxy_password.reveal());
        client->set_proxy_basic_auth(options.proxy_username, password);
        detail::wipe(password);
      }
    }
    return client;
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
      // One lookup with a key built once (has_header plus get_header_value made two,
      // each building its std::string key), and the body's buffer sized once: it may
      // hold a token, and a string that grows leaves copies in the blocks it frees.
      static const std::string content_length = "Content-Length";
      const auto it = head.headers.find(content_length);
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
      httplib_detail::SigpipeGuard quiet;
      httplib_detail::Watch watch(state_->watchdog, deadline, client);
      ok = client.send(out, response, error);
      stopped = watch.disarm();
    }
    scrub(out);

    if (!ok) {
      return failure(request, target, lease, error, in.too_large,
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
    for (auto& [name, value] : response.headers) result.headers.emplace(name, std::move(value));
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

  AppError failure(const HttpRequest& request, const Target& target, Lease& lease,
                   httplib::Error error, bool too_large, bool timed_out) const {
    const std::string what = "HttplibTransport: " + describe(request) + ": ";
    const std::string peer = target.origin;
    if (too_large) {
      return AppError(errc::response_too_large,
                      what + "the response body exceeds max_response_bytes (" +
                          std::to_string(state_->options.max_response_bytes) + " bytes)");
    }
    using E = httplib::Error;
    switch (error) {
      case E::ConnectionTimeout:
        return AppError(errc::timeout, what + "timed out connecting to " + peer);
      case E::Connection:
      case E::BindIPAddress:
        if (const int status = proxy_refusal(lease); status != 0) {
          return AppError(errc::connection_failed,
                          what + "the proxy " + state_->options.proxy_host + ':' +
                              std::to_string(state_->options.proxy_port) +
                              " refused the tunnel to " + peer +
                              (status > 0 ? " (HTTP " + std::to_string(status) + ")"
                                          : std::string(" (malformed answer)")));
        }
        if (timed_out) return AppError(errc::timeout, what + "timed out connecting to " + peer);
        return AppError(errc::connection_failed,
                        what + "could not connect to " + peer +
                            (use_proxy(target) ? " through the proxy" : "") +
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
                                       state_->options.ca_file + "', ca_dir '" +
                                       state_->options.ca_dir + "')");
      case E::SSLServerVerification:
        return AppError(errc::tls, what + "the certificate of " + peer + " is not valid for it" +
                                       verify_detail(lease));
      case E::Compression:
        return AppError(errc::transport, what + "the response body could not be decompressed");
      default:
        return AppError(errc::transport,
                        what + "cpp-httplib reported error '" + httplib::to_string(error) + "'");
    }
  }

  static int proxy_refusal([[maybe_unused]] Lease& lease) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (auto* tunnel = dynamic_cast<httplib_detail::ProxyTunnelClient*>(&lease.client())) {
      return tunnel->refused_status();
    }
#endif
    return 0;
  }

  static std::string verify_detail([[maybe_unused]] Lease& lease) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (auto* tls = dynamic_cast<httplib::SSLClient*>(&lease.client())) {
      const long code = tls->get_openssl_verify_result();
      if (code != X509_V_OK) return std::string(" (") + X509_verify_cert_error_string(code) + ")";
      return " (the certificate does not name this host)";
    }
#endif
    return {};
  }

  std::shared_ptr<State> state_;
};

static_assert(Transport<HttplibTransport>);

}  // namespace appkeys
