// LocalServer's options over real sockets: any ServableBackend, the delay, the access log,
// HTTPS with a certificate made at test time (the key lifecycle through both transports)
// and its refusals, and a destructor that lets the request in flight finish. Elapsed time
// is only ever bounded from below (a delay is at least as long as asked), never above.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>
#include <catch2/catch.hpp>

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace local_server_test {

using appkeys::errc;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using appkeys::testing::AccessLogEntry;
using appkeys::testing::FakeBackend;
using appkeys::testing::FakeBackendOptions;
using appkeys::testing::LocalServer;
using appkeys::testing::LocalServerOptions;
using namespace std::chrono_literals;

namespace {

/// Not a FakeBackend: answers every request with the URL it was given.
struct EchoBackend {
  HttpResponse handle(const HttpRequest& request) {
    HttpResponse response{.status = 200, .headers = {}, .body = request.url};
    response.headers.emplace("Content-Type", "text/plain");
    return response;
  }
};

/// Says when a request has reached it, then takes `hold` to answer.
struct SlowBackend {
  std::promise<void> entered;
  std::chrono::milliseconds hold{300};
  HttpResponse handle(const HttpRequest&) {
    entered.set_value();
    std::this_thread::sleep_for(hold);
    return HttpResponse{.status = 200, .headers = {}, .body = "done"};
  }
};

/// Access-log entries, copied out of the sink's call.
struct Recorded {
  std::string method;
  std::string path;
  int status = 0;
  std::chrono::milliseconds duration{0};
};

struct LogSink {
  std::mutex mutex;
  std::vector<Recorded> entries;
  std::function<void(const AccessLogEntry&)> sink() {
    return [this](const AccessLogEntry& e) {
      std::lock_guard lock(mutex);
      entries.push_back({std::string(e.method), std::string(e.path), e.status, e.duration});
    };
  }
  std::vector<Recorded> snapshot() {
    std::lock_guard lock(mutex);
    return entries;
  }
};

/// A self-signed certificate for "localhost" and 127.0.0.1 and a second key that does
/// not match it, made by the openssl CLI in a temporary directory.
struct TestCertificate {
  std::filesystem::path dir;
  std::string cert, key, other_key;
  bool ok = false;

  TestCertificate() {
    char pattern[] = "/tmp/appkeys-serve-tls-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return;
    dir = pattern;
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    other_key = (dir / "other-key.pem").string();
    const std::string common =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 1 ";
    const std::string first = common + "-keyout '" + key + "' -out '" + cert + "' >/dev/null 2>&1";
    const std::string second = common + "-keyout '" + other_key + "' -out '" +
                               (dir / "other-cert.pem").string() + "' >/dev/null 2>&1";
    ok = std::system(first.c_str()) == 0 && std::system(second.c_str()) == 0 &&
         std::filesystem::exists(cert) && std::filesystem::exists(other_key);
  }
  ~TestCertificate() {
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
};

/// Sends raw bytes to 127.0.0.1:port and returns what comes back until the peer closes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    timeval timeout{60, 0};  // a hang bound only
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) out.append(buffer, n);
  }
  ::close(fd);
  return out;
}

template <class T>
void run_key_lifecycle(T transport, const std::string& base_url) {
  appkeys::App<T> app({.app_id = "tls-app", .base_url = base_url}, std::move(transport));
  appkeys::User ann = app.log_in(appkeys::Credentials::email_password("ann@example.com", "pw"));
  auto keys = app.api_keys(ann);
  appkeys::ApiKey key = keys.create("over-tls");
  REQUIRE(key.key.has_value());
  CHECK(keys.fetch_all().size() == 1);
  keys.disable(key.id);
  CHECK(keys.fetch(key.id).disabled);
  keys.enable(key.id);
  appkeys::User by_key = app.log_in(appkeys::Credentials::api_key(key.key->reveal()));
  CHECK(by_key.id() == ann.id());
  keys.remove(key.id);
  CHECK(keys.fetch_all().empty());
}

}  // namespace

TEST_CASE("LocalServer serves any backend with handle(HttpRequest)", "[local_server]") {
  static_assert(appkeys::testing::ServableBackend<EchoBackend>);
  static_assert(appkeys::testing::ServableBackend<FakeBackend>);
  EchoBackend backend;
  LocalServer server{backend};
  httplib::Client http("127.0.0.1", server.port());
  auto res = http.Get("/some/path?q=1");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body == server.base_url() + "/some/path?q=1");
  CHECK_FALSE(server.is_tls());
}

TEST_CASE("LocalServer: the older constructors still work", "[local_server]") {
  FakeBackend backend;
  LocalServer first{backend};
  LocalServer second{backend, 0, "127.0.0.1", 4};
  CHECK(first.port() != second.port());
  CHECK(second.base_url() == "http://127.0.0.1:" + std::to_string(second.port()));
}

TEST_CASE("LocalServer: the delay holds every answer and the access log has one line each",
          "[local_server]") {
  FakeBackend backend;
  LogSink log;
  LocalServer server{backend, LocalServerOptions{.delay = 150ms, .access_log = log.sink()}};
  httplib::Client http("127.0.0.1", server.port());
  const auto started = std::chrono::steady_clock::now();
  auto res = http.Get("/api/client/v2.0/app/a/location?token=secret-in-query",
                      {{"Authorization", "Bearer secret-in-header"}});
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(std::chrono::steady_clock::now() - started >= 150ms);
  http.Patch("/api/client/v2.0/auth/api_keys", "{}", "application/json");
  http.stop();

  // The logger runs after the response is written: wait for it, bounded.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (log.snapshot().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const auto entries = log.snapshot();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].method == "GET");
  CHECK(entries[0].path == "/api/client/v2.0/app/a/location");
  CHECK(entries[0].status == 200);
  CHECK(entries[0].duration >= 150ms);
  CHECK(entries[1].method == "PATCH");
  CHECK(entries[1].status == 405);
}

TEST_CASE("LocalServer: a request refused before routing is logged, without a duration",
          "[local_server]") {
  FakeBackend backend;
  LogSink log;
  LocalServer server{backend, LocalServerOptions{.access_log = log.sink()}};
  const std::string answer = raw_exchange(server.port(), "garbage\r\n\r\n");
  CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (log.snapshot().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const auto entries = log.snapshot();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].status == 400);
  CHECK(entries[0].path == "-");
  CHECK(entries[0].duration == 0ms);
}

TEST_CASE("LocalServer: logged text is one printable line, cut when long", "[local_server]") {
  using appkeys::testing::local_server_detail::loggable;
  using appkeys::testing::local_server_detail::target_path;
  CHECK(loggable("", 10) == "-");
  CHECK(loggable("/a%2Fb", 10) == "/a%2Fb");
  CHECK(loggable("/a b\n\x7f\xc3\xa9", 20) == "/a%20b%0A%7F%C3%A9");
  CHECK(loggable("/abcdef", 3) == "/ab...");
  CHECK(target_path("/p?token=x#frag") == "/p");
  CHECK(target_path("/p#frag?x") == "/p");
}

TEST_CASE("LocalServer: the destructor lets the request in flight finish", "[local_server]") {
  SlowBackend backend;
  auto entered = backend.entered.get_future();
  std::optional<LocalServer> server(std::in_place, backend);
  const std::uint16_t port = server->port();
  auto answer = std::async(std::launch::async, [port] {
    httplib::Client http("127.0.0.1", port);
    http.set_read_timeout(60, 0);
    auto res = http.Get("/slow");
    return res ? std::to_string(res->status) + ' ' + res->body : std::string("no answer");
  });
  REQUIRE(entered.wait_for(60s) == std::future_status::ready);
  server.reset();  // while the backend still holds the request
  REQUIRE(answer.wait_for(60s) == std::future_status::ready);
  CHECK(answer.get() == "200 done");
  httplib::Client late("127.0.0.1", port);
  CHECK_FALSE(late.Get("/slow"));  // nothing listens any more
}

TEST_CASE("LocalServer over HTTPS: the key lifecycle through both transports",
          "[local_server][tls]") {
  static const TestCertificate certificate;
  if (!certificate.ok) {
    WARN("the openssl CLI could not make a certificate; TLS checks skipped");
    return;
  }
  FakeBackend backend(FakeBackendOptions{.app_id = "tls-app"});
  backend.add_email_user("ann@example.com", "pw");
  LocalServer server{backend, LocalServerOptions{.tls_cert_file = certificate.cert,
                                                 .tls_key_file = certificate.key}};
  CHECK(server.is_tls());
  CHECK(server.base_url() == "https://127.0.0.1:" + std::to_string(server.port()));

  SECTION("HttplibTransport trusting the certificate through ca_file") {
    run_key_lifecycle(appkeys::HttplibTransport({.ca_file = certificate.cert}), server.base_url());
  }
  SECTION("CurlTransport trusting the certificate through ca_file") {
    run_key_lifecycle(appkeys::CurlTransport({.ca_file = certificate.cert}), server.base_url());
  }
  SECTION("by the name localhost, the location answer keeps that name") {
    run_key_lifecycle(appkeys::CurlTransport({.ca_file = certificate.cert}),
                      "https://localhost:" + std::to_string(server.port()));
  }
  SECTION("without trusting it, a client refuses the server") {
    appkeys::App<appkeys::HttplibTransport> app(
        {.app_id = "tls-app", .base_url = server.base_url()});
    try {
      app.log_in(appkeys::Credentials::email_password("ann@example.com", "pw"));
      FAIL("an untrusted certificate was accepted");
    } catch (const appkeys::AppError& error) {
      CHECK(error.code() == errc::tls);
    }
  }
}

TEST_CASE("LocalServer refuses TLS files it cannot use, naming them", "[local_server][tls]") {
  static const TestCertificate certificate;
  if (!certificate.ok) {
    WARN("the openssl CLI could not make a certificate; TLS checks skipped");
    return;
  }
  FakeBackend backend;
  auto refusal = [&](std::string cert, std::string key) -> std::optional<appkeys::AppError> {
    try {
      LocalServer server{backend, LocalServerOptions{.tls_cert_file = std::move(cert),
                                                     .tls_key_file = std::move(key)}};
    } catch (const appkeys::AppError& error) {
      return error;
    }
    return std::nullopt;
  };
  const std::string missing = (certificate.dir / "missing.pem").string();

  auto only_cert = refusal(certificate.cert, "");
  REQUIRE(only_cert);
  CHECK(only_cert->code() == errc::invalid_argument);

  auto unreadable = refusal(missing, certificate.key);
  REQUIRE(unreadable);
  CHECK(unreadable->code() == errc::tls);
  CHECK_THAT(unreadable->what(), Catch::Contains(missing));

  auto not_a_certificate = refusal(certificate.key, certificate.key);
  REQUIRE(not_a_certificate);
  CHECK(not_a_certificate->code() == errc::tls);
  CHECK_THAT(not_a_certificate->what(), Catch::Contains("no usable PEM certificate"));

  auto not_a_key = refusal(certificate.cert, certificate.cert);
  REQUIRE(not_a_key);
  CHECK_THAT(not_a_key->what(), Catch::Contains("no usable unencrypted PEM private key"));

  auto mismatched = refusal(certificate.cert, certificate.other_key);
  REQUIRE(mismatched);
  CHECK(mismatched->code() == errc::tls);
  CHECK_THAT(mismatched->what(), Catch::Contains("does not match"));
}

}  // namespace local_server_test
