// The local server under hostile input: raw POSIX sockets send what no HTTP client
// would, and after every attack a well-formed client (through App, with each network
// transport) must still complete a create / fetch_all / remove cycle promptly, the
// backend's state must be intact and the server must still answer. Everything stays on
// 127.0.0.1 and is bounded in count and time.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hostile_server_input_test {

using appkeys::Credentials;
using appkeys::NoThrowExec;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr const char* email = "ann@example.com";
constexpr const char* password = "hostile input password";
constexpr const char* app_id = "shop-abcde";
// Not a speed requirement: the bound past which a call counts as hung. Generous, so that
// a sanitized build on a loaded 2-core machine never fails on wall-clock time.
constexpr std::chrono::milliseconds hang_bound = 60s;

/// A TCP connection to 127.0.0.1, closed on destruction.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    int yes = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) close();
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  RawSocket(RawSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ~RawSocket() { close(); }

  bool connected() const { return fd_ >= 0; }

  /// False once the peer stopped taking bytes (closed, reset, or 5 s without progress).
  bool send(std::string_view data) {
    while (!data.empty() && fd_ >= 0) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd_ >= 0;
  }

  void shutdown_write() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }

  /// Reads until one whole response (by Content-Length), the peer closes, `limit`
  /// bytes, or the deadline.
  std::string read_response(std::chrono::milliseconds within = hang_bound,
                            std::size_t limit = 1 << 20) {
    std::string in;
    const auto deadline = Clock::now() + within;
    while (fd_ >= 0 && in.size() < limit) {
      if (complete(in)) break;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      char buffer[16384];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      in.append(buffer, static_cast<std::size_t>(n));
    }
    return in;
  }

  /// Whether the peer has closed (reads EOF or an error) within `within`.
  bool closed_by_peer(std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    while (fd_ >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return true;
    }
    return true;
  }

 private:
  static bool complete(const std::string& in) {
    const auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string head = in.substr(0, end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = head.find("\r\ncontent-length:");
    if (at == std::string::npos) return true;
    const std::size_t length = std::stoul(head.substr(at + 17));
    return in.size() >= end + 4 + length;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd_ = -1;
};

/// The status code of a raw response, 0 if there is no status line.
int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

bool header_contains(const std::string& response, std::string_view needle) {
  std::string head = response.substr(0, response.find("\r\n\r\n"));
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head.find(needle) != std::string::npos;
}

struct Server {
  appkeys::testing::FakeBackend backend;
  appkeys::testing::LocalServer server{backend};
  std::string owner_id = backend.add_email_user(email, password);
  int cycles = 0;

  std::string location_request() const {
    return std::string("GET /api/client/v2.0/app/") + app_id +
           "/location HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  }

  /// A fresh connection gets 200 for the location route within 5 s.
  bool alive() const {
    RawSocket socket(server.port());
    if (!socket.connected() || !socket.send(location_request())) return false;
    return status_of(socket.read_response()) == 200;
  }

  /// A whole create / fetch_all / remove cycle through App with a real transport.
  template <class T>
  void cycle_with(T transport, const std::string& name) {
    appkeys::App<T, NoThrowExec> app(
        {.app_id = app_id, .base_url = server.base_url(), .request_timeout = hang_bound},
        std::move(transport));
    const auto started = Clock::now();
    auto user = app.log_in(Credentials::email_password(email, password));
    REQUIRE(user.has_value());
    auto keys = app.api_keys(*user);
    auto created = keys.create(name);
    REQUIRE(created.has_value());
    auto all = keys.fetch_all();
    REQUIRE(all.has_value());
    CHECK(all->size() == 1);
    CHECK(keys.remove(created->id).has_value());
    CHECK(app.log_out(*user).has_value());
    CHECK(Clock::now() - started < hang_bound);
  }

  /// (a) a well-formed client still works, (b) the state is intact, (c) the server lives.
  void check_healthy(const std::string& after) {
    INFO("after: " << after);
    const std::string name = "cycle-" + std::to_string(++cycles);
    if (cycles % 2 == 0) {
      cycle_with(appkeys::CurlTransport{}, name);
    } else {
      cycle_with(appkeys::HttplibTransport{}, name);
    }
    const auto dump = appkeys::detail::json::parse(backend.debug_dump(), nullptr, false);
    REQUIRE_FALSE(dump.is_discarded());
    REQUIRE(dump["users"].is_array());
    int owners = 0;
    for (const auto& user : dump["users"]) {
      if (user["id"] != owner_id) continue;
      ++owners;
      CHECK(user["api_keys"].size() == 0);
    }
    CHECK(owners == 1);
    CHECK(backend.key_count(owner_id) == 0);
    CHECK(alive());
  }

  /// The refresh token of a fresh email/password session, for raw authenticated requests.
  std::string refresh_token() {
    appkeys::App<appkeys::HttplibTransport, NoThrowExec> app(
        {.app_id = app_id, .base_url = server.base_url(), .request_timeout = hang_bound});
    auto user = app.log_in(Credentials::email_password(email, password));
    REQUIRE(user.has_value());
    return std::string(appkeys::detail::user_state(*user)->current_refresh_token().reveal());
  }

  /// Sends `bytes` on a new connection and returns whatever comes back within 5 s.
  std::string raw(std::string_view bytes) const {
    RawSocket socket(server.port());
    REQUIRE(socket.connected());
    socket.send(bytes);
    return socket.read_response();
  }
};

/// No answer, or a 4xx: anything else (a 2xx, a 5xx) means the input was accepted or
/// broke something.
bool refused(const std::string& response) {
  const int status = status_of(response);
  return response.empty() || (status >= 400 && status < 500);
}

}  // namespace

TEST_CASE("hostile input: malformed request lines and garbage bytes", "[hostile]") {
  Server s;
  s.check_healthy("nothing");
  const std::vector<std::string> requests = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "\r\n\r\n",
      " / HTTP/1.1\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /api/client/v2.0/auth/api_keys HTTP/1.1 trailing\r\nHost: x\r\n\r\n",
      "GET nopath HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /api/client/v2.0/auth/api_keys HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "POST /api/client/v2.0/auth/api_keys HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST /api/client/v2.0/auth/api_keys HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      std::string("GET /\0/x HTTP/1.1\r\n\r\n", 21),
  };
  for (const auto& request : requests) {
    INFO("request: " << request);
    CHECK(refused(s.raw(request)));
  }
  std::mt19937 random(42);
  for (int round = 0; round < 8; ++round) {
    std::string garbage(64 * 1024, '\0');
    for (auto& c : garbage) c = static_cast<char>(random() & 0xff);
    CHECK(refused(s.raw(garbage)));
  }
  s.check_healthy("malformed request lines and garbage");
}

// Known weakness (httplib 0.11, below LocalServer): a header line without a colon is
// silently dropped and the request answered, where RFC 9112 §5 wants a 400. See the report.
TEST_CASE("hostile input: a header without a colon, and a 1 MiB header line", "[hostile]") {
  Server s;
  const std::string no_colon = std::string("GET /api/client/v2.0/app/") + app_id +
                               "/location HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n"
                               "Connection: close\r\n\r\n";
  CHECK(status_of(s.raw(no_colon)) < 500);
  s.check_healthy("header without a colon");

  std::string huge = std::string("GET /api/client/v2.0/app/") + app_id +
                     "/location HTTP/1.1\r\nHost: x\r\nX-Huge: ";
  huge.append(std::size_t{1} << 20, 'a');
  huge += "\r\nConnection: close\r\n\r\n";
  const auto started = Clock::now();
  const std::string big_answer = s.raw(huge);
  CHECK(Clock::now() - started < hang_bound);
  INFO("status for the 1 MiB header line: " << status_of(big_answer));
  CHECK(status_of(big_answer) != 500);
  s.check_healthy("1 MiB header line");
}

TEST_CASE("hostile input: oversized bodies are refused with a JSON 413", "[hostile]") {
  Server s;
  const std::string token = s.refresh_token();
  const std::string head =
      "POST /api/client/v2.0/auth/api_keys HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      token + "\r\nContent-Type: application/json\r\n";
  SECTION("a declared Content-Length of 10 GiB") {
    RawSocket socket(s.server.port());
    REQUIRE(socket.connected());
    const auto started = Clock::now();
    socket.send(head + "Content-Length: 10737418240\r\n\r\n{\"name\":\"x\"");
    socket.shutdown_write();  // no more bytes will come
    const std::string answer = socket.read_response();
    // Refused with 413, or the connection closed without reading the body.
    INFO("status: " << status_of(answer));
    CHECK((answer.empty() || status_of(answer) == 413));
    CHECK(Clock::now() - started < hang_bound);
  }
  SECTION("a 2 MiB body") {
    std::string body = "{\"name\":\"";
    body.append(std::size_t{2} << 20, 'a');
    body += "\"}";
    RawSocket socket(s.server.port());
    REQUIRE(socket.connected());
    socket.send(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    const std::string answer = socket.read_response();
    REQUIRE(status_of(answer) == 413);
    CHECK(header_contains(answer, "content-type: application/json"));
    const auto json = appkeys::detail::json::parse(body_of(answer), nullptr, false);
    REQUIRE(json.is_object());
    CHECK(json.value("error_code", "") == "ReadSizeLimitExceeded");
  }
  s.check_healthy("oversized body");
}

// Known weakness: after the 1 MiB limit the connection keeps taking chunked bytes
// (16 MiB were accepted in well under a second); the server should stop reading and close
// once it answered 413. See the report.
TEST_CASE("hostile input: a chunked body that never ends is cut off", "[hostile]") {
  Server s;
  const std::string token = s.refresh_token();
  const std::string head =
      "POST /api/client/v2.0/auth/api_keys HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      token + "\r\nContent-Type: application/json\r\n";
  {
    RawSocket socket(s.server.port());
    REQUIRE(socket.connected());
    socket.send(head + "Transfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
    const auto started = Clock::now();
    std::size_t sent = 0;
    // Bounded: 16 MiB or 6 s, whichever first; the server must stop it long before.
    while (sent < (std::size_t{16} << 20) && Clock::now() - started < 6s && socket.send(chunk)) {
      sent += chunk.size();
    }
    INFO("sent " << sent << " bytes before the server stopped reading");
    CHECK(sent < (std::size_t{16} << 20));
    const std::string answer = socket.read_response(2000ms);
    CHECK((answer.empty() || status_of(answer) == 413));
  }
  s.check_healthy("chunked body that never ends");
  CHECK(s.alive());
}

TEST_CASE("hostile input: a slowloris client and a chunked body that stalls", "[hostile]") {
  Server s;
  std::atomic<bool> stop{false};
  std::jthread slowloris([&] {  // joined even when a REQUIRE below throws
    RawSocket socket(s.server.port());
    const std::string request =
        std::string("GET /api/client/v2.0/app/") + app_id +
        "/location HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'z');
    // One byte per 100 ms, for at most 3 s.
    for (std::size_t i = 0; i < request.size() && i < 30 && !stop; ++i) {
      if (!socket.send(request.substr(i, 1))) break;
      std::this_thread::sleep_for(100ms);
    }
  });
  RawSocket stalled(s.server.port());
  REQUIRE(stalled.connected());
  stalled.send(
      "POST /api/client/v2.0/auth/api_keys HTTP/1.1\r\nHost: x\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  s.check_healthy("slowloris in progress, chunked body stalled");
  stop = true;
  slowloris.join();
  s.check_healthy("slowloris finished");
}

TEST_CASE("hostile input: 200 idle connections, closed again", "[hostile]") {
  Server s;
  {
    std::vector<RawSocket> idle;
    for (int i = 0; i < 200; ++i) idle.emplace_back(s.server.port());
    int connected = 0;
    for (const auto& socket : idle) connected += socket.connected() ? 1 : 0;
    CHECK(connected == 200);
  }
  s.check_healthy("200 idle connections, closed");
}

// Known weakness: LocalServer serves 32 connections at once and httplib holds a worker
// for up to the 2 s keep-alive timeout on a connection that sends nothing, so 200 idle
// connections queue a well-formed client for ~12 s. See the report.
TEST_CASE("hostile input: 200 idle connections held open", "[hostile]") {
  Server s;
  std::vector<RawSocket> idle;
  for (int i = 0; i < 200; ++i) idle.emplace_back(s.server.port());
  std::this_thread::sleep_for(50ms);
  s.check_healthy("200 idle connections held open");
}

TEST_CASE("hostile input: invalid and wrongly typed JSON on every route", "[hostile]") {
  Server s;
  const std::string token = s.refresh_token();
  const std::string id = "0123456789abcdef01234567";
  struct Route {
    const char* method;
    std::string path;
    bool bearer;
    bool takes_body;
  };
  const std::string app = std::string("/api/client/v2.0/app/") + app_id;
  const std::vector<Route> routes = {
      {"POST", app + "/auth/providers/local-userpass/login", false, true},
      {"POST", app + "/auth/providers/anon-user/login", false, false},
      {"POST", app + "/auth/providers/api-key/login", false, true},
      {"POST", app + "/auth/providers/local-userpass/register", false, true},
      {"GET", "/api/client/v2.0/auth/profile", true, false},
      {"POST", "/api/client/v2.0/auth/api_keys", true, true},
      {"GET", "/api/client/v2.0/auth/api_keys", true, false},
      {"GET", "/api/client/v2.0/auth/api_keys/" + id, true, false},
      {"PUT", "/api/client/v2.0/auth/api_keys/" + id + "/enable", true, false},
      {"PUT", "/api/client/v2.0/auth/api_keys/" + id + "/disable", true, false},
      {"DELETE", "/api/client/v2.0/auth/api_keys/" + id, true, false},
  };
  const std::vector<std::string> bodies = {"{",
                                           "}",
                                           "null",
                                           "[]",
                                           "123",
                                           "\"text\"",
                                           "{\"name\":5}",
                                           "{\"name\":null}",
                                           "{\"name\":[\"a\"]}",
                                           "{\"name\":{}}",
                                           "{\"username\":1,\"password\":{}}",
                                           "{\"key\":7}",
                                           "{\"email\":[],\"password\":true}",
                                           "{\"options\":\"x\",\"key\":\"\"}",
                                           "{\"name\":\"\xff\xfe\"}",
                                           "{\"name\":\"caf\xc3\xa9\"}",
                                           "{\"name\":\"a\\u0000b\"}",
                                           std::string("{\"name\":\"a\0b\"}", 14)};
  int answered = 0;
  for (const auto& route : routes) {
    for (const auto& body : bodies) {
      std::string request = std::string(route.method) + ' ' + route.path +
                            " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                            "Content-Type: application/json\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n";
      if (route.bearer) request += "Authorization: Bearer " + token + "\r\n";
      request += "\r\n" + body;
      const std::string answer = s.raw(request);
      INFO(route.method << ' ' << route.path << " with body " << body);
      const int status = status_of(answer);
      CHECK(status != 0);
      CHECK(status < 500);
      if (route.takes_body) CHECK(status >= 400);
      if (header_contains(answer, "content-type: application/json")) {
        CHECK_FALSE(appkeys::detail::json::parse(body_of(answer), nullptr, false).is_discarded());
      }
      ++answered;
    }
  }
  CHECK(answered == static_cast<int>(routes.size() * bodies.size()));
  // No key was created by any of it.
  CHECK(s.backend.key_count(s.owner_id) == 0);
  s.check_healthy("invalid JSON bodies");
}

TEST_CASE("hostile input: non-UTF-8 key names through the client", "[hostile]") {
  Server s;
  appkeys::App<appkeys::CurlTransport, NoThrowExec> app(
      {.app_id = app_id, .base_url = s.server.base_url(), .request_timeout = hang_bound});
  auto user = app.log_in(Credentials::email_password(email, password));
  REQUIRE(user.has_value());
  auto keys = app.api_keys(*user);
  for (std::string name : {std::string("\xff\xfe"), std::string("caf\xc3\xa9"),
                           std::string("a\xc0\x80z"), std::string("x\0y", 3)}) {
    auto created = keys.create(name);
    CHECK_FALSE(created.has_value());
  }
  CHECK(s.backend.key_count(s.owner_id) == 0);
  s.check_healthy("non-UTF-8 names");
}

TEST_CASE("hostile input: 100 well-formed requests from threads during abuse", "[hostile]") {
  Server s;
  std::atomic<bool> stop{false};
  std::vector<std::thread> abusers;
  // Garbage, slowloris and held connections while the well-formed clients work.
  abusers.emplace_back([&] {
    std::mt19937 random(7);
    for (int i = 0; i < 200 && !stop; ++i) {
      RawSocket socket(s.server.port());
      std::string garbage(512, '\0');
      for (auto& c : garbage) c = static_cast<char>(random() & 0xff);
      socket.send(garbage);
      socket.read_response(200ms);
    }
  });
  abusers.emplace_back([&] {
    RawSocket socket(s.server.port());
    socket.send("GET / HTTP/1.1\r\n");
    for (int i = 0; i < 40 && !stop; ++i) {
      socket.send("X");
      std::this_thread::sleep_for(100ms);
    }
  });
  abusers.emplace_back([&] {
    std::vector<RawSocket> held;
    for (int i = 0; i < 8; ++i) held.emplace_back(s.server.port());
    for (int i = 0; i < 40 && !stop; ++i) std::this_thread::sleep_for(100ms);
  });

  constexpr int clients = 10;
  constexpr int pairs = 5;  // each a create and a remove: 100 key requests in all
  std::atomic<int> succeeded{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  const auto started = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto run = [&](auto transport) {
        using T = decltype(transport);
        appkeys::App<T, NoThrowExec> app(
            {.app_id = app_id, .base_url = s.server.base_url(), .request_timeout = hang_bound},
            std::move(transport));
        auto user = app.log_in(Credentials::email_password(email, password));
        if (!user) return void(failed += 2 * pairs);
        auto keys = app.api_keys(*user);
        for (int i = 0; i < pairs; ++i) {
          auto created = keys.create("c" + std::to_string(c) + "-" + std::to_string(i));
          (created ? succeeded : failed) += 1;
          if (created) (keys.remove(created->id) ? succeeded : failed) += 1;
        }
        (void)app.log_out(*user);
      };
      if (c % 2 == 0) {
        run(appkeys::CurlTransport{});
      } else {
        run(appkeys::HttplibTransport{});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto elapsed = Clock::now() - started;
  stop = true;
  for (auto& thread : abusers) thread.join();

  CHECK(succeeded == clients * pairs * 2);
  CHECK(failed == 0);
  CHECK(elapsed < hang_bound);
  s.check_healthy("100 requests during abuse");
}

}  // namespace hostile_server_input_test
