// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. §4
// Logins: each provider's request, the profile, the device id, strict parsing of the
// answers and failed logins.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

namespace protocol_login_test {

using namespace protocol_world;

// §4 Logins

TEST_CASE("email/password login: request, profile and User", "[protocol][login]") {
  auto config = default_config();
  config.device.platform = "linux-test";
  config.device.platform_version = "6.1.0";
  Harness<> h(config);
  h.transport.respond(location_ok()).respond(login_ok()).respond(profile_ok());
  auto result = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  REQUIRE(result);
  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 3);

  const auto& login = requests[1];
  CHECK(login.method == HttpMethod::post);
  CHECK(login.url == kHost + kApi + "/app/" + kAppId + "/auth/providers/local-userpass/login");
  CHECK(header(login, "Accept") == "application/json");
  CHECK(header(login, "Content-Type") == "application/json");
  CHECK(header(login, "Authorization") == kAbsent);
  for (const auto& [name, value] : login.headers) {
    INFO(name);
    CHECK_FALSE((name.size() >= 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-'));
  }
  json body = body_json(login);
  CHECK(keys_of(body) == std::set<std::string>{"username", "password", "options"});
  CHECK(body["username"] == kEmail);
  CHECK(body["password"] == kPassword);
  REQUIRE(body["options"].is_object());
  CHECK(keys_of(body["options"]) == std::set<std::string>{"device"});
  json device = body["options"]["device"];
  REQUIRE(device.is_object());
  CHECK(device["sdkVersion"] == APPKEYS_VERSION_STRING);
  CHECK(device["platform"] == "linux-test");
  CHECK(device["platformVersion"] == "6.1.0");
  CHECK_FALSE(device.contains("deviceId"));  // no login has returned one yet

  const auto& profile = requests[2];
  CHECK(profile.method == HttpMethod::get);
  CHECK(profile.url == kHost + kApi + "/auth/profile");
  CHECK(header(profile, "Authorization") == "Bearer " + kAccess);
  CHECK(header(profile, "Accept") == "application/json");
  CHECK(header(profile, "Content-Type") == kAbsent);
  CHECK(profile.body.empty());

  const appkeys::User user = *result;
  CHECK(user.id() == kUserId);
  CHECK(user.provider() == "local-userpass");
  CHECK(user.device_id() == kDeviceId);
  CHECK(user.is_logged_in());
  CHECK(user.identities() == std::vector<appkeys::UserIdentity>{{"identity-1", "local-userpass"}});
}

TEST_CASE("anonymous login sends only the options", "[protocol][login]") {
  Harness<> h(skip_location_config());
  h.transport.respond(login_ok()).respond(profile_ok("anon-user"));
  auto user = h.app.log_in(appkeys::Credentials::anonymous());
  REQUIRE(user);
  const auto login = *h.transport.request(0);
  CHECK(login.method == HttpMethod::post);
  CHECK(login.url == kBase + kApi + "/app/" + kAppId + "/auth/providers/anon-user/login");
  CHECK(header(login, "Content-Type") == "application/json");
  CHECK(header(login, "Accept") == "application/json");
  CHECK(header(login, "Authorization") == kAbsent);
  json body = body_json(login);
  CHECK(keys_of(body) == std::set<std::string>{"options"});
  CHECK(body["options"]["device"]["sdkVersion"] == APPKEYS_VERSION_STRING);
  CHECK(body["options"]["device"]["platform"].is_string());
  CHECK(body["options"]["device"]["platformVersion"].is_string());
  CHECK(user->provider() == "anon-user");
  CHECK(user->id() == kUserId);
}

TEST_CASE("API-key login sends the key and gives the owner's id", "[protocol][login]") {
  Harness<> h(skip_location_config());
  h.transport.respond(login_ok()).respond(profile_ok("api-key"));
  auto user = h.app.log_in(appkeys::Credentials::api_key(kKeyValue));
  REQUIRE(user);
  const auto login = *h.transport.request(0);
  CHECK(login.url == kBase + kApi + "/app/" + kAppId + "/auth/providers/api-key/login");
  CHECK(header(login, "Content-Type") == "application/json");
  CHECK(header(login, "Authorization") == kAbsent);
  json body = body_json(login);
  CHECK(keys_of(body) == std::set<std::string>{"key", "options"});
  CHECK(body["key"] == kKeyValue);
  CHECK(body["options"]["device"].contains("sdkVersion"));
  CHECK(user->provider() == "api-key");
  CHECK(user->id() == kUserId);
  CHECK(user->identities() == std::vector<appkeys::UserIdentity>{{"identity-1", "api-key"}});
}

TEST_CASE("a device id from one login is sent with the next", "[protocol][login]") {
  Harness<> h(skip_location_config());
  // A zero device id means "none": nothing to remember.
  h.transport.respond(login_ok(kAccess, kRefresh, kUserId, "000000000000000000000000"))
      .respond(profile_ok());
  REQUIRE(h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword)));
  h.transport.respond(login_ok()).respond(profile_ok());  // returns kDeviceId
  REQUIRE(h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword)));
  h.transport.respond(login_ok()).respond(profile_ok("anon-user"));
  REQUIRE(h.app.log_in(appkeys::Credentials::anonymous()));

  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 6);
  CHECK_FALSE(body_json(requests[0])["options"]["device"].contains("deviceId"));
  CHECK_FALSE(body_json(requests[2])["options"]["device"].contains("deviceId"));
  json device = body_json(requests[4])["options"]["device"];
  REQUIRE(device.contains("deviceId"));
  CHECK(device["deviceId"] == json{{"$oid", kDeviceId}});
}

TEST_CASE("login responses are parsed strictly", "[protocol][login]") {
  struct Case {
    const char* name;
    HttpResponse response;
  };
  const std::vector<Case> cases = {
      {"no access_token",
       json_response(200, json{{"refresh_token", kRefresh}, {"user_id", kUserId}}.dump())},
      {"no refresh_token",
       json_response(200, json{{"access_token", kAccess}, {"user_id", kUserId}}.dump())},
      {"no user_id",
       json_response(200, json{{"access_token", kAccess}, {"refresh_token", kRefresh}}.dump())},
      {"access_token a number",
       json_response(
           200,
           json{{"access_token", 5}, {"refresh_token", kRefresh}, {"user_id", kUserId}}.dump())},
      {"refresh_token null",
       json_response(
           200, json{{"access_token", kAccess}, {"refresh_token", nullptr}, {"user_id", kUserId}}
                    .dump())},
      {"user_id an object", json_response(200, json{{"access_token", kAccess},
                                                    {"refresh_token", kRefresh},
                                                    {"user_id", json::object()}}
                                                   .dump())},
      {"empty access_token",
       json_response(
           200,
           json{{"access_token", ""}, {"refresh_token", kRefresh}, {"user_id", kUserId}}.dump())},
      {"not JSON", text_response(200, "access_token=abc", "text/plain")},
      {"empty body", json_response(200, "")},
      {"truncated", json_response(200, R"({"access_token":"abc","refresh_tok)")},
      {"an array", json_response(200, "[]")},
      {"deeply nested", json_response(200, deeply_nested(100000))},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Harness<> h(skip_location_config());
    h.transport.respond(c.response);
    auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
    const auto error = expect_error(user, errc::malformed_response);
    CHECK(error.http_status() == 200);
    CHECK(h.transport.request_count() == 1);  // no profile request
  }
}

TEST_CASE("a failed login maps the server's error and is not retried", "[protocol][login]") {
  Harness<> h(skip_location_config());
  h.transport.respond(error_response(401, "invalid username/password", "InvalidPassword",
                                     "https://logs.example.test/app/1?co_id=2"));
  auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
  const auto error = expect_error(user, errc::invalid_password);
  CHECK(error.http_status() == 401);
  CHECK(error.server_code() == "InvalidPassword");
  CHECK(error.link() == "https://logs.example.test/app/1?co_id=2");
  CHECK(contains(error.message(), "invalid username/password"));
  CHECK(h.transport.request_count() == 1);  // a login has no token to refresh

  h.transport.respond(error_response(401, "unauthorized", "AuthError"));
  auto by_key = h.app.log_in(appkeys::Credentials::api_key(kKeyValue));
  CHECK(expect_error(by_key, errc::auth_error).http_status() == 401);
  CHECK(h.transport.request_count() == 2);
}

TEST_CASE("a login whose profile request fails fails", "[protocol][login]") {
  SECTION("server error") {
    Harness<> h(skip_location_config());
    h.transport.respond(login_ok()).respond(text_response(500, "oops", "text/plain"));
    auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
    CHECK(expect_error(user, errc::http_error).http_status() == 500);
    // The session the login opened is ended on the server, with its refresh token.
    REQUIRE(h.transport.request_count() == 3);
    const auto logout = *h.transport.last_request();
    CHECK(logout.method == HttpMethod::del);
    CHECK(logout.url == kBase + kApi + "/auth/session");
    CHECK(header(logout, "Authorization") == "Bearer " + kRefresh);
  }
  SECTION("malformed profile") {
    const std::vector<std::string> bodies = {
        R"({"identities":[]})", R"({"user_id":"u"})", R"({"user_id":"u","identities":{}})",
        R"({"user_id":"u","identities":[{"id":1,"provider_type":"x"}]})", "nope"};
    for (const auto& body : bodies) {
      INFO(body);
      Harness<> h(skip_location_config());
      h.transport.respond(login_ok()).respond(json_response(200, body));
      auto user = h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword));
      expect_error(user, errc::malformed_response);
    }
  }
}

}  // namespace protocol_login_test
