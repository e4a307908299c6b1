// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. §5 The
// 401 rules: refresh and retry once on access-token requests, end the session on
// refresh-token requests.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace protocol_unauthorized_test {

using namespace protocol_world;

// §5 401 rules

TEST_CASE("a 401 on an API-key call ends the session without a retry", "[protocol][401]") {
  for (const auto& op : all_key_operations()) {
    INFO(op.name);
    Harness<> h;
    auto user = h.log_in();
    const appkeys::User copy = user;
    auto keys = h.app.api_keys(user);
    h.transport.respond(invalid_session());
    auto error = op.run(keys);
    REQUIRE(error.has_value());
    CHECK(error->value() == errc::invalid_session);
    CHECK(error->http_status() == 401);
    CHECK(error->server_code() == "InvalidSession");
    check_secret_free(*error);
    CHECK(h.transport.request_count() == 1);  // no refresh, no retry
    CHECK(h.transport.count_url_suffix("/auth/session") == 0);

    CHECK_FALSE(user.is_logged_in());
    CHECK_FALSE(copy.is_logged_in());
    CHECK_FALSE(keys.user().is_logged_in());

    // Every later call fails before any I/O.
    h.transport.clear_requests();
    for (const auto& later : all_key_operations()) {
      INFO("then " << later.name);
      auto again = later.run(keys);
      REQUIRE(again.has_value());
      CHECK(again->value() == errc::not_logged_in);
      check_secret_free(*again);
      auto through_copy = later.run(h.app.api_keys(copy));
      REQUIRE(through_copy.has_value());
      CHECK(through_copy->value() == errc::not_logged_in);
    }
    CHECK(h.transport.request_count() == 0);
  }
}

TEST_CASE("a 401 without a JSON body still ends the session", "[protocol][401]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(text_response(401, "Unauthorized", "text/plain"));
  auto result = h.app.api_keys(user).fetch_all();
  CHECK(expect_error(result, errc::http_error).http_status() == 401);
  CHECK_FALSE(user.is_logged_in());
  CHECK(h.transport.request_count() == 1);
}

TEST_CASE("a 401 on the profile request refreshes the access token and retries once",
          "[protocol][401]") {
  Harness<> h;
  h.transport.respond(location_ok())
      .respond(login_ok())
      .respond(invalid_session())
      .respond(session_ok(kAccessNew))
      .respond(profile_ok());
  auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  REQUIRE(user);
  CHECK(user->is_logged_in());
  CHECK(user->identities().size() == 1);

  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 5);
  CHECK(requests[2].url == kHost + kApi + "/auth/profile");
  CHECK(header(requests[2], "Authorization") == "Bearer " + kAccess);

  const auto& refresh = requests[3];
  CHECK(refresh.method == HttpMethod::post);
  CHECK(refresh.url == kHost + kApi + "/auth/session");
  CHECK(header(refresh, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(refresh, "Accept") == "application/json");
  CHECK(header(refresh, "Content-Type") == kAbsent);
  CHECK(refresh.body.empty());

  CHECK(requests[4].method == HttpMethod::get);
  CHECK(requests[4].url == kHost + kApi + "/auth/profile");
  CHECK(header(requests[4], "Authorization") == "Bearer " + kAccessNew);

  // The refresh token did not change: API-key calls still use it.
  h.transport.respond(json_response(200, "[]"));
  REQUIRE(h.app.api_keys(*user).fetch_all());
  CHECK(header(*h.transport.last_request(), "Authorization") == "Bearer " + kRefresh);
}

TEST_CASE("a 401 on the refresh itself ends the session and is returned", "[protocol][401]") {
  Harness<> h(skip_location_config());
  h.transport.respond(login_ok()).respond(invalid_session()).respond(invalid_session());
  auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  const auto error = expect_error(user, errc::invalid_session);
  CHECK(error.http_status() == 401);
  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].url == kBase + kApi + "/auth/profile");
  CHECK(requests[2].url == kBase + kApi + "/auth/session");
  CHECK(requests[2].method == HttpMethod::post);
  CHECK(h.transport.pending() == 0);

  // Nothing is left over: the next login works normally.
  h.transport.respond(login_ok()).respond(profile_ok());
  REQUIRE(h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword)));
}

TEST_CASE("a second 401 after a successful refresh is returned, without a loop",
          "[protocol][401]") {
  Harness<> h(skip_location_config());
  h.transport.respond(login_ok())
      .respond(invalid_session())
      .respond(session_ok(kAccessNew))
      .respond(invalid_session());
  h.transport.set_handler([](const HttpRequest&) -> Result<HttpResponse> {
    return invalid_session();  // a loop would keep hitting this
  });
  auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  const auto error = expect_error(user, errc::invalid_session);
  CHECK(error.http_status() == 401);
  // login, profile, refresh, profile, then the session's end (DELETE /auth/session).
  CHECK(h.transport.request_count() == 5);
  CHECK(h.transport.count_url_suffix("/auth/session") == 2);
  CHECK(h.transport.count_url_suffix("/auth/profile") == 2);
  CHECK(h.transport.last_request()->method == HttpMethod::del);
}

TEST_CASE("a failed or malformed refresh is returned", "[protocol][401]") {
  struct Case {
    const char* name;
    HttpResponse response;
    errc expected;
  };
  const std::vector<Case> cases = {
      {"500", text_response(500, "oops", "text/html"), errc::http_error},
      {"no access_token", json_response(201, "{}"), errc::malformed_response},
      {"access_token a number", json_response(201, R"({"access_token":1})"),
       errc::malformed_response},
      {"not JSON", text_response(201, "token", "text/plain"), errc::malformed_response},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Harness<> h(skip_location_config());
    h.transport.respond(login_ok()).respond(invalid_session()).respond(c.response);
    auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
    expect_error(user, c.expected);
    // No retry without a new token; the session the login opened is ended on the server.
    CHECK(h.transport.request_count() == 4);
    CHECK(h.transport.last_request()->method == HttpMethod::del);
  }
}

TEST_CASE("an expired access token is refreshed before the request", "[protocol][401]") {
  Harness<> h(skip_location_config());
  h.transport.respond(login_ok(kAccessExpired))
      .respond(session_ok(kAccessNew))
      .respond(profile_ok());
  auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  REQUIRE(user);
  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].method == HttpMethod::post);
  CHECK(requests[1].url == kBase + kApi + "/auth/session");
  CHECK(header(requests[1], "Authorization") == "Bearer " + kRefresh);
  CHECK(requests[2].url == kBase + kApi + "/auth/profile");
  CHECK(header(requests[2], "Authorization") == "Bearer " + kAccessNew);
  for (const auto& request : requests) {
    CHECK(header(request, "Authorization") != "Bearer " + kAccessExpired);
  }

  SECTION("an expired token whose refresh gets 401 fails without using it") {
    Harness<> g(skip_location_config());
    g.transport.respond(login_ok(make_jwt_expiring_in(std::chrono::seconds(-60), "recent")))
        .respond(invalid_session());
    auto failed = g.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
    expect_error(failed, errc::invalid_session);
    CHECK(g.transport.request_count() == 2);
    CHECK(g.transport.count_url_suffix("/auth/profile") == 0);
  }
}

TEST_CASE("a valid or opaque access token is used as is", "[protocol][401]") {
  for (const std::string& token :
       {kAccess, kOpaqueAccess, make_jwt_expiring_in(std::chrono::hours(1), "hour"),
        std::string("a.b.c"),
        std::string("x.") + appkeys::detail::base64url_encode("{\"exp\":\"soon\"}") + ".y"}) {
    INFO(token.size());
    Harness<> h(skip_location_config());
    h.transport.respond(login_ok(token)).respond(profile_ok());
    auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
    REQUIRE(user);
    const auto requests = h.transport.requests();
    REQUIRE(requests.size() == 2);
    CHECK(header(requests[1], "Authorization") == "Bearer " + token);
  }
}

// The public API's only access-token request is the profile read inside log_in, which
// never hands out the User when it fails. To see what an access-token 401 does to an
// existing session, drive the protocol core directly.
namespace {
struct CoreHarness {
  CoreHarness()
      : core(skip_location_config(), transport),
        user(std::make_shared<appkeys::detail::UserState>(
            core.state().owner_key(), kUserId, "local-userpass", kDeviceId,
            appkeys::Secret(kAccess), appkeys::Secret(kRefresh))) {}
  ScriptedTransport transport;
  appkeys::detail::ClientCore<ScriptedTransport> core;
  appkeys::User user;
};
}  // namespace

TEST_CASE("an access-token 401 whose refresh gets 401 logs the session out", "[protocol][401]") {
  CoreHarness c;
  const appkeys::User copy = c.user;
  c.transport.respond(invalid_session()).respond(invalid_session());
  auto profile = c.core.fetch_profile(c.user);
  CHECK(expect_error(profile, errc::invalid_session).http_status() == 401);
  CHECK(c.transport.request_count() == 2);
  CHECK(c.transport.request(1)->url == kBase + kApi + "/auth/session");
  CHECK_FALSE(c.user.is_logged_in());
  CHECK_FALSE(copy.is_logged_in());

  c.transport.clear_requests();
  expect_error(c.core.fetch_profile(c.user), errc::not_logged_in);
  expect_error(c.core.fetch_keys(copy), errc::not_logged_in);
  CHECK(c.transport.request_count() == 0);
}

TEST_CASE("a refresh that fails without a 401 keeps the session", "[protocol][401]") {
  CoreHarness c;
  c.transport.respond(invalid_session()).respond(text_response(503, "busy", "text/plain"));
  auto profile = c.core.fetch_profile(c.user);
  CHECK(expect_error(profile, errc::http_error).http_status() == 503);
  CHECK(c.transport.request_count() == 2);
  CHECK(c.user.is_logged_in());
}

TEST_CASE("a refreshed access token is kept for later requests", "[protocol][401]") {
  CoreHarness c;
  c.transport.respond(invalid_session()).respond(session_ok(kAccessNew)).respond(profile_ok());
  REQUIRE(c.core.fetch_profile(c.user));
  c.transport.respond(profile_ok());
  REQUIRE(c.core.fetch_profile(c.user));
  const auto requests = c.transport.requests();
  REQUIRE(requests.size() == 4);
  CHECK(header(requests[0], "Authorization") == "Bearer " + kAccess);
  CHECK(header(requests[1], "Authorization") == "Bearer " + kRefresh);
  CHECK(header(requests[2], "Authorization") == "Bearer " + kAccessNew);
  CHECK(header(requests[3], "Authorization") == "Bearer " + kAccessNew);  // no new refresh
  CHECK(c.user.is_logged_in());
}

}  // namespace protocol_unauthorized_test
