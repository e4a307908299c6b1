// appkeys — LocalServer: a FakeBackend served over real HTTP on a loopback port.
//
// Needs cpp-httplib (`pkg-config --cflags --libs cpp-httplib`). The server is only an
// HTTP skin: every route, status, header and body comes from FakeBackend::handle.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/server_error_codes.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/testing/fake.hpp>

#include <httplib.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace appkeys::testing {

namespace local_server_detail {

/// A thread pool that counts the connections it is handed: httplib's server enqueues
/// exactly one task per accepted connection.
class CountingPool final : public httplib::TaskQueue {
 public:
  CountingPool(std::size_t threads, std::atomic<std::size_t>& accepted)
      : pool_(threads), accepted_(accepted) {}
  void enqueue(std::function<void()> task) override {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    pool_.enqueue(std::move(task));
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::atomic<std::size_t>& accepted_;
};

/// The backend's body limit when FakeBackend tells it, else a cap large enough never to
/// pre-empt the backend's own 413 (which then answers for bodies above its limit).
template <class Backend>
std::size_t body_limit(const Backend& backend) {
  if constexpr (requires { backend.options().max_body_bytes; }) {
    return backend.options().max_body_bytes;
  } else {
    (void)backend;
    return std::size_t{64} * 1024 * 1024;
  }
}

/// Headers httplib 0.11 invents on every request it receives (the peer's and its own
/// address); they were not sent by the client, so the backend must not see them.
inline bool is_httplib_pseudo_header(std::string_view name) noexcept {
  return detail::iequals(name, "REMOTE_ADDR") || detail::iequals(name, "REMOTE_PORT") ||
         detail::iequals(name, "LOCAL_ADDR") || detail::iequals(name, "LOCAL_PORT");
}

/// Framing headers belong to the HTTP layer, which computes its own.
inline bool is_framing_header(std::string_view name) noexcept {
  return detail::iequals(name, "Content-Length") || detail::iequals(name, "Transfer-Encoding") ||
         detail::iequals(name, "Connection") || detail::iequals(name, "Keep-Alive");
}

}  // namespace local_server_detail

/// Serves a FakeBackend over HTTP/1.1 on a loopback address, in a background thread,
/// from construction to destruction, for this library's tests and for any other client
/// (curl, the official SDKs) pointed at base_url().
///
///     appkeys::testing::FakeBackend backend;
///     appkeys::testing::LocalServer server{backend};
///     appkeys::App<appkeys::HttplibTransport> app({.app_id = "a", .base_url = server.base_url()});
///
/// - Each request reaches FakeBackend::handle as an HttpRequest whose url is
///   "http://<bind address>:<port><target as received>" (so the location route names
///   the server's own address), with the client's headers and body; the backend's
///   status, headers and body go back unchanged. HEAD is answered as GET without the
///   body; PATCH, OPTIONS and TRACE get 405 with an Allow header, multipart forms 415.
///   A POST, PUT or DELETE with neither Content-Length nor Transfer-Encoding (as
///   `curl -X PUT URL` sends) has an empty body.
/// - A 204 carries neither Content-Type nor Content-Length (httplib adds
///   "Content-Length: 0", which is removed); PROTOCOL.md §3.
/// - A body above the backend's limit (FakeBackendOptions::max_body_bytes once
///   FakeBackend exposes options(), else 64 MiB; above it the backend's own 413
///   answers) is refused with 413 and the backend's JSON error (ReadSizeLimitExceeded)
///   before it reaches the backend, chunked or not.
/// - Connections are kept alive (up to 1000 requests, 2 s idle) and TCP_NODELAY is on;
///   up to `worker_threads` connections (256 by default) are served at once, more wait
///   to be accepted: a client that holds that many idle connections delays everyone
///   else by up to the 2 s idle timeout. A request whose body is refused (413, 400)
///   closes its connection, so a client cannot go on streaming an unbounded body.
/// - httplib 0.11 skips a request header line without a colon instead of answering
///   400 (RFC 9112 §5); the rest of the request is served as if it were absent.
/// - httplib 0.11 percent-decodes request header values before the backend sees them
///   ("a%41" → "aA"); no header of PROTOCOL.md contains a '%'.
/// - The destructor stops accepting and waits for open connections to end: at once
///   for a client that closed its connection, else up to the 2 s idle timeout.
///
/// Thread safety: base_url(), port() and accepted_connections() may be called from any
/// thread; requests are served concurrently (the backend is thread-safe, as FakeBackend and
/// server::Service are). The backend must outlive the server.
class LocalServer {
 public:
  /// Connections served at once: each takes a worker thread for as long as it is open
  /// (httplib serves a connection per thread), idle keep-alive ones included. Threads
  /// that wait on a socket cost memory for their stacks and nothing else.
  static constexpr std::size_t default_worker_threads = 256;

  /// Starts serving `backend` on `bind_address`:`port` (0: a free port) with up to
  /// `worker_threads` connections at once, or fails with errc::connection_failed (thrown)
  /// when it cannot listen.
  ///
  /// `backend` is a FakeBackend, or any backend with the same
  /// `HttpResponse handle(const HttpRequest&)` (server::Service, for `appkeys serve`);
  /// its `options().max_body_bytes` is used when it has one.
  template <class Backend>
  requires requires(Backend& b, const HttpRequest& r) {
    { b.handle(r) } -> std::same_as<HttpResponse>;
  }
  explicit LocalServer(Backend& backend, std::uint16_t port = 0,
                       std::string bind_address = "127.0.0.1",
                       std::size_t worker_threads = default_worker_threads)
      : handler_([&backend](const HttpRequest& request) { return backend.handle(request); }),
        bind_address_(std::move(bind_address)),
        worker_threads_(std::max<std::size_t>(1, worker_threads)) {
    body_limit_ = local_server_detail::body_limit(backend);
    start(port);
  }

  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  ~LocalServer() {
    server_.stop();
    thread_.join();
  }

  /// "http://127.0.0.1:PORT" (an IPv6 bind address is bracketed).
  const std::string& base_url() const noexcept { return base_url_; }
  /// The port it listens on (the one chosen when 0 was given).
  std::uint16_t port() const noexcept { return port_; }
  /// TCP connections accepted so far: with keep-alive, far fewer than requests.
  std::size_t accepted_connections() const noexcept {
    return accepted_.load(std::memory_order_relaxed);
  }

 private:
  void start(std::uint16_t port) {
    configure();
    int bound = -1;
    errno = 0;
    if (port == 0) {
      bound = server_.bind_to_any_port(bind_address_);
    } else if (server_.bind_to_port(bind_address_, port)) {
      bound = port;
    }
    if (bound <= 0) {
      const int error = errno;
      APPKEYS_THROW(
          AppError(errc::connection_failed,
                   "LocalServer: cannot listen on " + bind_address_ + ':' + std::to_string(port) +
                       (error != 0 ? std::string(": ") + std::strerror(error) : std::string())));
    }
    // The library was compiled with a listen backlog of 5: a seventh simultaneous
    // connect overflows it, the SYN is dropped and the client retries only after 1 s.
    // listen() again on the bound socket raises the backlog.
    if (listener_ >= 0) ::listen(listener_, SOMAXCONN);
    port_ = static_cast<std::uint16_t>(bound);
    host_for_urls_ = url_host(bind_address_);
    base_url_ = "http://" + host_for_urls_ + ':' + std::to_string(port_);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Server::stop() is a no-op until the accept loop has started, so the destructor
    // could otherwise miss it; the socket itself already accepts connections.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  static constexpr const char* allowed_methods = "GET, HEAD, POST, PUT, DELETE";

  static std::string url_host(const std::string& address) {
    // A wildcard address is not one a client can dial: name the loopback instead.
    if (address == "0.0.0.0" || address.empty()) return "127.0.0.1";
    if (address == "::") return "[::1]";
    if (address.find(':') != std::string::npos) return '[' + address + ']';
    return address;
  }

  void configure() {
    server_.new_task_queue = [this] {
      return new local_server_detail::CountingPool(worker_threads_, accepted_);
    };
    server_.set_tcp_nodelay(true);
    // httplib's default sets SO_REUSEPORT, which would let a second server bind a port
    // that is in use and silently share its connections; only SO_REUSEADDR here.
    server_.set_socket_options([this](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listener_ = sock;
    });
    server_.set_keep_alive_max_count(1000);
    server_.set_keep_alive_timeout(2);
    server_.set_read_timeout(std::chrono::seconds(5));
    server_.set_write_timeout(std::chrono::seconds(5));
    server_.set_payload_max_length(body_limit_);

    // TRACE (and CONNECT) have no handler list in httplib, which would answer 400.
    server_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "TRACE" || req.method == "CONNECT") {
        method_not_allowed(res);
        return httplib::Server::HandlerResponse::Handled;
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
          if (read_body(req, res, reader, body)) answer(req, res, std::move(body));
        };
    const httplib::Server::Handler serve = [this](const httplib::Request& req,
                                                  httplib::Response& res) { answer(req, res, {}); };
    const httplib::Server::HandlerWithContentReader refuse_with_body =
        [this](const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& reader) {
          std::string body;
          if (read_body(req, res, reader, body)) method_not_allowed(res);
        };
    server_.Get(".*", serve);  // HEAD too: httplib routes it here and drops the body
    server_.Post(".*", serve_with_body);
    server_.Put(".*", serve_with_body);
    server_.Delete(".*", serve_with_body);
    server_.Patch(".*", refuse_with_body);
    server_.Options(
        ".*", [](const httplib::Request&, httplib::Response& res) { method_not_allowed(res); });

    // Errors httplib raises itself (oversized body, malformed request) arrive here with
    // an empty body; the backend's own error responses always have one.
    server_.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty() || res.has_header("Content-Type")) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          if (res.status == 413) {
            payload_too_large(res);
          } else {
            res.set_content(std::to_string(res.status) + ' ' + status_text(res.status),
                            "text/plain; charset=utf-8");
          }
          return httplib::Server::HandlerResponse::Handled;
        }));

    // httplib writes "Content-Length: 0" on every empty response; RFC 9110 forbids it
    // on 204 and 304, and PROTOCOL.md wants a bare 204.
    server_.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200)) {
        res.headers.erase("Content-Length");
        res.headers.erase("Content-Type");
      }
    });
  }

  static const char* status_text(int status) {
    switch (status) {
      case 400:
        return "bad request";
      case 404:
        return "page not found";
      case 405:
        return "method not allowed";
      case 413:
        return "payload too large";
      case 414:
        return "URI too long";
      case 416:
        return "range not satisfiable";
      default:
        return "error";
    }
  }

  static void method_not_allowed(httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", allowed_methods);
    res.set_content("405 method not allowed", "text/plain; charset=utf-8");
  }

  void payload_too_large(httplib::Response& res) const {
    // The backend's own 413, word for word, so the limit reads the same from both layers.
    const std::string link = base_url_ + "/logs?co_id=" + detail::random_object_id().to_hex();
    res.status = 413;
    res.set_content(
        detail::dump_json(detail::wire::error_json(
            "request body exceeds the limit of " + std::to_string(body_limit_) + " bytes",
            detail::server_code_string(errc::read_size_limit_exceeded), link)),
        "application/json");
  }

  /// Reads the request body, if it has one; false when a response was already set.
  bool read_body(const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader, std::string& body) const {
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) return true;
    if (req.is_multipart_form_data()) {
      // Drained so the connection stays usable; no route of PROTOCOL.md takes forms.
      reader([](const httplib::MultipartFormData&) { return true; },
             [](const char*, std::size_t) { return true; });
      res.status = 415;
      res.set_content("415 unsupported media type", "text/plain; charset=utf-8");
      return false;
    }
    // httplib checks payload_max_length against Content-Length only; a chunked body is
    // bounded here.
    bool too_large = false;
    const bool complete = reader([&](const char* data, std::size_t size) {
      if (size > body_limit_ - std::min(body_limit_, body.size())) {
        too_large = true;
        return false;
      }
      body.append(data, size);
      return true;
    });
    if (complete) return true;
    if (too_large || res.status == 413) {
      payload_too_large(res);
    } else {
      res.status = 400;
      res.set_content("400 bad request", "text/plain; charset=utf-8");
    }
    close_after_sending(res);
    return false;
  }

  /// The rest of a refused body is still on the wire, and httplib 0.11 would read it
  /// as further requests, answering each with 400 for as long as the client sends.
  /// The connection must close after this response, which httplib offers no switch
  /// for ("Connection: close" in a handler's response is not read back): a content
  /// provider that writes the whole response body and then reports failure makes
  /// httplib end the connection once the response is on the wire.
  static void close_after_sending(httplib::Response& res) {
    std::string body = std::move(res.body);
    res.body.clear();
    std::string type = res.get_header_value("Content-Type");
    res.headers.erase("Content-Type");
    res.headers.erase("Content-Length");
    res.set_header("Connection", "close");
    const std::size_t length = body.size();
    res.set_content_provider(
        length, type,
        [body = std::move(body)](std::size_t offset, std::size_t, httplib::DataSink& sink) {
          if (offset < body.size()) sink.write(body.data() + offset, body.size() - offset);
          return false;  // the body is complete; "failing" here closes the connection
        });
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
      method_not_allowed(res);
      return;
    }
    // The target as received: httplib's req.path is percent-decoded, which would turn
    // "%2F" into a path separator the client never sent.
    std::string_view target = req.target;
    if (target.empty() || target.front() != '/') target = req.path;
    request.url = "http://" + request_host(req) + ':' + std::to_string(port_);
    request.url += target;
    for (const auto& [name, value] : req.headers) {
      if (local_server_detail::is_httplib_pseudo_header(name)) continue;
      request.headers.emplace(name, value);
    }
    request.body = std::move(body);

    HttpResponse response = handler_(request);
    res.status = response.status;
    for (const auto& [name, value] : response.headers) {
      if (local_server_detail::is_framing_header(name)) continue;
      res.set_header(name, value);
    }
    res.body = std::move(response.body);
  }

  /// The address clients reached us at: the bind address, or for a wildcard bind the
  /// request's own Host (so a remote client is told an address it can dial).
  std::string request_host(const httplib::Request& req) const {
    const bool wildcard =
        bind_address_ == "0.0.0.0" || bind_address_ == "::" || bind_address_.empty();
    if (wildcard) {
      std::string host = req.get_header_value("Host");
      if (!host.empty()) {
        // Drop the client's port: the URL appends ours.
        const std::size_t bracket = host.rfind(']');
        const std::size_t colon = host.rfind(':');
        if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
          host.erase(colon);
        }
        const bool safe = std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
                 c == '[' || c == ']' || c == ':';
        });
        if (safe && !host.empty()) return host;
      }
    }
    return host_for_urls_;
  }

  std::function<HttpResponse(const HttpRequest&)> handler_;  // calls the backend's handle
  std::string bind_address_;
  std::size_t worker_threads_;
  std::string host_for_urls_;
  std::string base_url_;
  std::uint16_t port_ = 0;
  std::size_t body_limit_ = 0;
  socket_t listener_ = -1;  // the listening socket, as httplib created it
  std::atomic<std::size_t> accepted_{0};
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace appkeys::testing
