// appkeys — LocalServer: a backend (FakeBackend, or any ServableBackend) served over real
// HTTP or HTTPS.
//
// Needs cpp-httplib (`pkg-config --cflags --libs cpp-httplib`; HTTPS needs its OpenSSL
// support, which Debian's has). The server is only an HTTP skin: every route, status,
// header and body comes from the backend's handle().
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/testing/fake.hpp>
#include <appkeys/testing/local_server_address.hpp>
#include <appkeys/testing/local_server_body.hpp>
#include <appkeys/testing/local_server_cors.hpp>
#include <appkeys/testing/local_server_detail.hpp>
#include <appkeys/testing/local_server_options.hpp>
#include <appkeys/testing/local_server_tls.hpp>

#include <httplib.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace appkeys::testing {

/// Serves a backend (a FakeBackend, or any ServableBackend) over HTTP/1.1, or HTTPS
/// when given a certificate, in a background thread, from construction to destruction,
/// for this library's tests, for `appkeys serve`, and for any other client (curl, the
/// official SDKs) pointed at base_url().
///
///     appkeys::testing::FakeBackend backend;
///     appkeys::testing::LocalServer server{backend};
///     appkeys::App<appkeys::HttplibTransport> app({.app_id = "a", .base_url = server.base_url()});
///
/// - Each request reaches the backend's handle() as an HttpRequest whose url is
///   "<scheme>://<host>:<port><target as received>" (so the location route names the
///   server's own address), with the client's headers and body; the backend's status,
///   headers and body go back unchanged. The host is the bind address, or the
///   request's own Host header when the server listens on a wildcard address or serves
///   HTTPS (there the name a client dialled is the one its certificate check needs).
///   HEAD is answered as GET without the body; PATCH, OPTIONS and TRACE get 405 with
///   an Allow header, multipart forms 415. With LocalServerOptions::cors_origins, a
///   browser's preflight from a listed origin is answered 204 and every answer to a
///   listed origin names it in Access-Control-Allow-Origin. A POST, PUT or DELETE with neither
///   Content-Length nor Transfer-Encoding (as `curl -X PUT URL` sends) has an empty body.
/// - A 204 carries neither Content-Type nor Content-Length (httplib adds
///   "Content-Length: 0", which is removed); PROTOCOL.md §3.
/// - A body above the backend's limit (FakeBackendOptions::max_body_bytes when the
///   backend exposes options(), else 64 MiB; above it the backend's own 413 answers) is
///   refused with 413 and the backend's JSON error (ReadSizeLimitExceeded) before it
///   reaches the backend, chunked or not.
/// - Connections are kept alive (up to 1000 requests, 2 s idle) and TCP_NODELAY is on;
///   up to `worker_threads` connections (256 by default) are served at once, more wait
///   to be accepted: a client that holds that many idle connections delays everyone
///   else by up to the 2 s idle timeout. A request whose body is refused (413, 400)
///   closes its connection, so a client cannot go on streaming an unbounded body.
/// - LocalServerOptions::delay holds every routed request that long before it is
///   answered; LocalServerOptions::access_log receives one AccessLogEntry per answer.
/// - httplib 0.11 skips a request header line without a colon instead of answering
///   400 (RFC 9112 §5); the rest of the request is served as if it were absent.
/// - httplib 0.11 percent-decodes request header values before the backend sees them
///   ("a%41" → "aA"); no header of PROTOCOL.md contains a '%'.
/// - The destructor stops accepting, lets every request in flight finish (its delay
///   included) and waits for open connections to end: at once for a client that closed
///   its connection, else up to the 2 s idle timeout (5 s for a client that stalls
///   mid-request or mid-response).
///
/// Thread safety: base_url(), port(), is_tls() and accepted_connections() may be called
/// from any thread; requests are served concurrently, so the backend's handle() must be
/// safe to call from several threads (FakeBackend and server::Service are). The backend must
/// outlive the server.
class LocalServer {
 public:
  /// Connections served at once: each takes a worker thread for as long as it is open
  /// (httplib serves a connection per thread), idle keep-alive ones included. Threads
  /// that wait on a socket cost memory for their stacks and nothing else.
  static constexpr std::size_t default_worker_threads = LocalServerOptions::default_worker_threads;

  /// Starts serving `backend` as `options` say, or throws AppError: errc::tls when the
  /// certificate or key cannot be used (the message names the file), errc::invalid_argument
  /// when only one of them is given, errc::connection_failed when it cannot listen.
  template <ServableBackend Backend>
  explicit LocalServer(Backend& backend, LocalServerOptions options = {})
      : handle_([&backend](const HttpRequest& request) { return backend.handle(request); }),
        body_limit_(local_server_detail::body_limit(backend)),
        options_(std::move(options)) {
    start();
  }

  /// Starts serving `backend` on `bind_address`:`port` (0: a free port) with up to
  /// `worker_threads` connections at once; the other options keep their defaults.
  template <ServableBackend Backend>
  LocalServer(Backend& backend, std::uint16_t port, std::string bind_address = "127.0.0.1",
              std::size_t worker_threads = default_worker_threads)
      : LocalServer(backend, LocalServerOptions{.host = std::move(bind_address),
                                                .port = port,
                                                .worker_threads = worker_threads}) {}

  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  ~LocalServer() {
    server_->stop();
    thread_.join();
  }

  /// "http://127.0.0.1:PORT", or "https://..." with TLS; an IPv6 address is bracketed
  /// and a wildcard one ("0.0.0.0", "::") is named by its loopback, which clients can dial.
  const std::string& base_url() const noexcept { return base_url_; }
  /// The port it listens on (the one chosen when 0 was given).
  std::uint16_t port() const noexcept { return port_; }
  /// True when it serves HTTPS.
  bool is_tls() const noexcept { return tls_; }
  /// TCP connections accepted so far: with keep-alive, far fewer than requests.
  std::size_t accepted_connections() const noexcept {
    return accepted_.load(std::memory_order_relaxed);
  }

 private:
  void start() {
    options_.worker_threads = std::max<std::size_t>(1, options_.worker_threads);
    server_ = local_server_detail::make_server(options_.tls_cert_file, options_.tls_key_file);
    tls_ = !options_.tls_cert_file.empty();  // else make_server threw or made a plain one
    configure();
    const std::string& host = options_.host;
    int bound = -1;
    errno = 0;
    if (options_.port == 0) {
      bound = server_->bind_to_any_port(host);
    } else if (server_->bind_to_port(host, options_.port)) {
      bound = options_.port;
    }
    if (bound <= 0) {
      const int error = errno;
      APPKEYS_THROW(
          AppError(errc::connection_failed,
                   "LocalServer: cannot listen on " + host + ':' + std::to_string(options_.port) +
                       (error != 0 ? std::string(": ") + std::strerror(error) : std::string())));
    }
    // The library was compiled with a listen backlog of 5: a seventh simultaneous
    // connect overflows it, the SYN is dropped and the client retries only after 1 s.
    // listen() again on the bound socket raises the backlog.
    if (listener_ >= 0) ::listen(listener_, SOMAXCONN);
    port_ = static_cast<std::uint16_t>(bound);
    scheme_ = tls_ ? "https" : "http";
    use_host_header_ = tls_ || local_server_detail::is_wildcard(host);
    host_for_urls_ = local_server_detail::url_host(host);
    base_url_ = scheme_ + "://" + host_for_urls_ + ':' + std::to_string(port_);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // Server::stop() is a no-op until the accept loop has started, so the destructor
    // could otherwise miss it; the socket itself already accepts connections.
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  void configure() {
    server_->new_task_queue = [this] {
      return new local_server_detail::CountingPool(options_.worker_threads, accepted_);
    };
    server_->set_tcp_nodelay(true);
    // httplib's default sets SO_REUSEPORT, which would let a second server bind a port
    // that is in use and silently share its connections; only SO_REUSEADDR here.
    server_->set_socket_options([this](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listener_ = sock;
    });
    server_->set_keep_alive_max_count(1000);
    server_->set_keep_alive_timeout(2);
    server_->set_read_timeout(std::chrono::seconds(5));
    server_->set_write_timeout(std::chrono::seconds(5));
    server_->set_payload_max_length(body_limit_);

    // Every routed request passes here first, on the thread that serves it: its start
    // time for the access log, then the delay, then TRACE (and CONNECT), which have no
    // handler list in httplib and would get 400.
    server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const auto now = std::chrono::steady_clock::now();
      local_server_detail::routed_at() = now;
      if (options_.delay.count() > 0) std::this_thread::sleep_until(now + options_.delay);
      if (req.method == "TRACE" || req.method == "CONNECT") {
        local_server_detail::method_not_allowed(res);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.method == "OPTIONS" && req.has_header("Access-Control-Request-Method")) {
        const auto origin = local_server_detail::cors_origin(options_.cors_origins, req);
        if (!origin.empty()) {
          local_server_detail::answer_preflight(res, origin);
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });

    // Requests that may carry a body go through content-reader handlers, which run
    // before httplib reads the body: httplib 0.11 answers 400 to a POST or PUT with
    // neither Content-Length nor Transfer-Encoding (what `curl -X PUT URL` sends),
    // although such a request simply has an empty body (RFC 9112 §6.3).
    const httplib::Server::HandlerWithContentReader serve_with_body =
        [this](const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader) {
          std::string body;
          if (local_server_detail::read_body(req, res, reader, body, body_limit_, base_url_)) {
            answer(req, res, std::move(body));
          }
        };
    const httplib::Server::Handler serve = [this](const httplib::Request& req,
                                                  httplib::Response& res) { answer(req, res, {}); };
    const httplib::Server::HandlerWithContentReader refuse_with_body =
        [this](const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader) {
          std::string body;
          if (local_server_detail::read_body(req, res, reader, body, body_limit_, base_url_)) {
            local_server_detail::method_not_allowed(res);
          }
        };
    server_->Get(".*", serve);  // HEAD too: httplib routes it here and drops the body
    server_->Post(".*", serve_with_body);
    server_->Put(".*", serve_with_body);
    server_->Delete(".*", serve_with_body);
    server_->Patch(".*", refuse_with_body);
    server_->Options(".*", [](const httplib::Request&, httplib::Response& res) {
      local_server_detail::method_not_allowed(res);
    });

    // Errors httplib raises itself (oversized body, malformed request) arrive here with
    // an empty body; the backend's own error responses always have one.
    server_->set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty() || res.has_header("Content-Type")) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          if (res.status == 413) {
            local_server_detail::payload_too_large(res, body_limit_, base_url_);
          } else {
            res.set_content(
                std::to_string(res.status) + ' ' + local_server_detail::status_text(res.status),
                "text/plain; charset=utf-8");
          }
          return httplib::Server::HandlerResponse::Handled;
        }));

    // httplib writes "Content-Length: 0" on every empty response; RFC 9110 forbids it
    // on 204 and 304, and PROTOCOL.md wants a bare 204.
    server_->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (const auto origin = local_server_detail::cors_origin(options_.cors_origins, req);
          !origin.empty() && !res.has_header("Access-Control-Allow-Origin")) {
        local_server_detail::add_cors_headers(res, origin);
      }
      if (res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200)) {
        res.headers.erase("Content-Length");
        res.headers.erase("Content-Type");
      }
    });

    // httplib calls its logger once per response, after writing it, on the serving
    // thread; the routing time is taken (and cleared) here even without a sink.
    server_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const auto routed = std::exchange(local_server_detail::routed_at(), std::nullopt);
      if (options_.access_log) log_access(req, res, routed);
    });
  }

  void log_access(const httplib::Request& req, const httplib::Response& res,
                  std::optional<std::chrono::steady_clock::time_point> routed) const {
    try {
      const std::string method = local_server_detail::loggable(req.method, 16);
      const std::string path =
          local_server_detail::loggable(local_server_detail::target_path(req.target), 256);
      AccessLogEntry entry{.method = method, .path = path, .status = res.status};
      if (routed) {
        entry.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - *routed);
      }
      options_.access_log(entry);
    } catch (...) {
      // A failing log sink must not take the connection, or the server, down.
    }
  }

  void answer(const httplib::Request& req, httplib::Response& res, std::string body) {
    HttpRequest request;
    if (req.method == "GET" || req.method == "HEAD") {
      request.method = HttpMethod::get;
    } else if (req.method == "POST") {
      request.method = HttpMethod::post;
    } else if (req.method == "PUT") {
      request.method = HttpMethod::put;
    } else if (req.method == "DELETE") {
      request.method = HttpMethod::del;
    } else {
      local_server_detail::method_not_allowed(res);
      return;
    }
    // The target as received: httplib's req.path is percent-decoded, which would turn
    // "%2F" into a path separator the client never sent. httplib never leaves it empty;
    // any form but origin-form ("*", "http://host/path") is not one this server routes.
    const std::string_view target = req.target;
    if (target.empty() || target.front() != '/') {
      res.status = 400;
      res.set_content("400 bad request", "text/plain; charset=utf-8");
      return;
    }
    request.url = scheme_ + "://" + request_host(req) + ':' + std::to_string(port_);
    request.url += target;
    for (const auto& [name, value] : req.headers) {
      if (local_server_detail::is_httplib_pseudo_header(name)) continue;
      request.headers.emplace(name, value);
    }
    request.body = std::move(body);

    HttpResponse response = handle_(request);
    res.status = response.status;
    for (const auto& [name, value] : response.headers) {
      if (local_server_detail::is_framing_header(name)) continue;
      res.set_header(name, value);
    }
    res.body = std::move(response.body);
  }

  /// The address clients reached us at: the bind address, or for a wildcard bind or
  /// with TLS the request's own Host (so a remote client is told an address it can dial,
  /// under the name its certificate check expects).
  std::string request_host(const httplib::Request& req) const {
    if (use_host_header_) {
      if (std::string host = local_server_detail::host_header_host(req); !host.empty()) {
        return host;
      }
    }
    return host_for_urls_;
  }

  std::function<HttpResponse(const HttpRequest&)> handle_;
  std::size_t body_limit_ = 0;
  LocalServerOptions options_;
  bool tls_ = false;
  bool use_host_header_ = false;
  std::string scheme_;
  std::string host_for_urls_;
  std::string base_url_;
  std::uint16_t port_ = 0;
  socket_t listener_ = -1;  // the listening socket, as httplib created it
  std::atomic<std::size_t> accepted_{0};
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace appkeys::testing
