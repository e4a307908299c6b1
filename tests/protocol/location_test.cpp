// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. §1
// Location: the location request, its cache and its failures.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace protocol_location_test {

using namespace protocol_world;

// §1 Location

TEST_CASE("the first request is the location request, with no headers", "[protocol][location]") {
  auto config = default_config();
  config.base_url = kBase + "/";  // a trailing '/' is stripped
  Harness<> h(config);
  h.transport
      .respond(location_ok(kHost + "/"))  // so is the hostname's
      .respond(login_ok())
      .respond(profile_ok());
  auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  REQUIRE(user);

  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 3);
  const auto& location = requests[0];
  CHECK(location.method == HttpMethod::get);
  CHECK(location.url == kBase + kApi + "/app/" + kAppId + "/location");
  CHECK(location.headers.empty());
  CHECK(location.body.empty());
  CHECK(location.timeout == std::chrono::milliseconds(4321));

  CHECK(requests[1].url ==
        kHost + kApi + "/app/" + kAppId + "/auth/providers/local-userpass/login");
  CHECK(requests[2].url == kHost + kApi + "/auth/profile");
  for (const auto& request : requests) CHECK(request.timeout == std::chrono::milliseconds(4321));
}

TEST_CASE("the location is fetched once and cached", "[protocol][location]") {
  Harness<> fresh;
  fresh.transport.respond(location_ok()).respond(login_ok()).respond(profile_ok());
  fresh.transport.respond(login_ok()).respond(profile_ok("anon-user"));
  fresh.transport.respond(json_response(200, "[]"));
  auto u1 = fresh.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  REQUIRE(u1);
  auto u2 = fresh.app.log_in(appkeys::Credentials::anonymous());
  REQUIRE(u2);
  auto listed = fresh.app.api_keys(*u1).fetch_all();
  REQUIRE(listed);
  CHECK(fresh.transport.request_count() == 6);
  CHECK(fresh.transport.count_url_suffix("/location") == 1);
  for (const auto& request : fresh.transport.requests()) {
    if (!contains(request.url, "/location")) CHECK(request.url.rfind(kHost + kApi, 0) == 0);
  }

  // Copies of an App share the resolved location.
  auto copy = fresh.app;
  fresh.transport.respond(login_ok()).respond(profile_ok());
  auto u3 = copy.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  REQUIRE(u3);
  CHECK(fresh.transport.count_url_suffix("/location") == 1);
}

TEST_CASE("skip_location sends every request to the base URL", "[protocol][location]") {
  auto config = skip_location_config();
  config.base_url = kBase + "//";
  Harness<> h(config);
  h.transport.respond(login_ok()).respond(profile_ok());
  auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  REQUIRE(user);
  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].url ==
        kBase + kApi + "/app/" + kAppId + "/auth/providers/local-userpass/login");
  CHECK(requests[1].url == kBase + kApi + "/auth/profile");
  CHECK(h.transport.count_url_suffix("/location") == 0);
}

TEST_CASE("location failures are reported and not cached", "[protocol][location]") {
  struct Case {
    const char* name;
    std::function<void(ScriptedTransport&)> script;
    errc expected;
    int status;
  };
  const std::vector<Case> cases = {
      {"HTML 500", [](auto& t) { t.respond(text_response(500, "<html>oops</html>", "text/html")); },
       errc::http_error, 500},
      {"404 JSON with an unknown code",
       [](auto& t) {
         t.respond(error_response(404, "cannot find app using Client App ID 'shop-abcde'",
                                  "AppNotFound"));
       },
       errc::app_server_error, 404},
      {"302 redirect (not followed)",
       [](auto& t) {
         auto r = text_response(302, "", "");
         r.headers.emplace("Location", "https://elsewhere.example.test/");
         t.respond(r);
       },
       errc::http_error, 302},
      {"hostname missing",
       [](auto& t) { t.respond(json_response(200, R"({"location":"US-VA"})")); },
       errc::malformed_response, 200},
      {"hostname not a string",
       [](auto& t) { t.respond(json_response(200, R"({"hostname":42})")); },
       errc::malformed_response, 200},
      {"hostname null", [](auto& t) { t.respond(json_response(200, R"({"hostname":null})")); },
       errc::malformed_response, 200},
      {"hostname not a URL",
       [](auto& t) { t.respond(json_response(200, R"({"hostname":"eu.host.example.test"})")); },
       errc::malformed_response, 200},
      {"hostname with another scheme",
       [](auto& t) {
         t.respond(json_response(200, R"({"hostname":"ftp://eu.host.example.test"})"));
       },
       errc::malformed_response, 200},
      {"hostname empty", [](auto& t) { t.respond(json_response(200, R"({"hostname":""})")); },
       errc::malformed_response, 200},
      {"not JSON",
       [](auto& t) { t.respond(text_response(200, "hostname=https://x", "text/plain")); },
       errc::malformed_response, 200},
      {"truncated JSON",
       [](auto& t) { t.respond(json_response(200, R"({"hostname":"https://eu.host.exa)")); },
       errc::malformed_response, 200},
      {"a JSON array", [](auto& t) { t.respond(json_response(200, R"(["https://x.example"])")); },
       errc::malformed_response, 200},
      {"deeply nested", [](auto& t) { t.respond(json_response(200, deeply_nested(100000))); },
       errc::malformed_response, 200},
      {"connection failed",
       [](auto& t) { t.fail(AppError(errc::connection_failed, "connection refused")); },
       errc::connection_failed, 0},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Harness<> h;
    c.script(h.transport);
    auto failed = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
    const auto error = expect_error(failed, c.expected);
    CHECK(error.http_status() == c.status);
    CHECK(h.transport.request_count() == 1);  // nothing after the failed location

    // Not cached: the next call asks again, and then goes to the hostname.
    h.transport.respond(location_ok()).respond(login_ok()).respond(profile_ok());
    auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
    REQUIRE(user);
    const auto requests = h.transport.requests();
    REQUIRE(requests.size() == 4);
    CHECK(requests[1].url == kBase + kApi + "/app/" + kAppId + "/location");
    CHECK(requests[2].url.rfind(kHost + kApi + "/app/", 0) == 0);
  }
}

}  // namespace protocol_location_test
