// The one URL splitter and the one loopback rule (detail/url.hpp), which the client's
// configuration check, HttplibTransport, the libcurl transports and the fake backend
// all use.
#include <appkeys/appkeys.hpp>
#include <appkeys/detail/url.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace url_test {

using appkeys::detail::is_loopback_host;
using appkeys::detail::split_url;

TEST_CASE("split_url takes an absolute http(s) URL apart", "[url]") {
  SECTION("host, port, path and query") {
    const std::string_view url = "https://Example.com:8443/api/x?y=1#frag";
    const auto split = split_url(url);
    REQUIRE(split);
    CHECK(split.parts.https);
    CHECK(split.parts.scheme == "https");
    CHECK(split.parts.authority == "Example.com:8443");
    CHECK(split.parts.host == "Example.com");
    CHECK(split.parts.port == "8443");
    CHECK(split.parts.target == "/api/x?y=1#frag");
    CHECK(split.parts.path() == "/api/x");
    CHECK(split.parts.origin(url) == "https://Example.com:8443");
  }
  SECTION("a bracketed IPv6 literal") {
    const auto split = split_url("http://[::1]:80");
    REQUIRE(split);
    CHECK_FALSE(split.parts.https);
    CHECK(split.parts.bracketed);
    CHECK(split.parts.host == "::1");
    CHECK(split.parts.port == "80");
    CHECK(split.parts.path() == "/");
  }
  SECTION("no path, a query right after the authority, an upper-case scheme") {
    CHECK(split_url("HTTP://h?x").parts.path() == "/");
    CHECK(split_url("HTTP://h?x").parts.authority == "h");
    CHECK(split_url("http://h").parts.target.empty());
  }
  SECTION("what it refuses") {
    for (const char* url : {"example.com/x", "ftp://h/", "http:///path", "https://:80/",
                            "http://[::1/", "http://[::1]x/", "//h/x", ""}) {
      INFO("url: " << url);
      const auto split = split_url(url);
      CHECK_FALSE(split);
      CHECK(split.problem != nullptr);
    }
  }
}

TEST_CASE("is_loopback_host judges a host by its spelling alone", "[url][security]") {
  for (const char* host : {"localhost", "LocalHost", "127.0.0.1", "127.255.0.9", "::1", "[::1]",
                           "[::1%lo]", "0:0:0:0:0:0:0:1",
                           // IPv4-mapped loopback: the kernel delivers it to 127.0.0.1.
                           "::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "::FFFF:127.1.2.3"}) {
    INFO("host: " << host);
    CHECK(is_loopback_host(host));
  }
  for (const char* host :
       {// A trailing dot makes an absolute name for the resolver, which may answer
        // anything for it (glibc's hosts file does not list "localhost."): remote.
        "localhost.", "127.0.0.1.", "LOCALHOST.",
        // Other spellings of 127.0.0.1 and names that merely resolve to it: remote.
        "127.1", "0x7f.0.0.1", "2130706433", "localhost.example.com", "127.0.0.1.example.com",
        // Not loopback at all.
        "128.0.0.1", "0.0.0.0", "::", "::2", "[::2]", "::ffff:10.0.0.1", "example.com", "", "[]",
        "[::1", "local host"}) {
    INFO("host: " << host);
    CHECK_FALSE(is_loopback_host(host));
  }
}

TEST_CASE("an AppConfig::base_url must split as an absolute http(s) URL", "[url][config]") {
  appkeys::testing::FakeBackend backend;
  for (const char* base : {"ftp://x", "http://", "https://:443", "realm.mongodb.com"}) {
    INFO("base_url: " << base);
    appkeys::App<appkeys::testing::FakeTransport, appkeys::NoThrowExec> app(
        {.app_id = "a", .base_url = base}, appkeys::testing::FakeTransport{backend});
    auto user = app.log_in(appkeys::Credentials::anonymous());
    REQUIRE_FALSE(user);
    CHECK(user.error().value() == appkeys::errc::invalid_argument);
  }
  CHECK(backend.request_count() == 0);
}

}  // namespace url_test
