// The protocol layer (PROTOCOL.md §1–§5) as App and ApiKeyAuth speak it, checked byte for
// byte through a ScriptedTransport: what is sent, how every answer (good, broken or
// hostile) is read, the 401 rules, the checks made before any I/O, and that no error
// ever carries a secret.
#if defined(__has_include) && __has_include(<appkeys/app.hpp>)
#include <appkeys/api_key_auth.hpp>
#include <appkeys/app.hpp>
#include <appkeys/detail/client_core.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/exec/no_throw.hpp>
#include <appkeys/exec/sync.hpp>
#else
#include <appkeys/appkeys.hpp>
#endif

#include "support/catch_printers.hpp"
#include "support/scripted_transport.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace protocol_test {

namespace {

using appkeys::AppError;
using appkeys::errc;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using appkeys::ObjectId;
using appkeys::Result;
using appkeys_test::json_response;
using appkeys_test::make_jwt;
using appkeys_test::make_jwt_expiring_in;
using appkeys_test::no_content;
using appkeys_test::ScriptedTransport;
using appkeys_test::text_response;
using json = appkeys::detail::json;

using TestApp = appkeys::App<ScriptedTransport, appkeys::NoThrowExec>;
using TestKeys = appkeys::ApiKeyAuth<ScriptedTransport, appkeys::NoThrowExec>;
using SyncApp = appkeys::App<ScriptedTransport, appkeys::SyncExec>;

// ---------------------------------------------------------------------------------
// The test's world. Every secret is distinctive, so a leak is easy to spot.

const std::string kBase = "https://base.example.test";
const std::string kHost = "https://eu-west-1.aws.host.example.test";
const std::string kAppId = "shop-abcde";
const std::string kApi = "/api/client/v2.0";
const std::string kUserId = "5f1b2c3d4e5f60718293a4b5";
const std::string kDeviceId = "6400000000000000000000aa";
const std::string kEmail = "ann@example.com";
const std::string kPassword = "PW-s3cr3t-hunter2";
const std::string kKeyValue = "KEYVALUE-s3cr3t-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
const std::string kKeyId = "64a1b2c3d4e5f6a7b8c9d0e1";
const std::string kKeyId2 = "64a1b2c3d4e5f6a7b8c9d0e2";
const std::string kRefresh = "REFRESH-s3cr3t-token-1";
const std::string kRefresh2 = "REFRESH-s3cr3t-token-2";
const std::string kAccess = make_jwt(4'102'444'800, "access-1");               // year 2100
const std::string kAccessNew = make_jwt(4'102'444'800, "access-new");          // after a refresh
const std::string kAccessExpired = make_jwt(1'000'000'000, "access-expired");  // 2001
const std::string kOpaqueAccess = "OPAQUE-s3cr3t-access";

std::vector<std::string> all_secrets() {
  return {kPassword, kKeyValue, kRefresh, kRefresh2, kAccess, kAccessNew, kAccessExpired,
          kOpaqueAccess,
          // the signature parts alone, in case a token is split
          kAccess.substr(kAccess.rfind('.') + 1), kAccessNew.substr(kAccessNew.rfind('.') + 1)};
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// Where a secret of this file shows up in the texts an error carries ("" when nowhere).
/// Secrets are named by their index in all_secrets(), never quoted.
std::string leak_report(const AppError& error) {
  const auto secrets = all_secrets();
  const std::pair<const char*, std::string_view> texts[] = {{"what()", error.what()},
                                                            {"message()", error.message()},
                                                            {"server_code()", error.server_code()},
                                                            {"link()", error.link()}};
  std::string report;
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    for (const auto& [where, text] : texts) {
      if (contains(text, secrets[i])) {
        report += "secret #" + std::to_string(i) + " in " + where + "; ";
      }
    }
  }
  return report;
}

/// Fails the test if any text an error carries contains a secret of this file.
void check_secret_free(const AppError& error) { CHECK(leak_report(error) == ""); }

/// The AppError of a failed result, after checking its code and that it leaks nothing.
template <class T>
AppError expect_error(const Result<T>& result, errc expected) {
  REQUIRE_FALSE(result.has_value());
  const AppError& error = result.error();
  INFO("what(): " << error.what());
  CHECK(error.value() == expected);
  CHECK(error.code() == expected);
  check_secret_free(error);
  return error;
}

/// The header's first value, or "<absent>" (a string, so Catch prints it on failure).
const std::string kAbsent = "<absent>";
std::string header(const HttpRequest& request, std::string_view name) {
  auto value = appkeys::header_value(request.headers, name);
  return value ? std::string(*value) : kAbsent;
}

json body_json(const HttpRequest& request) {
  json value = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  INFO("body: " << request.body);
  REQUIRE_FALSE(value.is_discarded());
  return value;
}

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) out.insert(it.key());
  return out;
}

// ---------------------------------------------------------------------------------
// Server answers

HttpResponse location_ok(const std::string& hostname = kHost) {
  json body = {{"deployment_model", "GLOBAL"},
               {"location", "US-VA"},
               {"hostname", hostname},
               {"ws_hostname", "wss://ws.example.test"}};
  return json_response(200, body.dump());
}

HttpResponse login_ok(const std::string& access = kAccess, const std::string& refresh = kRefresh,
                      const std::string& user_id = kUserId,
                      const std::string& device_id = kDeviceId) {
  json body = {{"access_token", access},
               {"refresh_token", refresh},
               {"user_id", user_id},
               {"device_id", device_id}};
  return json_response(200, body.dump());
}

HttpResponse profile_ok(const std::string& provider = "local-userpass",
                        const std::string& user_id = kUserId) {
  json body = {{"user_id", user_id},
               {"type", "normal"},
               {"identities", json::array({{{"id", "identity-1"}, {"provider_type", provider}}})},
               {"data", {{"email", kEmail}}}};
  return json_response(200, body.dump());
}

HttpResponse session_ok(const std::string& access = kAccessNew) {
  return json_response(201, json{{"access_token", access}}.dump());
}

HttpResponse error_response(int status, std::string_view message, std::string_view code = {},
                            std::string_view link = {}) {
  json body = {{"error", message}};
  if (!code.empty()) body["error_code"] = code;
  if (!link.empty()) body["link"] = link;
  return json_response(status, body.dump());
}

HttpResponse invalid_session() { return error_response(401, "invalid session", "InvalidSession"); }

std::string key_json(const std::string& id, const std::string& name, bool disabled,
                     std::optional<std::string> key = std::nullopt) {
  json body = {{"_id", id}, {"name", name}, {"disabled", disabled}};
  if (key) body["key"] = *key;
  return body.dump();
}

std::string deeply_nested(std::size_t depth) { return std::string(depth, '['); }

// ---------------------------------------------------------------------------------
// A fresh App over a fresh ScriptedTransport.

appkeys::AppConfig default_config() {
  appkeys::AppConfig config;
  config.app_id = kAppId;
  config.base_url = kBase;
  config.request_timeout = std::chrono::milliseconds(4321);
  return config;
}

appkeys::AppConfig skip_location_config() {
  auto config = default_config();
  config.skip_location = true;
  return config;
}

template <class E = appkeys::NoThrowExec>
struct Harness {
  explicit Harness(appkeys::AppConfig config = default_config())
      : app(std::move(config), transport) {}

  /// Scripts the location (when not yet resolved), login and profile answers, logs in,
  /// checks it worked and forgets the requests it took.
  appkeys::User log_in(
      appkeys::Credentials credentials = appkeys::Credentials::email_password(kEmail, kPassword),
      const std::string& refresh = kRefresh) {
    const std::string provider(credentials.provider_name());
    if (!app.config().skip_location && !location_resolved) transport.respond(location_ok());
    transport.respond(login_ok(kAccess, refresh)).respond(profile_ok(provider));
    appkeys::User user;
    if constexpr (std::is_same_v<E, appkeys::NoThrowExec>) {
      auto result = app.log_in(std::move(credentials));
      if (!result) FAIL("log in failed: " << result.error().what());
      user = *result;
    } else {
      user = app.log_in(std::move(credentials));
    }
    REQUIRE(user.is_logged_in());
    REQUIRE(transport.pending() == 0);
    location_resolved = true;
    transport.clear_requests();
    return user;
  }

  ScriptedTransport transport;
  appkeys::App<ScriptedTransport, E> app;
  bool location_resolved = false;
};

/// One API-key operation, run through `keys`, reduced to "ok or its AppError".
struct KeyOperation {
  const char* name;
  std::function<std::optional<AppError>(const TestKeys&)> run;
};

template <class T>
std::optional<AppError> error_of(const Result<T>& result) {
  if (result) return std::nullopt;
  return result.error();
}

std::vector<KeyOperation> all_key_operations() {
  const ObjectId id = *ObjectId::from_hex(kKeyId);
  return {
      {"create", [](const TestKeys& k) { return error_of(k.create("reporting")); }},
      {"fetch", [id](const TestKeys& k) { return error_of(k.fetch(id)); }},
      {"fetch_all", [](const TestKeys& k) { return error_of(k.fetch_all()); }},
      {"enable", [id](const TestKeys& k) { return error_of(k.enable(id)); }},
      {"disable", [id](const TestKeys& k) { return error_of(k.disable(id)); }},
      {"remove", [id](const TestKeys& k) { return error_of(k.remove(id)); }},
  };
}

}  // namespace

// =================================================================================
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

// =================================================================================
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

// =================================================================================
// §3 API keys: requests

TEST_CASE("create: POST /auth/api_keys with the refresh token and the name",
          "[protocol][api_keys]") {
  Harness<> h;
  auto user = h.log_in();
  h.transport.respond(json_response(201, key_json(kKeyId, "reporting", false, kKeyValue)));
  auto key = h.app.api_keys(user).create("reporting");
  REQUIRE(key);
  CHECK(key->id.to_hex() == kKeyId);
  CHECK(key->name == "reporting");
  CHECK_FALSE(key->disabled);
  REQUIRE(key->key.has_value());
  CHECK(key->key->reveal() == kKeyValue);

  REQUIRE(h.transport.request_count() == 1);
  const auto request = *h.transport.request(0);
  CHECK(request.method == HttpMethod::post);
  CHECK(request.url == kHost + kApi + "/auth/api_keys");
  CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(request, "Accept") == "application/json");
  CHECK(header(request, "Content-Type") == "application/json");
  CHECK(h.transport.requests()[0].headers.count("Authorization") == 1);
  CHECK(body_json(request) == json{{"name", "reporting"}});
  CHECK(request.timeout == std::chrono::milliseconds(4321));
}

TEST_CASE("create escapes the name as a JSON string", "[protocol][api_keys]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  const std::string name = R"(x","disabled":true,"y":"\)";
  h.transport.respond(json_response(201, key_json(kKeyId, name, false, kKeyValue)));
  auto key = h.app.api_keys(user).create(name);
  REQUIRE(key);
  CHECK(key->name == name);
  json body = body_json(*h.transport.request(0));
  CHECK(keys_of(body) == std::set<std::string>{"name"});
  CHECK(body["name"] == name);
}

TEST_CASE("create accepts any 2xx", "[protocol][api_keys]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(json_response(200, key_json(kKeyId, "k", false, kKeyValue)));
  auto key = h.app.api_keys(user).create("k");
  REQUIRE(key);
  CHECK(key->key->reveal() == kKeyValue);
}

TEST_CASE("fetch: GET /auth/api_keys/<id>, never exposing a key value",
          "[protocol][api_keys][secrets]") {
  Harness<> h;
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  // A server that wrongly sends the value anyway.
  h.transport.respond(json_response(200, key_json(kKeyId, "reporting", true, kKeyValue)));
  auto key = keys.fetch(*ObjectId::from_hex(kKeyId));
  REQUIRE(key);
  CHECK(key->id.to_hex() == kKeyId);
  CHECK(key->name == "reporting");
  CHECK(key->disabled);
  CHECK_FALSE(key->key.has_value());

  const auto request = *h.transport.request(0);
  CHECK(request.method == HttpMethod::get);
  CHECK(request.url == kHost + kApi + "/auth/api_keys/" + kKeyId);
  CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(request, "Accept") == "application/json");
  CHECK(header(request, "Content-Type") == kAbsent);
  CHECK(request.body.empty());

  // The text overload, with uppercase hex: the URL carries lowercase hex.
  h.transport.respond(json_response(200, key_json(kKeyId2, "other", false)));
  std::string upper = kKeyId2;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto by_text = keys.fetch(std::string_view(upper));
  REQUIRE(by_text);
  CHECK(by_text->id.to_hex() == kKeyId2);
  CHECK(h.transport.request(1)->url == kHost + kApi + "/auth/api_keys/" + kKeyId2);
}

TEST_CASE("fetch_all: GET /auth/api_keys, in the server's order, without values",
          "[protocol][api_keys]") {
  Harness<> h;
  auto user = h.log_in();
  const std::string body = "[" + key_json(kKeyId2, "second", false) + "," +
                           key_json(kKeyId, "first", true, kKeyValue) + "]";
  h.transport.respond(json_response(200, body));
  auto keys = h.app.api_keys(user).fetch_all();
  REQUIRE(keys);
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].id.to_hex() == kKeyId2);
  CHECK((*keys)[0].name == "second");
  CHECK_FALSE((*keys)[0].disabled);
  CHECK((*keys)[1].id.to_hex() == kKeyId);
  CHECK((*keys)[1].name == "first");
  CHECK((*keys)[1].disabled);
  for (const auto& key : *keys) CHECK_FALSE(key.key.has_value());

  const auto request = *h.transport.request(0);
  CHECK(request.method == HttpMethod::get);
  CHECK(request.url == kHost + kApi + "/auth/api_keys");
  CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(request, "Content-Type") == kAbsent);
  CHECK(request.body.empty());

  h.transport.respond(json_response(200, "[]"));
  auto none = h.app.api_keys(user).fetch_all();
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("enable, disable and remove: method, URL, refresh token, no body",
          "[protocol][api_keys]") {
  struct Case {
    const char* name;
    HttpMethod method;
    std::string url;
    std::function<Result<void>(const TestKeys&, const ObjectId&)> run;
  };
  const std::vector<Case> cases = {
      {"enable", HttpMethod::put, kHost + kApi + "/auth/api_keys/" + kKeyId + "/enable",
       [](const TestKeys& k, const ObjectId& id) { return k.enable(id); }},
      {"disable", HttpMethod::put, kHost + kApi + "/auth/api_keys/" + kKeyId + "/disable",
       [](const TestKeys& k, const ObjectId& id) { return k.disable(id); }},
      {"remove", HttpMethod::del, kHost + kApi + "/auth/api_keys/" + kKeyId,
       [](const TestKeys& k, const ObjectId& id) { return k.remove(id); }},
  };
  // 204 is what servers send; any other 2xx with any body also succeeds.
  const std::vector<HttpResponse> answers = {
      no_content(),
      json_response(200, R"({"ok":true})"),
      text_response(200, "<html>fine</html>", "text/html"),
      text_response(202, "", ""),
      json_response(204, ""),
      json_response(299, "not json {"),
  };
  const ObjectId id = *ObjectId::from_hex(kKeyId);
  for (const auto& c : cases) {
    for (std::size_t i = 0; i < answers.size(); ++i) {
      INFO(c.name << " with answer " << i << " (status " << answers[i].status << ")");
      Harness<> h;
      auto user = h.log_in();
      auto keys = h.app.api_keys(user);
      h.transport.respond(answers[i]);
      auto result = c.run(keys, id);
      if (!result) FAIL(result.error().what());
      REQUIRE(h.transport.request_count() == 1);
      const auto request = *h.transport.request(0);
      CHECK(request.method == c.method);
      CHECK(request.url == c.url);
      CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
      CHECK(header(request, "Accept") == "application/json");
      CHECK(header(request, "Content-Type") == kAbsent);
      CHECK(request.body.empty());
      CHECK(user.is_logged_in());
    }
  }
}

TEST_CASE("the string-id overloads send the same requests", "[protocol][api_keys]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  h.transport.respond(no_content()).respond(no_content()).respond(no_content());
  REQUIRE(keys.enable(std::string_view(kKeyId)));
  REQUIRE(keys.disable(std::string_view(kKeyId)));
  REQUIRE(keys.remove(std::string_view(kKeyId)));
  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].url == kBase + kApi + "/auth/api_keys/" + kKeyId + "/enable");
  CHECK(requests[0].method == HttpMethod::put);
  CHECK(requests[1].url == kBase + kApi + "/auth/api_keys/" + kKeyId + "/disable");
  CHECK(requests[1].method == HttpMethod::put);
  CHECK(requests[2].url == kBase + kApi + "/auth/api_keys/" + kKeyId);
  CHECK(requests[2].method == HttpMethod::del);
}

// =================================================================================
// §3 API keys: strict parsing

TEST_CASE("create and fetch reject malformed keys", "[protocol][api_keys][parsing]") {
  const std::vector<std::pair<const char*, std::string>> bodies = {
      {"no _id", R"({"name":"k","disabled":false,"key":"v"})"},
      {"_id a number", R"({"_id":12,"name":"k","disabled":false,"key":"v"})"},
      {"_id as {$oid}",
       R"({"_id":{"$oid":"64a1b2c3d4e5f6a7b8c9d0e1"},"name":"k","disabled":false,"key":"v"})"},
      {"_id 23 hex", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e","name":"k","disabled":false,"key":"v"})"},
      {"_id with a slash",
       R"({"_id":"../../../../etc/passwd/xx","name":"k","disabled":false,"key":"v"})"},
      {"_id non-hex",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0eZ","name":"k","disabled":false,"key":"v"})"},
      {"no name", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","disabled":false,"key":"v"})"},
      {"name a number",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":7,"disabled":false,"key":"v"})"},
      {"name null", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":null,"disabled":false,"key":"v"})"},
      {"no disabled", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","key":"v"})"},
      {"disabled a string",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":"false","key":"v"})"},
      {"disabled a number",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":0,"key":"v"})"},
      {"key a number", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":5})"},
      {"key an object",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":{}})"},
      {"an array", R"([{"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":"v"}])"},
      {"a string", R"("64a1b2c3d4e5f6a7b8c9d0e1")"},
      {"null", "null"},
      {"truncated", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disab)"},
      {"empty", ""},
      {"HTML", "<html><body>Bad gateway</body></html>"},
      {"trailing garbage",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":"v"} x)"},
      {"deeply nested", deeply_nested(100000)},
      {"deeply nested objects",
       [] {
         std::string s;
         for (int i = 0; i < 50000; ++i) s += R"({"a":)";
         return s;
       }()},
  };
  for (const auto& [name, body] : bodies) {
    INFO(name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    auto keys = h.app.api_keys(user);
    h.transport.respond(json_response(201, body));
    auto created = keys.create("k");
    CHECK(expect_error(created, errc::malformed_response).http_status() == 201);
    h.transport.respond(json_response(200, body));
    auto fetched = keys.fetch(*ObjectId::from_hex(kKeyId));
    CHECK(expect_error(fetched, errc::malformed_response).http_status() == 200);
    CHECK(h.transport.request_count() == 2);
    CHECK(user.is_logged_in());  // a bad body is not a bad session
  }
}

TEST_CASE("create requires the key value", "[protocol][api_keys][parsing]") {
  for (const std::string& body :
       {key_json(kKeyId, "k", false),
        std::string(
            R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":null})")}) {
    INFO(body);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(json_response(201, body));
    auto created = h.app.api_keys(user).create("k");
    expect_error(created, errc::malformed_response);
  }
}

TEST_CASE("create rejects an empty key value", "[protocol][api_keys][parsing]") {
  // An empty Secret could never log in: treated like a missing key, as empty tokens are.
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(json_response(201, key_json(kKeyId, "k", false, std::string())));
  auto created = h.app.api_keys(user).create("k");
  expect_error(created, errc::malformed_response);
}

TEST_CASE("names full of brackets and escapes are not mistaken for deep nesting",
          "[protocol][api_keys][parsing]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  const std::string name = std::string(200, '[') + "\"\\" + std::string(200, '{');
  h.transport.respond(json_response(200, key_json(kKeyId, name, false)));
  auto key = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
  REQUIRE(key);
  CHECK(key->name == name);
}

TEST_CASE("fetch_all rejects anything but an array of good keys", "[protocol][api_keys][parsing]") {
  const std::vector<std::pair<const char*, std::string>> bodies = {
      {"an object", key_json(kKeyId, "k", false)},
      {"an object wrapping the list", R"({"keys":[]})"},
      {"one bad element",
       "[" + key_json(kKeyId, "ok", false) + R"(,{"_id":"nothex","name":"b","disabled":false}])"},
      {"an element that is not an object", "[" + key_json(kKeyId, "ok", false) + ",42]"},
      {"an element with a non-string key",
       "[" +
           std::string(
               R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":1})") +
           "]"},
      {"null", "null"},
      {"truncated", "[" + key_json(kKeyId, "ok", false)},
      {"empty", ""},
      {"HTML", "<!doctype html><title>502</title>"},
      {"deeply nested", deeply_nested(100000)},
  };
  for (const auto& [name, body] : bodies) {
    INFO(name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(json_response(200, body));
    auto keys = h.app.api_keys(user).fetch_all();
    CHECK(expect_error(keys, errc::malformed_response).http_status() == 200);
  }
}

// =================================================================================
// §5 Error mapping

TEST_CASE("a JSON error with a known error_code maps to that errc", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  h.transport.respond(error_response(404, "API key not found", "APIKeyNotFound",
                                     "https://services.example.test/groups/1/apps/2/logs?co_id=3"));
  auto fetched = keys.fetch(*ObjectId::from_hex(kKeyId));
  const auto error = expect_error(fetched, errc::api_key_not_found);
  CHECK(error.http_status() == 404);
  CHECK(error.server_code() == "APIKeyNotFound");
  CHECK(error.link() == "https://services.example.test/groups/1/apps/2/logs?co_id=3");
  CHECK(contains(error.message(), "API key not found"));
  const std::string what = error.what();
  CHECK(contains(what, "API key not found"));
  CHECK(contains(what, "api_key_not_found"));
  CHECK(contains(what, "404"));
  CHECK(user.is_logged_in());

  struct Case {
    const char* code;
    errc expected;
    int status;
  };
  const std::vector<Case> cases = {
      {"InvalidParameter", errc::invalid_parameter, 400},
      {"MissingParameter", errc::missing_parameter, 400},
      {"APIKeyNotFound", errc::api_key_not_found, 404},
      {"APIKeyAlreadyExists", errc::api_key_already_exists, 409},
      {"AuthError", errc::auth_error, 403},
      {"UserDisabled", errc::user_disabled, 403},
      {"UserNotFound", errc::user_not_found, 404},
      {"InvalidPassword", errc::invalid_password, 400},
      {"AccountNameInUse", errc::account_name_in_use, 409},
      {"MissingAuthReq", errc::missing_auth_req, 400},
      {"BadRequest", errc::bad_request, 400},
      {"InternalServerError", errc::internal_server_error, 500},
      {"MaintenanceInProgress", errc::maintenance_in_progress, 503},
      {"InvalidSession", errc::invalid_session, 403},  // not a 401: no log-out here
      {"AppServerError", errc::app_server_error, 500},
      {"AppUnknownError", errc::app_unknown_error, 500},
      {"HTTPError", errc::http_error, 500},
  };
  for (const auto& c : cases) {
    INFO(c.code);
    h.transport.respond(error_response(c.status, std::string("message for ") + c.code, c.code));
    auto created = keys.create("k");
    const auto mapped = expect_error(created, c.expected);
    CHECK(mapped.http_status() == c.status);
    CHECK(mapped.server_code() == c.code);
    CHECK(contains(mapped.message(), std::string("message for ") + c.code));
    CHECK(mapped.link().empty());
    CHECK(contains(mapped.what(), std::to_string(c.status)));
  }
  CHECK(user.is_logged_in());
}

TEST_CASE("an unknown error_code is app_server_error with the raw code", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(error_response(418, "something new", "SomethingNewAndStrange"));
  auto keys = h.app.api_keys(user).fetch_all();
  const auto error = expect_error(keys, errc::app_server_error);
  CHECK(error.server_code() == "SomethingNewAndStrange");
  CHECK(error.http_status() == 418);
  CHECK(contains(error.message(), "something new"));
}

TEST_CASE("a JSON error with only a message is app_unknown_error", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(
      error_response(400, "'name' is a required string.", {}, "https://logs.example.test/x"));
  auto created = h.app.api_keys(user).create("k");
  const auto error = expect_error(created, errc::app_unknown_error);
  CHECK(error.http_status() == 400);
  CHECK(error.server_code().empty());
  CHECK(error.link() == "https://logs.example.test/x");
  CHECK(contains(error.message(), "'name' is a required string."));
}

TEST_CASE("a non-JSON error is http_error with the status", "[protocol][errors]") {
  struct Case {
    const char* name;
    HttpResponse response;
  };
  const std::string json_error =
      json{{"error", "API key not found"}, {"error_code", "APIKeyNotFound"}}.dump();
  const std::vector<Case> cases = {
      {"text/html 502 page",
       text_response(502, "<html><h1>502 Bad Gateway</h1></html>", "text/html")},
      {"JSON text labelled text/plain", text_response(404, json_error, "text/plain")},
      {"JSON text without a Content-Type", text_response(404, json_error, "")},
      {"JSON text labelled application/xml", text_response(404, json_error, "application/xml")},
      {"empty JSON body", json_response(500, "")},
      {"truncated JSON", json_response(500, R"({"error":"boom","error_co)")},
      {"a JSON array", json_response(500, R"(["error","boom"])")},
      {"JSON null", json_response(500, "null")},
      {"a JSON string", json_response(500, R"("boom")")},
      {"an object without error fields", json_response(500, R"({"message":"boom"})")},
      {"deeply nested", json_response(500, deeply_nested(100000))},
      {"error not a string", json_response(500, R"({"error":42})")},
      {"error and error_code not strings", json_response(500, R"({"error":[],"error_code":7})")},
      {"empty error_code and no error", json_response(500, R"({"error_code":""})")},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(c.response);
    auto result = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
    const auto error = expect_error(result, errc::http_error);
    CHECK(error.http_status() == c.response.status);
    CHECK(error.server_code().empty());
    CHECK(contains(error.what(), std::to_string(c.response.status)));
    CHECK(h.transport.request_count() == 1);
  }
}

TEST_CASE("JSON error bodies are recognised by their Content-Type", "[protocol][errors]") {
  const std::string body =
      json{{"error", "API key not found"}, {"error_code", "APIKeyNotFound"}}.dump();
  for (std::string_view type : {"application/json", "application/json; charset=utf-8",
                                "application/json;charset=UTF-8", "Application/JSON"}) {
    INFO(type);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(text_response(404, body, type));
    auto fetched = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
    CHECK(expect_error(fetched, errc::api_key_not_found).server_code() == "APIKeyNotFound");
  }
  // The header name is matched ignoring case too.
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  HttpResponse lower;
  lower.status = 404;
  lower.headers.emplace("content-type", "application/json");
  lower.body = body;
  h.transport.respond(lower);
  auto fetched = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
  expect_error(fetched, errc::api_key_not_found);
}

TEST_CASE("error bodies with wrong field types fall back sensibly", "[protocol][errors]") {
  struct Case {
    const char* name;
    std::string body;
    errc expected;
    std::string server_code;
    std::string link;
  };
  const std::vector<Case> cases = {
      {"error not a string, known code", R"({"error":42,"error_code":"APIKeyNotFound"})",
       errc::api_key_not_found, "APIKeyNotFound", ""},
      {"only a known code", R"({"error_code":"APIKeyAlreadyExists"})", errc::api_key_already_exists,
       "APIKeyAlreadyExists", ""},
      {"code not a string", R"({"error":"boom","error_code":42})", errc::app_unknown_error, "", ""},
      {"code null", R"({"error":"boom","error_code":null})", errc::app_unknown_error, "", ""},
      {"code empty", R"({"error":"boom","error_code":""})", errc::app_unknown_error, "", ""},
      {"link not a string", R"({"error":"boom","error_code":"BadRequest","link":{"a":1}})",
       errc::bad_request, "BadRequest", ""},
      {"extra fields", R"({"error":"boom","error_code":"BadRequest","link":"l","extra":[1,2]})",
       errc::bad_request, "BadRequest", "l"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(json_response(400, c.body));
    auto result = h.app.api_keys(user).fetch_all();
    const auto error = expect_error(result, c.expected);
    CHECK(error.http_status() == 400);
    CHECK(error.server_code() == c.server_code);
    CHECK(error.link() == c.link);
  }
}

TEST_CASE("server text in errors is bounded and printable", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  const std::string huge(100000, 'm');
  h.transport.respond(error_response(400, huge + "\n\r\x1b[31m", "BadRequest"));
  auto result = h.app.api_keys(user).fetch_all();
  const auto error = expect_error(result, errc::bad_request);
  CHECK(error.message().size() < 2000);
  CHECK(std::string_view(error.what()).size() < 2000);
  const std::string_view what = error.what();
  CHECK(std::none_of(what.begin(), what.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
  h.transport.respond(error_response(400, "line one\nline two", "BadRequest"));
  auto second = h.app.api_keys(user).fetch_all();
  CHECK_FALSE(contains(expect_error(second, errc::bad_request).what(), "\n"));
}

// =================================================================================
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

// =================================================================================
// Client-side checks: nothing is sent

TEST_CASE("an empty key name fails before any I/O", "[protocol][client_checks]") {
  Harness<> h;
  auto user = h.log_in();
  auto created = h.app.api_keys(user).create("");
  const auto error = expect_error(created, errc::invalid_argument);
  CHECK(error.http_status() == 0);
  CHECK(h.transport.request_count() == 0);
  CHECK(user.is_logged_in());
}

TEST_CASE("a logged-out or default User fails every call before any I/O",
          "[protocol][client_checks]") {
  SECTION("logged out") {
    Harness<> h;
    auto user = h.log_in();
    h.transport.respond(no_content());
    REQUIRE(h.app.log_out(user));
    h.transport.clear_requests();
    for (const auto& op : all_key_operations()) {
      INFO(op.name);
      auto error = op.run(h.app.api_keys(user));
      REQUIRE(error.has_value());
      CHECK(error->value() == errc::not_logged_in);
      check_secret_free(*error);
    }
    CHECK(h.transport.request_count() == 0);
  }
  SECTION("default-constructed") {
    Harness<> h;
    const appkeys::User nobody;
    for (const auto& op : all_key_operations()) {
      INFO(op.name);
      auto error = op.run(h.app.api_keys(nobody));
      REQUIRE(error.has_value());
      CHECK(error->value() == errc::not_logged_in);
    }
    CHECK(h.transport.request_count() == 0);
  }
}

TEST_CASE("anonymous and API-key sessions may not create keys", "[protocol][client_checks]") {
  Harness<> h;
  auto anonymous = h.log_in(appkeys::Credentials::anonymous());
  auto by_key = h.log_in(appkeys::Credentials::api_key(kKeyValue));
  CHECK(anonymous.provider() == "anon-user");
  CHECK(by_key.provider() == "api-key");
  for (const auto& user : {anonymous, by_key}) {
    INFO(user.provider());
    auto created = h.app.api_keys(user).create("reporting");
    const auto error = expect_error(created, errc::provider_not_allowed);
    CHECK(contains(error.message(), user.provider()));
    CHECK(user.is_logged_in());
  }
  CHECK(h.transport.request_count() == 0);

  // They may still list keys.
  h.transport.respond(json_response(200, "[]"));
  REQUIRE(h.app.api_keys(by_key).fetch_all());
  CHECK(h.transport.request_count() == 1);
}

TEST_CASE("text ids that are not 24 hex characters fail before any I/O",
          "[protocol][client_checks]") {
  Harness<> h;
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  const std::vector<std::string> bad = {"",
                                        "abc",
                                        "../../etc/passwd",
                                        "64a1b2c3d4e5f6a7b8c9d0e",
                                        "64a1b2c3d4e5f6a7b8c9d0e1f",
                                        "64a1b2c3d4e5f6a7b8c9d0eg",
                                        "64a1b2c3d4e5f6a7b8c9d0e1/../../session",
                                        "../../../auth/sessionx",
                                        "64a1b2c3d4e5f6a7b8c9%2F1",
                                        "64a1b2c3d4e5f6a7b8c9d0e?",
                                        kKeyValue};
  for (const auto& id : bad) {
    INFO("id of " << id.size() << " characters");
    expect_error(keys.fetch(std::string_view(id)), errc::invalid_argument);
    expect_error(keys.enable(std::string_view(id)), errc::invalid_argument);
    expect_error(keys.disable(std::string_view(id)), errc::invalid_argument);
    expect_error(keys.remove(std::string_view(id)), errc::invalid_argument);
  }
  CHECK(h.transport.request_count() == 0);
  CHECK(user.is_logged_in());
}

TEST_CASE("a bad AppConfig fails before any I/O", "[protocol][client_checks]") {
  struct Case {
    const char* name;
    std::string app_id;
    std::string base_url;
  };
  const std::vector<Case> cases = {
      {"empty app_id", "", kBase},
      {"app_id with '/'", "shop/abcde", kBase},
      {"app_id with '..' segments", "../../admin", kBase},
      {"app_id with '?'", "shop?x=1", kBase},
      {"app_id with a space", "shop abcde", kBase},
      {"app_id with '%'", "shop%2Fabcde", kBase},
      {"base_url without a scheme", kAppId, "base.example.test"},
      {"base_url with ftp", kAppId, "ftp://base.example.test"},
      {"empty base_url", kAppId, ""},
      {"base_url of only slashes", kAppId, "///"},
  };
  for (bool skip_location : {false, true}) {
    for (const auto& c : cases) {
      INFO(c.name << (skip_location ? " (skip_location)" : ""));
      auto config = default_config();
      config.app_id = c.app_id;
      config.base_url = c.base_url;
      config.skip_location = skip_location;
      Harness<> h(config);
      expect_error(h.app.log_in(appkeys::Credentials::email_password(kEmail, kPassword)),
                   errc::invalid_argument);
      expect_error(h.app.log_in(appkeys::Credentials::anonymous()), errc::invalid_argument);
      expect_error(h.app.register_email(kEmail, kPassword), errc::invalid_argument);
      CHECK(h.transport.request_count() == 0);
    }
  }
}

TEST_CASE("an app_id that is a dot segment is refused", "[protocol][client_checks]") {
  // "." and ".." would become dot segments of the URL path, normalised into another route.
  for (std::string app_id : {".", ".."}) {
    INFO(app_id);
    auto config = default_config();
    config.app_id = app_id;
    Harness<> h(config);
    h.transport.set_handler(
        [](const HttpRequest&) -> Result<HttpResponse> { return text_response(404, "", ""); });
    expect_error(h.app.log_in(appkeys::Credentials::anonymous()), errc::invalid_argument);
    CHECK(h.transport.request_count() == 0);
  }
}

TEST_CASE("an App with a bad config sends nothing, whoever's User it is given",
          "[protocol][client_checks]") {
  // App::api_keys and App::log_out accept a User from any App: the config is checked on
  // every request, so an app id such as "../admin" or a non-http base_url never reaches
  // a URL.
  Harness<> good;
  auto user = good.log_in();
  for (bool skip_location : {false, true}) {
    auto config = default_config();
    config.app_id = skip_location ? kAppId : "../admin";
    config.base_url = skip_location ? "ftp://base.example.test" : kBase;
    config.skip_location = skip_location;
    INFO("app_id " << config.app_id << ", base_url " << config.base_url);
    Harness<> bad(config);
    bad.transport.set_handler(
        [](const HttpRequest&) -> Result<HttpResponse> { return json_response(200, "[]"); });
    expect_error(bad.app.api_keys(user).fetch_all(), errc::invalid_argument);
    expect_error(bad.app.api_keys(user).create("k"), errc::invalid_argument);
    CHECK(bad.transport.request_count() == 0);
    CHECK(user.is_logged_in());
  }
  appkeys::User copy = user;
  auto config = default_config();
  config.app_id = "../admin";
  Harness<> bad(config);
  bad.transport.set_handler(
      [](const HttpRequest&) -> Result<HttpResponse> { return no_content(); });
  expect_error(bad.app.log_out(copy), errc::invalid_argument);
  CHECK(bad.transport.request_count() == 0);
}

TEST_CASE("empty credentials fail before any I/O", "[protocol][client_checks]") {
  Harness<> h;
  expect_error(h.app.log_in(appkeys::Credentials::email_password("", kPassword)),
               errc::invalid_argument);
  expect_error(h.app.log_in(appkeys::Credentials::email_password(kEmail, "")),
               errc::invalid_argument);
  expect_error(h.app.log_in(appkeys::Credentials::api_key("")), errc::invalid_argument);
  expect_error(h.app.log_in(appkeys::Credentials::api_key(appkeys::Secret())),
               errc::invalid_argument);
  expect_error(h.app.register_email("", kPassword), errc::invalid_argument);
  expect_error(h.app.register_email(kEmail, ""), errc::invalid_argument);
  CHECK(h.transport.request_count() == 0);
}

// =================================================================================
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

// =================================================================================
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

// =================================================================================
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

// =================================================================================
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

}  // namespace protocol_test
