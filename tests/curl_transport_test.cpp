// The libcurl transports against real sockets on 127.0.0.1: each failure mode maps to
// its exact errc, the bytes on the wire are exactly the request's, connections are kept
// alive and one transport is safe to use from many threads. Every case runs through
// both CurlTransport and CurlMultiTransport (blocking send(): the same safety code, the
// same outcomes); curl_multi_transport_test.cpp has the event loop's own cases.
#include "support/curl_test_servers.hpp"

#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/curl_multi.hpp>

#include <httplib.h>
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace curl_transport_test {

using appkeys::CurlTransport;
using appkeys::CurlTransportOptions;
using appkeys::errc;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using namespace appkeys_test::curl_test;
using namespace std::chrono_literals;

#define APPKEYS_CURL_TRANSPORTS appkeys::CurlTransport, appkeys::CurlMultiTransport

// =================================================================================

TEMPLATE_TEST_CASE("libcurl transports: a port with nothing listening is connection_failed",
                   "[curl]", APPKEYS_CURL_TRANSPORTS) {
  RefusingPort refusing;
  TestType transport;
  auto request = make_request(HttpMethod::get, url_for(refusing.port(), "/x"));
  request.headers.emplace("Authorization", "Bearer refresh-token-that-must-not-leak");
  auto result = transport.send(request);
  CHECK(error_of(result) == errc::connection_failed);
  CHECK(result.error().http_status() == 0);
  CHECK(std::string(result.error().what()).find("refresh-token-that-must-not-leak") ==
        std::string::npos);
}

TEMPLATE_TEST_CASE("libcurl transports: a server slower than request.timeout is timeout", "[curl]",
                   APPKEYS_CURL_TRANSPORTS) {
  auto gate = std::make_shared<Gate>();
  HttplibServer<> server([gate](httplib::Server& s) {
    s.Get("/slow", [gate](const httplib::Request&, httplib::Response& res) {
      gate->wait();
      res.set_content("late", "text/plain");
    });
  });
  Opener opener{gate};

  TestType transport;
  auto request = make_request(HttpMethod::get, url_for(server.port(), "/slow"));
  request.timeout = 200ms;
  CHECK(error_of(transport.send(request)) == errc::timeout);
}

TEMPLATE_TEST_CASE(
    "libcurl transports: when every handle is busy, the wait counts against the timeout", "[curl]",
    APPKEYS_CURL_TRANSPORTS) {
  auto gate = std::make_shared<Gate>();
  HttplibServer<> server([gate](httplib::Server& s) {
    s.Get("/slow", [gate](const httplib::Request&, httplib::Response& res) {
      gate->wait();
      res.set_content("late", "text/plain");
    });
  });
  TestType transport(typename TestType::options_type{.max_connections = 1});
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

TEMPLATE_TEST_CASE("libcurl transports: a connection closed in the middle of the body is transport",
                   "[curl]", APPKEYS_CURL_TRANSPORTS) {
  RawServer server([](int fd, RawServer& self) {
    std::string buffer;
    if (!self.read_request(fd, buffer)) return;
    RawServer::write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    // Returning closes the socket, 90 bytes short.
  });
  TestType transport;
  auto result = transport.send(make_request(HttpMethod::get, server.url("/short")));
  CHECK(error_of(result) == errc::transport);
}

TEMPLATE_TEST_CASE("libcurl transports: a server that closes without answering is transport",
                   "[curl]", APPKEYS_CURL_TRANSPORTS) {
  RawServer server([](int fd, RawServer& self) {
    std::string buffer;
    (void)self.read_request(fd, buffer);
  });
  TestType transport;
  CHECK(error_of(transport.send(make_request(HttpMethod::get, server.url()))) == errc::transport);
}

TEMPLATE_TEST_CASE("libcurl transports: TLS certificates and host names are verified",
                   "[curl][tls]", APPKEYS_CURL_TRANSPORTS) {
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
    TestType transport;
    CHECK(error_of(transport.send(make_request(HttpMethod::get, by_name))) == errc::tls);
  }
  SECTION("trusting the certificate through ca_file, the host name localhost matches") {
    TestType transport(typename TestType::options_type{.ca_file = certificate.cert()});
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
    TestType transport(typename TestType::options_type{.ca_file = certificate.cert()});
    CHECK(error_of(transport.send(make_request(HttpMethod::get, by_address))) == errc::tls);
  }
  SECTION("danger_accept_invalid_certificates turns both checks off") {
    TestType transport(typename TestType::options_type{.danger_accept_invalid_certificates = true});
    auto result = transport.send(make_request(HttpMethod::get, by_address));
    REQUIRE(result.has_value());
    CHECK(result->status == 200);
    CHECK(result->body == "hello over tls");
  }
  SECTION("many threads share TLS sessions and DNS answers safely") {
    TestType transport(
        typename TestType::options_type{.max_connections = 4, .ca_file = certificate.cert()});
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
    TestType transport(typename TestType::options_type{.ca_file = certificate.cert() + ".missing"});
    CHECK(error_of(transport.send(make_request(HttpMethod::get, by_name))) == errc::tls);
  }
}

TEMPLATE_TEST_CASE("libcurl transports: redirects are returned, not followed", "[curl]",
                   APPKEYS_CURL_TRANSPORTS) {
  std::atomic<int> followed{0};
  HttplibServer<> server([&](httplib::Server& s) {
    s.Get("/from",
          [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/to", 302); });
    s.Get("/to", [&](const httplib::Request&, httplib::Response& res) {
      ++followed;
      res.set_content("followed", "text/plain");
    });
  });
  TestType transport;
  auto result = transport.send(make_request(HttpMethod::get, url_for(server.port(), "/from")));
  REQUIRE(result.has_value());
  CHECK(result->status == 302);
  CHECK(appkeys::header_value(result->headers, "location") == "/to");
  CHECK(followed == 0);
}

TEMPLATE_TEST_CASE("libcurl transports: HTTP error statuses are responses", "[curl]",
                   APPKEYS_CURL_TRANSPORTS) {
  RawServer server(RawServer::http([](const RawRequest&) {
    return std::string(
        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n"
        "{\"error_code\":\"NotFound1\"}\n");
  }));
  TestType transport;
  auto result = transport.send(make_request(HttpMethod::get, server.url("/missing")));
  REQUIRE(result.has_value());
  CHECK(result->status == 404);
  CHECK(result->body == "{\"error_code\":\"NotFound1\"}\n");
  CHECK(appkeys::header_value(result->headers, "CONTENT-TYPE") == "application/json");
}

TEMPLATE_TEST_CASE(
    "libcurl transports: plain http to a non-loopback host is refused before any I/O", "[curl]",
    APPKEYS_CURL_TRANSPORTS) {
  // Every request is routed through a local "proxy" that counts connections: if the
  // transport did any I/O at all, the proxy would see it.
  RawServer proxy(RawServer::http([](const RawRequest&) { return RawServer::ok("via proxy"); }));
  typename TestType::options_type options;
  options.proxy = proxy.url("");

  SECTION("refused by default") {
    TestType transport(options);
    for (const char* url :
         {"http://example.com/", "http://10.1.2.3:8080/api", "HTTP://Example.COM/x",
          "http://127.0.0.1.example.com/", "http://localhost.example.com/",
          "http://user:pw@example.com/", "http://[::2]/", "http://[::ffff:10.0.0.1]/",
          "http://128.0.0.1/", "http://0.0.0.0/", "http://localhost./", "http://127.0.0.1./"}) {
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
    TestType transport(options);
    // libcurl's URL parser normalises "127.1", "0x7f.1" and "2130706433" to 127.0.0.1
    // before the check sees the host.
    for (const char* url : {"http://127.0.0.1/", "http://127.9.8.7:81/a", "http://localhost/",
                            "http://LocalHost:8080/", "http://[::1]:8080/", "http://127.1/",
                            "http://0x7f.1/", "http://2130706433/", "http://[::ffff:127.0.0.1]/"}) {
      INFO("url: " << url);
      auto result = transport.send(make_request(HttpMethod::get, url));
      REQUIRE(result.has_value());
      CHECK(result->body == "via proxy");
    }
    CHECK(proxy.requests().size() == 9);
  }
  SECTION("allow_insecure_http lets it through") {
    options.allow_insecure_http = true;
    TestType transport(options);
    auto result = transport.send(make_request(HttpMethod::get, "http://example.com/plain"));
    REQUIRE(result.has_value());
    CHECK(result->body == "via proxy");
    const auto seen = proxy.requests();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].request_line == "GET http://example.com/plain HTTP/1.1");
  }
  SECTION("URLs that cannot be sent as given are invalid_argument, before any I/O") {
    TestType transport(options);
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

TEMPLATE_TEST_CASE("libcurl transports: responses over max_response_bytes are response_too_large",
                   "[curl]", APPKEYS_CURL_TRANSPORTS) {
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
  TestType transport(typename TestType::options_type{.max_response_bytes = limit});
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

TEMPLATE_TEST_CASE(
    "libcurl transports: a declared length over the limit fails before the body is read", "[curl]",
    APPKEYS_CURL_TRANSPORTS) {
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
  TestType transport(typename TestType::options_type{.max_response_bytes = 1024});
  auto request = make_request(HttpMethod::get, server.url());
  request.timeout = 20s;
  CHECK(error_of(transport.send(request)) == errc::response_too_large);
}

TEMPLATE_TEST_CASE("libcurl transports: response headers count against max_response_bytes",
                   "[curl]", APPKEYS_CURL_TRANSPORTS) {
  RawServer server(RawServer::http([](const RawRequest&) {
    std::string response = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 100; ++i) {
      response += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'f') + "\r\n";
    }
    return response + "Content-Length: 2\r\n\r\nok";
  }));
  TestType small(typename TestType::options_type{.max_response_bytes = 4096});
  CHECK(error_of(small.send(make_request(HttpMethod::get, server.url()))) ==
        errc::response_too_large);
  TestType large;
  auto result = large.send(make_request(HttpMethod::get, server.url()));
  REQUIRE(result.has_value());
  CHECK(result->headers.size() == 101);
}

TEMPLATE_TEST_CASE("libcurl transports: exactly the request's bytes reach the server",
                   "[curl][wire]", APPKEYS_CURL_TRANSPORTS) {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  TestType transport;
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

TEMPLATE_TEST_CASE("libcurl transports: response headers are the final response's", "[curl]",
                   APPKEYS_CURL_TRANSPORTS) {
  RawServer server(RawServer::http([](const RawRequest&) {
    return std::string(
        "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
        "HTTP/1.1 201 Created\r\nX-Final: yes\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  }));
  TestType transport;
  auto result = transport.send(make_request(HttpMethod::post, server.url("/create"), "{}"));
  REQUIRE(result.has_value());
  CHECK(result->status == 201);
  CHECK(result->body == "{}");
  CHECK(result->headers.count("x-interim") == 0);
  CHECK(appkeys::header_value(result->headers, "X-FINAL") == "yes");
  CHECK(result->headers.count("set-cookie") == 2);
  CHECK(appkeys::header_value(result->headers, "content-type") == "application/json");
}

TEMPLATE_TEST_CASE("libcurl transports: connections are kept alive between requests",
                   "[curl][keepalive]", APPKEYS_CURL_TRANSPORTS) {
  RawServer server(RawServer::http([](const RawRequest& r) { return RawServer::ok(r.method); }));
  TestType transport;
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

TEMPLATE_TEST_CASE("libcurl transports: one transport serves many threads at once",
                   "[curl][concurrency]", APPKEYS_CURL_TRANSPORTS) {
  HttplibServer<> server([](httplib::Server& s) {
    s.Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_param_value("n"), "text/plain");
    });
  });
  TestType transport;
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

TEMPLATE_TEST_CASE("libcurl transports: max_connections bounds the connections opened",
                   "[curl][concurrency]", APPKEYS_CURL_TRANSPORTS) {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  TestType transport(typename TestType::options_type{.max_connections = 2});
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

TEMPLATE_TEST_CASE("libcurl transports: proxy credentials and tokens never appear in messages",
                   "[curl]", APPKEYS_CURL_TRANSPORTS) {
  RefusingPort refusing;
  typename TestType::options_type options;
  options.proxy = url_for(refusing.port(), "");
  options.proxy_username = "proxy-user";
  options.proxy_password = appkeys::Secret("proxy-password-do-not-print");
  options.allow_insecure_http = true;
  TestType transport(options);
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

TEMPLATE_TEST_CASE("libcurl transports: the environment's proxy is ignored unless asked for",
                   "[curl]", APPKEYS_CURL_TRANSPORTS) {
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
    TestType transport;
    auto result = transport.send(make_request(HttpMethod::get, target.url("/x")));
    REQUIRE(result.has_value());
    CHECK(result->body == "direct");
    CHECK(proxy.accepted() == 0);
  }
  SECTION("with use_environment_proxy") {
    TestType transport(typename TestType::options_type{.use_environment_proxy = true});
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

TEMPLATE_TEST_CASE(
    "libcurl transports: a timeout that is not positive is invalid_argument, without I/O", "[curl]",
    APPKEYS_CURL_TRANSPORTS) {
  RawServer server(RawServer::http([](const RawRequest&) { return RawServer::ok(); }));
  TestType transport;
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

}  // namespace curl_transport_test
