// CurlTransport against real sockets on 127.0.0.1: each failure mode maps to its exact
// errc, the bytes on the wire are exactly the request's, connections are kept alive and
// the pool is safe to use from many threads.
//
// Servers used here: cpp-httplib (httplib::Server / SSLServer) where a well-behaved
// HTTP server is enough, and RawServer (below) where the test must see the raw bytes,
// count connections or misbehave on purpose.
#include <appkeys/transport/curl.hpp>

#include <httplib.h>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using appkeys::CurlTransport;
using appkeys::CurlTransportOptions;
using appkeys::errc;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;

namespace {

using namespace std::chrono_literals;

// Generous: the tests never depend on speed, only on what happened.
constexpr std::chrono::milliseconds patient{30'000};

std::string lower(std::string text) {
  for (char& c : text) c = appkeys::detail::ascii_lower(c);
  return text;
}

HttpRequest make_request(HttpMethod method, std::string url, std::string body = {}) {
  HttpRequest request;
  request.method = method;
  request.url = std::move(url);
  request.body = std::move(body);
  request.timeout = patient;
  return request;
}

std::string url_for(int port, std::string_view path = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

/// The errc of a failed send; fails the test if the send succeeded.
errc error_of(const appkeys::Result<HttpResponse>& result) {
  if (result) {
    FAIL_CHECK("expected an error, got HTTP " << result->status);
    return errc{};
  }
  return result.error().value();
}

// ---------------------------------------------------------------------------------
// A TCP port that refuses connections: bound (so nobody else takes it) but never
// listening, so a connect() gets RST / ECONNREFUSED at once.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  ~RefusingPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// ---------------------------------------------------------------------------------
/// One request as it arrived, byte for byte, plus its parsed parts.
struct RawRequest {
  std::string raw;
  std::string request_line;
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::size_t count(const std::string& name) const {
    return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(),
                                                  [&](const auto& h) { return h.first == name; }));
  }
  std::string value(const std::string& name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
  std::multiset<std::string> names() const {
    std::multiset<std::string> out;
    for (const auto& h : headers) out.insert(h.first);
    return out;
  }
};

RawRequest parse_raw(std::string raw, std::size_t head_size) {
  RawRequest request;
  request.raw = std::move(raw);
  const std::string head = request.raw.substr(0, head_size);
  request.body = request.raw.substr(head_size);
  std::istringstream lines(head);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if (first) {
      request.request_line = line;
      const auto space = line.find(' ');
      request.method = line.substr(0, space);
      request.target = line.substr(space + 1, line.rfind(' ') - space - 1);
      first = false;
      continue;
    }
    const auto colon = line.find(':');
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    request.headers.emplace_back(lower(line.substr(0, colon)), value);
  }
  return request;
}

/// A TCP server on 127.0.0.1 that hands each accepted connection to `handler` on a
/// thread of its own, counts connections and records requests. Stops (and joins every
/// thread) when destroyed.
class RawServer {
 public:
  using Handler = std::function<void(int fd, RawServer& server)>;

  explicit RawServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    const int yes = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  ~RawServer() {
    stopping_ = true;
    acceptor_.join();
    std::vector<std::thread> connections;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connections.swap(connections_);
    }
    for (auto& t : connections) t.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  std::string url(std::string_view path = "/") const { return url_for(port_, path); }
  std::size_t accepted() const { return accepted_.load(); }
  bool stopping() const { return stopping_.load(); }

  void record(RawRequest request) {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(std::move(request));
  }
  std::vector<RawRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  /// Appends what arrives on `fd` to `buffer`; false at EOF, error or stop. Wakes up
  /// every 50 ms to notice a stop, so no thread outlives the server.
  bool read_more(int fd, std::string& buffer) const {
    char chunk[64 * 1024];
    while (!stopping()) {
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 50);
      if (ready < 0) return false;
      if (ready == 0) continue;
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  static bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads one request (head plus Content-Length body) from `fd`; nullopt at EOF.
  std::optional<RawRequest> read_request(int fd, std::string& buffer) const {
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more(fd, buffer)) return std::nullopt;
    }
    const std::size_t head_size = end + 4;
    const RawRequest head_only = parse_raw(buffer.substr(0, head_size), head_size);
    const std::string length_text = head_only.value("content-length");
    const std::size_t length = length_text.empty() ? 0 : std::stoul(length_text);
    while (buffer.size() < head_size + length) {
      if (!read_more(fd, buffer)) return std::nullopt;
    }
    RawRequest request = parse_raw(buffer.substr(0, head_size + length), head_size);
    buffer.erase(0, head_size + length);
    return request;
  }

  /// A handler for a kept-alive HTTP/1.1 connection: records each request and answers
  /// it with what `respond` returns.
  static Handler http(std::function<std::string(const RawRequest&)> respond) {
    return [respond = std::move(respond)](int fd, RawServer& server) {
      std::string buffer;
      while (auto request = server.read_request(fd, buffer)) {
        server.record(*request);
        if (!write_all(fd, respond(*request))) return;
      }
    };
  }

  static std::string ok(std::string_view body = "ok") {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
  }

 private:
  void accept_loop() {
    while (!stopping()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.emplace_back([this, fd] {
        handler_(fd, *this);
        ::close(fd);
      });
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> accepted_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::vector<RawRequest> requests_;
};

// ---------------------------------------------------------------------------------
// libcpp-httplib is a compiled library, not built with -fsanitize=thread. Its request
// parser keeps a function-local static (the set of method names); the inlined
// "already initialised?" check in that library is invisible to ThreadSanitizer, so
// when the first requests of the process reach two server threads at once, TSan
// reports a false race between the initialising thread and the reading one. Serving
// one request from a throwaway server first, and joining its threads, orders that
// initialisation before every later server thread.
void warm_up_httplib() {
  static const bool done = [] {
    httplib::Server server;
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("warm", "text/plain");
    });
    const int port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread thread([&] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(1ms);
    {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<std::uint16_t>(port));
      if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        const std::string_view request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        char buffer[512];
        while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
        }
      }
      if (fd >= 0) ::close(fd);
    }
    server.stop();
    thread.join();  // the pool's threads were joined by stop(): all happens-before now
    return true;
  }();
  (void)done;
}

/// A cpp-httplib server (plain or TLS) on 127.0.0.1, running on its own thread until
/// destroyed.
struct HttplibWarmedUp {
  HttplibWarmedUp() { warm_up_httplib(); }
};

template <class Server = httplib::Server>
class HttplibServer : private HttplibWarmedUp {  // a base: warmed up before server_ exists
 public:
  template <class... Args>
  explicit HttplibServer(std::function<void(Server&)> routes, Args&&... args)
      : server_(std::forward<Args>(args)...) {
    REQUIRE(server_.is_valid());
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(1000);
    // Enough workers that every pooled client connection can hold one while it is
    // kept alive, plus some for new ones.
    server_.new_task_queue = [] { return new httplib::ThreadPool(24); };
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the listen loop runs; wait for it so the destructor
    // cannot miss it.
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  HttplibServer(const HttplibServer&) = delete;
  HttplibServer& operator=(const HttplibServer&) = delete;
  ~HttplibServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  Server server_;
  int port_ = 0;
  std::thread thread_;
};

/// Holds a handler until opened (or 30 s pass, so nothing can hang for ever). Opened
/// by its Opener's destructor, which a test declares after the server, so it runs
/// before the server's destructor waits for its handlers.
class Gate {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, 30s, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct Opener {
  std::shared_ptr<Gate> gate;
  ~Opener() { gate->open(); }
};

// ---------------------------------------------------------------------------------
/// A self-signed certificate for CN=localhost, made with the openssl CLI in a fresh
/// temporary directory, removed again by the destructor.
class SelfSignedCertificate {
 public:
  SelfSignedCertificate() {
    char pattern[] = "/tmp/appkeys-curl-tls-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    REQUIRE(made != nullptr);
    dir_ = made;
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout '" + key_ +
        "' -out '" + cert_ + "' >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  SelfSignedCertificate(const SelfSignedCertificate&) = delete;
  SelfSignedCertificate& operator=(const SelfSignedCertificate&) = delete;
  ~SelfSignedCertificate() {
    std::remove(cert_.c_str());
    std::remove(key_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& cert() const { return cert_; }
  const std::string& key() const { return key_; }

 private:
  std::string dir_, cert_, key_;
};

}  // namespace

// =================================================================================

TEST_CASE("CurlTransport: a port with nothing listening is connection_failed", "[curl]") {
  RefusingPort refusing;
  CurlTransport transport;
  auto request = make_request(HttpMethod::get, url_for(refusing.port(), "/x"));
  request.headers.emplace("Authorization", "Bearer refresh-token-that-must-not-leak");
  auto result = transport.send(request);
  CHECK(error_of(result) == errc::connection_failed);
  CHECK(result.error().http_status() == 0);
  CHECK(std::string(result.error().what()).find("refresh-token-that-must-not-leak") ==
        std::string::npos);
}

TEST_CASE("CurlTransport: a server slower than request.timeout is timeout", "[curl]") {
  auto gate = std::make_shared<Gate>();
  HttplibServer<> server([gate](httplib::Server& s) {
    s.Get("/slow", [gate](const httplib::Request&, httplib::Response& res) {
      gate->wait();
      res.set_content("late", "text/plain");
    });
  });
  Opener opener{gate};

  CurlTransport transport;
  auto request = make_request(HttpMethod::get, url_for(server.port(), "/slow"));
  request.timeout = 200ms;
  CHECK(error_of(transport.send(request)) == errc::timeout);
}

TEST_CASE("CurlTransport: when every handle is busy, the wait counts against the timeout",
          "[curl]") {
  auto gate = std::make_shared<Gate>();
  HttplibServer<> server([gate](httplib::Server& s) {
    s.Get("/slow", [gate](const httplib::Request&, httplib::Response& res) {
      gate->wait();
      res.set_content("late", "text/plain");
    });
  });
  CurlTransport transport(CurlTransportOptions{.max_connections = 1});
  std::atomic<bool> first_done{false};
  std::thread first([&] {
    auto slow = make_request(HttpMethod::get, url_for(server.port(), "/slow"));
    auto result = transport.send(slow);
    CHECK(result.has_value());
    first_done = true;
  });
  // Give the first request a head start so that it holds the only handle (if it does
  // not, the second request simply runs into the slow handler instead: same errc).
  std::this_thread::sleep_for(300ms);
  auto second = make_request(HttpMethod::get, url_for(server.port(), "/slow"));
  second.timeout = 200ms;
  CHECK(error_of(transport.send(second)) == errc::timeout);
  gate->open();
  first.join();
  CHECK(first_done);
}

TEST_CASE("CurlTransport: a connection closed in the middle of the body is transport", "[curl]") {
  RawServer server([](int fd, RawServer& self) {
    std::string buffer;
    if (!self.read_request(fd, buffer)) return;
    RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    // Returning closes the socket, 90 bytes short.
  });
  CurlTransport transport;
  auto result = transport.send(make_request(HttpMethod::get, server.url("/short")));
  CHECK(error_of(result) == errc::transport);
}

TEST_CASE("CurlTransport: a server that closes without answering is transport", "[curl]") {
  RawServer server([](int fd, RawServer& self) {
    std::string buffer;
    (void)self.read_request(fd, buffer);
  });
  CurlTransport transport;
  CHECK(error_of(transport.send(make_request(HttpMethod::get, server.url()))) == errc::transport);
}

TEST_CASE("CurlTransport: TLS certificates and host names are verified", "[curl][tls]") {
  SelfSignedCertificate certificate;
  HttplibServer<httplib::SSLServer> server(
      [](httplib::SSLServer& s) {
        s.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
          res.set_content("hello over tls", "text/plain");
        });
      },
      certificate.cert().c_str(), certificate.key().c_str());
  const std::string port = std::to_string(server.port());
  const std::string by_name = "https://localhost:" + port + "/hello";
  const std::string by_address = "https://127.0.0.1:" + port + "/hello";

  SECTION("default options refuse a self-signed certificate") {
    CurlTransport transport;
    CHECK(error_of(transport.send(make_request(HttpMethod::get, by_name))) == errc::tls);
  }
  SECTION("trusting the certificate through ca_file, the host name localhost matches") {
    CurlTransport transport(CurlTransportOptions{.ca_file = certificate.cert()});
    auto result = transport.send(make_request(HttpMethod::get, by_name));
    REQUIRE(result.has_value());
    CHECK(result->status == 200);
    CHECK(result->body == "hello over tls");
    // A second request reuses the handle and its TLS connection or session.
    auto again = transport.send(make_request(HttpMethod::get, by_name));
    REQUIRE(again.has_value());
    CHECK(again->body == "hello over tls");
  }
  SECTION("a trusted certificate for another host name is still refused") {
    CurlTransport transport(CurlTransportOptions{.ca_file = certificate.cert()});
    CHECK(error_of(transport.send(make_request(HttpMethod::get, by_address))) == errc::tls);
  }
  SECTION("danger_accept_invalid_certificates turns both checks off") {
    CurlTransport transport(CurlTransportOptions{.danger_accept_invalid_certificates = true});
    auto result = transport.send(make_request(HttpMethod::get, by_address));
    REQUIRE(result.has_value());
    CHECK(result->status == 200);
    CHECK(result->body == "hello over tls");
  }
  SECTION("many threads share TLS sessions and DNS answers safely") {
    CurlTransport transport(
        CurlTransportOptions{.max_connections = 4, .ca_file = certificate.cert()});
    std::atomic<int> succeeded{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 6; ++t) {
      workers.emplace_back([&] {
        for (int i = 0; i < 8; ++i) {
          auto result = transport.send(make_request(HttpMethod::get, by_name));
          if (result && result->body == "hello over tls") ++succeeded;
        }
      });
    }
    for (auto& w : workers) w.join();
    CHECK(succeeded == 48);
  }
  SECTION("a ca_file that does not exist is a TLS failure, not a silent fallback") {
    CurlTransport transport(CurlTransportOptions{.ca_file = certificate.cert() + ".missing"});
    CHECK(error_of(transport.send(make_request(HttpMethod::get, by_name))) == errc::tls);
  }
}

TEST_CASE("CurlTransport: redirects are returned, not followed", "[curl]") {
  std::atomic<int> followed{0};
  HttplibServer<> server([&](httplib::Server& s) {
    s.Get("/from",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/to", 302); });
    s.Get("/to", [&](const httplib::Request&, httplib::Response& res) {
      ++followed;
      res.set_content("followed", "text/plain");
    });
  });
  CurlTransport transport;
  auto result = transport.send(make_request(HttpMethod::get, url_for(server.port(), "/from")));
  REQUIRE(result.has_value());
  CHECK(result->status == 302);
  CHECK(appkeys::header_value(result->headers, "location") == "/to");
  CHECK(followed == 0);
}

TEST_CASE("CurlTransport: HTTP error statuses are responses", "[curl]") {
  RawServer server(RawServer::http([](const RawRequest&) {
    return std::string(
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n"
        "{\"error_code\":\"NotFound1\"}\n");
  }));
  CurlTransport transport;
  auto result = transport.send(make_request(HttpMethod::get, server.url("/missing")));
  REQUIRE(result.has_value());
  CHECK(result->status == 404);
  CHECK(result->body == "{\"error_code\":\"NotFound1\"}\n");
  CHECK(appkeys::header_value(result->headers, "CONTENT-TYPE") == "application/json");
}

TEST_CASE("CurlTransport: plain http to a non-loopback host is refused before any I/O", "[curl]") {
  // Every request is routed through a local "proxy" that counts connections: if the
  // transport did any I/O at all, the proxy would see it.
  RawServer proxy(RawServer::http([](const RawRequest&) { return RawServer::ok("via proxy"); }));
  CurlTransportOptions options;
  options.proxy = proxy.url("");

  SECTION("refused by default") {
    CurlTransport transport(options);
    for (const char* url :
         {"http://example.com/", "http://10.1.2.3:8080/api", "HTTP://Example.COM/x",
          "http://127.0.0.1.example.com/", "http://localhost.example.com/",
          "http://user:pw@example.com/", "http://[::2]/", "http://[::ffff:10.0.0.1]/",
          "http://128.0.0.1/", "http://0.0.0.0/"}) {
      INFO("url: " << url);
      auto request = make_request(HttpMethod::post, url, "{\"password\":\"pw\"}");
      request.headers.emplace("Authorization", "Bearer token");
      auto result = transport.send(request);
      CHECK(error_of(result) == errc::insecure_transport);
    }
    CHECK(proxy.accepted() == 0);
    CHECK(proxy.requests().empty());
  }
  SECTION("loopback hosts are allowed in every spelling") {
    CurlTransport transport(options);
    // libcurl's URL parser normalises "127.1", "0x7f.1" and "2130706433" to 127.0.0.1
    // before the check sees the host.
    for (const char* url : {"http://127.0.0.1/", "http://127.9.8.7:81/a", "http://localhost/",
                            "http://LocalHost:8080/", "http://[::1]:8080/", "http://127.1/",
                            "http://0x7f.1/", "http://2130706433/"}) {
      INFO("url: " << url);
      auto result = transport.send(make_request(HttpMethod::get, url));
      REQUIRE(result.has_value());
      CHECK(result->body == "via proxy");
    }
    CHECK(proxy.requests().size() == 8);
  }
  SECTION("allow_insecure_http lets it through") {
    options.allow_insecure_http = true;
    CurlTransport transport(options);
    auto result = transport.send(make_request(HttpMethod::get, "http://example.com/plain"));
    REQUIRE(result.has_value());
    CHECK(result->body == "via proxy");
    const auto seen = proxy.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].request_line == "GET http://example.com/plain HTTP/1.1");
  }
  SECTION("URLs that cannot be sent as given are invalid_argument, before any I/O") {
    CurlTransport transport(options);
    for (const char* url : {"ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1/no-scheme",
                            "gopher://127.0.0.1/", "", "http://", "http://127.0.0.1:70000/",
                            "http://127.0.0.1/a b", "http://127.0.0.1/a\r\nX-Injected: yes",
                            "https://user:hunter2@127.0.0.1/", "http://user@127.0.0.1/"}) {
      INFO("url: " << url);
      auto result = transport.send(make_request(HttpMethod::get, url));
      CHECK(error_of(result) == errc::invalid_argument);
      if (!result) CHECK(std::string(result.error().what()).find("hunter2") == std::string::npos);
    }
    auto with_nul = make_request(HttpMethod::get, std::string("http://127.0.0.1/\0x", 19));
    CHECK(error_of(transport.send(with_nul)) == errc::invalid_argument);
    CHECK(proxy.accepted() == 0);
  }
}

TEST_CASE("CurlTransport: responses over max_response_bytes are response_too_large", "[curl]") {
  constexpr std::size_t limit = 1024 * 1024;
  HttplibServer<> server([](httplib::Server& s) {
    s.Get("/declared", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(limit + 1, 'd'), "application/octet-stream");
    });
    s.Get("/exact", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(limit, 'e'), "application/octet-stream");
    });
    s.Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
      // No Content-Length: only the write callback can notice the size.
      res.set_chunked_content_provider("application/octet-stream",
                                       [](std::size_t offset, httplib::DataSink& sink) {
                                         if (offset >= 2 * limit) {
                                           sink.done();
                                           return true;
                                         }
                                         const std::string chunk(64 * 1024, 'c');
                                         return sink.write(chunk.data(), chunk.size());
                                       });
    });
  });
  CurlTransport transport(CurlTransportOptions{.max_response_bytes = limit});
  const auto get = [&](std::string_view path) {
    return transport.send(make_request(HttpMethod::get, url_for(server.port(), path)));
  };

  CHECK(error_of(get("/declared")) == errc::response_too_large);
  CHECK(error_of(get("/chunked")) == errc::response_too_large);
  auto exact = get("/exact");
  REQUIRE(exact.has_value());
  CHECK(exact->body.size() == limit);
  // The handles survive an aborted transfer.
  CHECK(error_of(get("/chunked")) == errc::response_too_large);
  CHECK(get("/exact").has_value());
}

TEST_CASE("CurlTransport: a declared length over the limit fails before the body is read",
          "[curl]") {
  // The server announces a huge body, sends a little and then waits: only
  // CURLOPT_MAXFILESIZE_LARGE can fail this at once (the write callback alone would wait
  // for more bytes until the timeout).
  RawServer server([](int fd, RawServer& self) {
    std::string buffer;
    if (!self.read_request(fd, buffer)) return;
    RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n0123456789");
    while (self.read_more(fd, buffer)) {
    }
  });
  CurlTransport transport(CurlTransportOptions{.max_response_bytes = 1024});
  auto request = make_request(HttpMethod::get, server.url());
  request.timeout = 20s;
  CHECK(error_of(transport.send(request)) == errc::response_too_large);
}

TEST_CASE("CurlTransport: response headers count against max_response_bytes", "[curl]") {
  RawServer server(RawServer::http([](const RawRequest&) {
    std::string response = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 100; ++i) {
      response += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'f') + "\r\n";
    }
    return response + "Content-Length: 2\r\n\r\nok";
  }));
  CurlTransport small(CurlTransportOptions{.max_response_bytes = 4096});
  CHECK(error_of(small.send(make_request(HttpMethod::get, server.url()))) ==
        errc::response_too_large);
  CurlTransport large;
  auto result = large.send(make_request(HttpMethod::get, server.url()));
  REQUIRE(result.has_value());
  CHECK(result->headers.size() == 101);
}

TEST_CASE("CurlTransport: exactly the request's bytes reach the server", "[curl][wire]") {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  CurlTransport transport;
  const auto only_request = [&] {
    const auto seen = server.requests();
    REQUIRE(seen.size() == 1);
    return seen[0];
  };
  using Names = std::multiset<std::string>;

  SECTION("GET without headers sends only Host") {
    REQUIRE(transport.send(make_request(HttpMethod::get, server.url("/loc?x=1"))).has_value());
    const RawRequest seen = only_request();
    CHECK(seen.request_line == "GET /loc?x=1 HTTP/1.1");
    CHECK(seen.names() == Names{"host"});
    CHECK(seen.body.empty());
  }
  SECTION("POST without Content-Type gets none, and no Expect") {
    auto request = make_request(HttpMethod::post, server.url("/api/client/v2.0/auth/session"),
                                "{\"name\":\"reporting\"}");
    request.headers.emplace("Accept", "application/json");
    request.headers.emplace("Authorization", "Bearer abc.def.ghi");
    request.headers.emplace("X-Repeated", "one");
    request.headers.emplace("X-Repeated", "two");
    REQUIRE(transport.send(request).has_value());
    const RawRequest seen = only_request();
    CHECK(seen.request_line == "POST /api/client/v2.0/auth/session HTTP/1.1");
    CHECK(seen.names() ==
          Names{"host", "accept", "authorization", "x-repeated", "x-repeated", "content-length"});
    CHECK(seen.value("accept") == "application/json");
    CHECK(seen.value("authorization") == "Bearer abc.def.ghi");
    CHECK(seen.value("content-length") == "20");
    CHECK(seen.body == "{\"name\":\"reporting\"}");
  }
  SECTION("POST with Content-Type sends it once, as given") {
    auto request = make_request(HttpMethod::post, server.url("/login"), "{}");
    request.headers.emplace("Content-Type", "application/json;charset=utf-8");
    REQUIRE(transport.send(request).has_value());
    const RawRequest seen = only_request();
    CHECK(seen.count("content-type") == 1);
    CHECK(seen.value("content-type") == "application/json;charset=utf-8");
    CHECK(seen.body == "{}");
  }
  SECTION("a large binary body arrives intact, without Expect: 100-continue") {
    std::string body(3 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 % 256);
    auto request = make_request(HttpMethod::post, server.url("/upload"), body);
    request.headers.emplace("Content-Type", "application/octet-stream");
    REQUIRE(transport.send(request).has_value());
    const RawRequest seen = only_request();
    CHECK(seen.count("expect") == 0);
    CHECK(seen.value("content-length") == std::to_string(body.size()));
    CHECK(seen.body == body);
  }
  SECTION("PUT without a body sends no body and no Content-Type") {
    auto request = make_request(HttpMethod::put, server.url("/api_keys/0123/enable"));
    request.headers.emplace("Authorization", "Bearer r");
    REQUIRE(transport.send(request).has_value());
    const RawRequest seen = only_request();
    CHECK(seen.request_line == "PUT /api_keys/0123/enable HTTP/1.1");
    CHECK(seen.count("content-type") == 0);
    CHECK(seen.count("expect") == 0);
    CHECK(seen.count("transfer-encoding") == 0);
    // Content-Length: 0, as cpp-httplib sends too: RFC 9110 wants a length on a PUT,
    // and some front ends answer 411 Length Required without one.
    CHECK(seen.value("content-length") == "0");
    CHECK(seen.body.empty());
    CHECK(seen.raw.substr(seen.raw.size() - 4) == "\r\n\r\n");
  }
  SECTION("DELETE without a body sends no body, no Content-Type, no Content-Length") {
    auto request = make_request(HttpMethod::del, server.url("/auth/session"));
    request.headers.emplace("Authorization", "Bearer r");
    REQUIRE(transport.send(request).has_value());
    const RawRequest seen = only_request();
    CHECK(seen.request_line == "DELETE /auth/session HTTP/1.1");
    CHECK(seen.names() == Names{"host", "authorization"});
    CHECK(seen.body.empty());
  }
  SECTION("a header with an empty value is sent with an empty value") {
    auto request = make_request(HttpMethod::get, server.url());
    request.headers.emplace("X-Empty", "");
    REQUIRE(transport.send(request).has_value());
    const RawRequest seen = only_request();
    CHECK(seen.count("x-empty") == 1);
    CHECK(seen.value("x-empty").empty());
  }
  SECTION("headers that would split the request are invalid_argument, before any I/O") {
    for (auto [name, value] :
         std::vector<std::pair<std::string, std::string>>{{"X-Evil", "a\r\nX-Injected: yes"},
                                                          {"X-Evil", "a\nb"},
                                                          {"X-Evil", std::string("a\0b", 3)},
                                                          {"X-Evil: yes\r\nX", "v"},
                                                          {"Bad Name", "v"},
                                                          {"", "v"}}) {
      auto request = make_request(HttpMethod::get, server.url());
      request.headers.emplace(name, value);
      auto result = transport.send(request);
      CHECK(error_of(result) == errc::invalid_argument);
      if (!result) {
        CHECK(std::string(result.error().what()).find("X-Injected") == std::string::npos);
      }
    }
    CHECK(server.accepted() == 0);
  }
}

TEST_CASE("CurlTransport: response headers are the final response's", "[curl]") {
  RawServer server(RawServer::http([](const RawRequest&) {
    return std::string(
        "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
        "HTTP/1.1 201 Created\r\nX-Final: yes\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  }));
  CurlTransport transport;
  auto result = transport.send(make_request(HttpMethod::post, server.url("/create"), "{}"));
  REQUIRE(result.has_value());
  CHECK(result->status == 201);
  CHECK(result->body == "{}");
  CHECK(result->headers.count("x-interim") == 0);
  CHECK(appkeys::header_value(result->headers, "X-FINAL") == "yes");
  CHECK(result->headers.count("set-cookie") == 2);
  CHECK(appkeys::header_value(result->headers, "content-type") == "application/json");
}

TEST_CASE("CurlTransport: connections are kept alive between requests", "[curl][keepalive]") {
  RawServer server(RawServer::http([](const RawRequest& r) { return RawServer::ok(r.method); }));
  CurlTransport transport;
  constexpr int requests = 40;
  for (int i = 0; i < requests; ++i) {
    const HttpMethod method = std::array{HttpMethod::get, HttpMethod::post, HttpMethod::put,
                                         HttpMethod::del}[static_cast<std::size_t>(i % 4)];
    auto result = transport.send(make_request(method, server.url("/n/" + std::to_string(i)),
                                              method == HttpMethod::post ? "{}" : ""));
    REQUIRE(result.has_value());
    CHECK(result->body == appkeys::to_string(method));
  }
  CHECK(server.requests().size() == requests);
  CHECK(server.accepted() <= 2);
}

TEST_CASE("CurlTransport: one transport serves many threads at once", "[curl][concurrency]") {
  HttplibServer<> server([](httplib::Server& s) {
    s.Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_param_value("n"), "text/plain");
    });
  });
  CurlTransport transport;
  constexpr int threads = 8;
  constexpr int per_thread = 50;
  std::atomic<int> succeeded{0};
  std::atomic<int> mismatched{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string n = std::to_string(t * 1000 + i);
        auto result =
            transport.send(make_request(HttpMethod::get, url_for(server.port(), "/echo?n=" + n)));
        if (result && result->status == 200) {
          ++succeeded;
          if (result->body != n) ++mismatched;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(succeeded == threads * per_thread);
  CHECK(mismatched == 0);
}

TEST_CASE("CurlTransport: max_connections bounds the connections opened", "[curl][concurrency]") {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  CurlTransport transport(CurlTransportOptions{.max_connections = 2});
  std::atomic<int> succeeded{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 6; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (transport.send(make_request(HttpMethod::get, server.url()))) ++succeeded;
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(succeeded == 120);
  CHECK(server.accepted() <= 2);
}

TEST_CASE("CurlTransport: proxy credentials and tokens never appear in messages", "[curl]") {
  RefusingPort refusing;
  CurlTransportOptions options;
  options.proxy = url_for(refusing.port(), "");
  options.proxy_username = "proxy-user";
  options.proxy_password = appkeys::Secret("proxy-password-do-not-print");
  options.allow_insecure_http = true;
  CurlTransport transport(options);
  auto request =
      make_request(HttpMethod::post, "https://example.com/api", "{\"password\":\"pw1234\"}");
  request.headers.emplace("Authorization", "Bearer token-do-not-print");
  auto result = transport.send(request);
  CHECK(error_of(result) == errc::connection_failed);
  const std::string what = result.error().what();
  CHECK(what.find("proxy-password-do-not-print") == std::string::npos);
  CHECK(what.find("token-do-not-print") == std::string::npos);
  CHECK(what.find("pw1234") == std::string::npos);
}

TEST_CASE("CurlTransport: the environment's proxy is ignored unless asked for", "[curl]") {
  RawServer target(RawServer::http([](const RawRequest&) { return RawServer::ok("direct"); }));
  RawServer proxy(RawServer::http([](const RawRequest&) { return RawServer::ok("via proxy"); }));
  // Only this thread runs libcurl here, and no other thread reads the environment
  // while it is changed.
  ::setenv("http_proxy", proxy.url("").c_str(), 1);
  ::setenv("no_proxy", "", 1);
  struct Restore {
    ~Restore() {
      ::unsetenv("http_proxy");
      ::unsetenv("no_proxy");
    }
  } restore;

  SECTION("by default") {
    CurlTransport transport;
    auto result = transport.send(make_request(HttpMethod::get, target.url("/x")));
    REQUIRE(result.has_value());
    CHECK(result->body == "direct");
    CHECK(proxy.accepted() == 0);
  }
  SECTION("with use_environment_proxy") {
    CurlTransport transport(CurlTransportOptions{.use_environment_proxy = true});
    auto result = transport.send(make_request(HttpMethod::get, target.url("/x")));
    REQUIRE(result.has_value());
    CHECK(result->body == "via proxy");
  }
}

TEST_CASE("CurlTransport: copies share one pool, and a moved-from transport fails cleanly",
          "[curl]") {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  CurlTransport original;
  CurlTransport copy = original;
  REQUIRE(original.send(make_request(HttpMethod::get, server.url())).has_value());
  REQUIRE(copy.send(make_request(HttpMethod::get, server.url())).has_value());
  CHECK(server.accepted() == 1);
  CurlTransport moved = std::move(original);
  CHECK(moved.send(make_request(HttpMethod::get, server.url())).has_value());
  CHECK(error_of(original.send(make_request(HttpMethod::get, server.url()))) == errc::transport);
}

TEST_CASE("CurlTransport: a timeout that is not positive is invalid_argument, without I/O",
          "[curl]") {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  CurlTransport transport;
  auto request = make_request(HttpMethod::get, server.url());
  request.timeout = 0ms;
  CHECK(error_of(transport.send(request)) == errc::invalid_argument);
  request.timeout = -5ms;
  CHECK(error_of(transport.send(request)) == errc::invalid_argument);
  CHECK(server.accepted() == 0);
  // The other extreme is no problem either (no overflow in the deadline arithmetic).
  request.timeout = std::chrono::milliseconds::max();
  CHECK(transport.send(request).has_value());
}
