// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. How
// failures reach the caller: a transport's errors, SyncExec's exceptions, and no secret
// in any of them.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace protocol_failures_test {

using namespace protocol_world;

// Transport failures

TEST_CASE("a transport's AppError reaches the caller unchanged", "[protocol][transport]") {
  Harness<> h;
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);

  h.transport.fail(AppError(errc::connection_failed, "connection refused by 203.0.113.7"));
  const auto refused = expect_error(keys.fetch_all(), errc::connection_failed);
  CHECK(refused.message() == "connection refused by 203.0.113.7");
  CHECK(refused.http_status() == 0);

  h.transport.fail(AppError(errc::timeout, "request timed out after 4321 ms"));
  const auto timed_out = expect_error(keys.create("k"), errc::timeout);
  CHECK(timed_out.message() == "request timed out after 4321 ms");

  h.transport.fail(AppError(errc::tls, "certificate verify failed"));
  expect_error(keys.remove(*ObjectId::from_hex(kKeyId)), errc::tls);

  CHECK(user.is_logged_in());  // a network failure is not a bad session
  CHECK(h.transport.request_count() == 3);
}

TEST_CASE("a transport that throws gives errc::transport under NoThrowExec",
          "[protocol][transport][secrets]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.set_handler([](const HttpRequest& request) -> Result<HttpResponse> {
    // A careless transport quotes the request, token included.
    throw std::runtime_error("cannot send " + request.url + " with " +
                             std::string(*appkeys::header_value(request.headers, "Authorization")));
  });
  auto listed = h.app.api_keys(user).fetch_all();
  const auto error = expect_error(listed, errc::transport);
  CHECK_FALSE(contains(error.what(), "cannot send"));
  CHECK(user.is_logged_in());

  h.transport.set_handler([](const HttpRequest&) -> Result<HttpResponse> {
    throw AppError(errc::connection_failed, "thrown, not returned");
  });
  auto created = h.app.api_keys(user).create("k");
  CHECK(expect_error(created, errc::connection_failed).message() == "thrown, not returned");

  h.transport.set_handler(
      [](const HttpRequest&) -> Result<HttpResponse> { throw std::bad_alloc(); });
  expect_error(h.app.log_in(appkeys::Credentials::anonymous()), errc::transport);
}

// SyncExec: the same protocol, failures thrown

TEST_CASE("under SyncExec values are returned and failures thrown as AppError",
          "[protocol][sync]") {
  Harness<appkeys::SyncExec> h;
  appkeys::User user = h.log_in();
  auto keys = h.app.api_keys(user);

  h.transport.respond(json_response(201, key_json(kKeyId, "reporting", false, kKeyValue)));
  appkeys::ApiKey key = keys.create("reporting");
  CHECK(key.id.to_hex() == kKeyId);
  CHECK(key.key->reveal() == kKeyValue);

  h.transport.respond(
      error_response(409, "API key with name already exists", "APIKeyAlreadyExists"));
  try {
    (void)keys.create("reporting");
    FAIL("create should have thrown");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::api_key_already_exists);
    CHECK(error.http_status() == 409);
    check_secret_free(error);
  }

  CHECK_THROWS_AS(keys.fetch(std::string_view("not-an-id")), AppError);
  try {
    keys.enable(std::string_view("../../etc"));
    FAIL("enable should have thrown");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::invalid_argument);
  }

  h.transport.respond(no_content()).respond(no_content()).respond(no_content());
  CHECK_NOTHROW(keys.disable(key.id));
  CHECK_NOTHROW(keys.enable(key.id));
  CHECK_NOTHROW(keys.remove(key.id));

  h.transport.set_handler(
      [](const HttpRequest&) -> Result<HttpResponse> { throw std::runtime_error("boom"); });
  try {
    (void)keys.fetch_all();
    FAIL("fetch_all should have thrown");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::transport);
  }

  h.transport.set_handler(nullptr);
  h.transport.respond(invalid_session());
  try {
    (void)keys.fetch_all();
    FAIL("fetch_all should have thrown");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::invalid_session);
  }
  CHECK_FALSE(user.is_logged_in());
  CHECK_THROWS_AS(keys.fetch_all(), AppError);

  CHECK_THROWS_AS(h.app.log_in(appkeys::Credentials::email_password(kEmail, "")), AppError);
}

// Secrets never reach an error message, even when the server echoes them back in
// places the client controls (its own messages).

TEST_CASE("no request carries a secret it should not", "[protocol][secrets]") {
  Harness<> h;
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  h.transport.respond(json_response(201, key_json(kKeyId, "k", false, kKeyValue)))
      .respond(json_response(200, "[]"))
      .respond(no_content());
  REQUIRE(keys.create("k"));
  REQUIRE(keys.fetch_all());
  REQUIRE(h.app.log_out(user));
  for (const auto& request : h.transport.requests()) {
    INFO(request.url);
    CHECK_FALSE(contains(request.url, kRefresh));
    CHECK_FALSE(contains(request.url, kAccess));
    CHECK_FALSE(contains(request.body, kRefresh));
    CHECK_FALSE(contains(request.body, kKeyValue));
    CHECK_FALSE(contains(request.body, kPassword));
    // API-key and session routes authenticate with the refresh token, never the access token.
    CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  }
}

TEST_CASE("the leak check itself finds secrets", "[protocol][secrets]") {
  // Guards the guard: a check that never fires would make every test above vacuous.
  CHECK(leak_report(AppError(errc::http_error, "echo " + kRefresh)) ==
        "secret #2 in what(); secret #2 in message(); ");
  CHECK(leak_report(AppError(errc::bad_request, "m", 400, {}, "https://l/?t=" + kAccessNew)) ==
        "secret #5 in link(); secret #9 in link(); ");
  CHECK(leak_report(AppError(errc::bad_request, "nothing secret here", 400, "BadRequest")).empty());
}

}  // namespace protocol_failures_test
