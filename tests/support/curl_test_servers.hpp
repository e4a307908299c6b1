// Servers and helpers for the libcurl transports' tests (curl_transport_test.cpp runs
// its cases through both transports; curl_multi_transport_test.cpp adds the event
// loop's own): each failure mode needs a real socket on 127.0.0.1.
//
// Servers here: cpp-httplib (httplib::Server / SSLServer) where a well-behaved HTTP
// server is enough, and RawServer where the test must see the raw bytes, count
// connections or misbehave on purpose.
#pragma once

// The umbrella header: the single-header build of the suite has no other header.
#include <appkeys/appkeys.hpp>

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
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace appkeys_test::curl_test {

using appkeys::errc;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using namespace std::chrono_literals;

// Generous: the tests never depend on speed, only on what happened.
constexpr std::chrono::milliseconds patient{30'000};

inline std::string lower(std::string text) {
  for (char& c : text) c = appkeys::detail::ascii_lower(c);
  return text;
}

inline HttpRequest make_request(HttpMethod method, std::string url, std::string body = {}) {
  HttpRequest request;
  request.method = method;
  request.url = std::move(url);
  request.body = std::move(body);
  request.timeout = patient;
  return request;
}

inline std::string url_for(int port, std::string_view path = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

/// The errc of a failed send; fails the test if the send succeeded.
inline errc error_of(const appkeys::Result<HttpResponse>& result) {
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

inline RawRequest parse_raw(std::string raw, std::size_t head_size) {
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
inline void warm_up_httplib() {
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

}  // namespace appkeys_test::curl_test
