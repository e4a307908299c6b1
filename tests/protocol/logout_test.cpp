// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. Log out:
// the request, and that it ends the session locally whatever the server answers.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

namespace protocol_logout_test {

using namespace protocol_world;

// Log out

TEST_CASE("log out: DELETE /auth/session with the refresh token", "[protocol][logout]") {
  Harness<> h;
  auto user = h.log_in();
  const appkeys::User copy = user;
  h.transport.respond(no_content());
  REQUIRE(h.app.log_out(user));
  REQUIRE(h.transport.request_count() == 1);
  const auto request = *h.transport.request(0);
  CHECK(request.method == HttpMethod::del);
  CHECK(request.url == kHost + kApi + "/auth/session");
  CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(request, "Accept") == "application/json");
  CHECK(header(request, "Content-Type") == kAbsent);
  CHECK(request.body.empty());
  CHECK_FALSE(user.is_logged_in());
  CHECK_FALSE(copy.is_logged_in());

  // Twice: nothing is sent the second time.
  REQUIRE(h.app.log_out(user));
  appkeys::User copy2 = copy;
  REQUIRE(h.app.log_out(copy2));
  CHECK(h.transport.request_count() == 1);

  // A never-logged-in User: nothing to do.
  appkeys::User nobody;
  REQUIRE(h.app.log_out(nobody));
  CHECK(h.transport.request_count() == 1);
}

TEST_CASE("log out is local even when the server fails", "[protocol][logout]") {
  SECTION("500") {
    Harness<> h;
    auto user = h.log_in();
    h.transport.respond(error_response(500, "boom", "InternalServerError"));
    const auto error = expect_error(h.app.log_out(user), errc::internal_server_error);
    CHECK(error.http_status() == 500);
    CHECK_FALSE(user.is_logged_in());
    CHECK(h.transport.request_count() == 1);
  }
  SECTION("HTML 502") {
    Harness<> h;
    auto user = h.log_in();
    h.transport.respond(text_response(502, "<html>bad gateway</html>", "text/html"));
    expect_error(h.app.log_out(user), errc::http_error);
    CHECK_FALSE(user.is_logged_in());
  }
  SECTION("unreachable") {
    Harness<> h;
    auto user = h.log_in();
    h.transport.fail(AppError(errc::connection_failed, "connection refused"));
    expect_error(h.app.log_out(user), errc::connection_failed);
    CHECK_FALSE(user.is_logged_in());
    h.transport.clear_requests();
    expect_error(h.app.api_keys(user).fetch_all(), errc::not_logged_in);
    CHECK(h.transport.request_count() == 0);
  }
  SECTION("any 2xx") {
    Harness<> h;
    auto user = h.log_in();
    h.transport.respond(json_response(200, "{}"));
    REQUIRE(h.app.log_out(user));
    CHECK_FALSE(user.is_logged_in());
  }
}

TEST_CASE("logging out one session leaves the others", "[protocol][logout]") {
  Harness<> h;
  auto first = h.log_in(appkeys::Credentials::email_password(kEmail, kPassword), kRefresh);
  auto second = h.log_in(appkeys::Credentials::email_password(kEmail, kPassword), kRefresh2);
  h.transport.respond(no_content());
  REQUIRE(h.app.log_out(first));
  CHECK(header(*h.transport.request(0), "Authorization") == "Bearer " + kRefresh);
  CHECK_FALSE(first.is_logged_in());
  CHECK(second.is_logged_in());
  h.transport.respond(json_response(200, "[]"));
  REQUIRE(h.app.api_keys(second).fetch_all());
  CHECK(header(*h.transport.request(1), "Authorization") == "Bearer " + kRefresh2);
}

}  // namespace protocol_logout_test
