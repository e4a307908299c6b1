// The world of the protocol tests (tests/protocol/*_test.cpp): the server's addresses
// and the secrets (each distinctive, so a leak is easy to spot), the server's answers, a
// fresh App over a ScriptedTransport, and the checks every file makes on requests and
// errors.
#pragma once

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

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace protocol_world {

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
// Addresses and secrets.

inline const std::string kBase = "https://base.example.test";
inline const std::string kHost = "https://eu-west-1.aws.host.example.test";
inline const std::string kAppId = "shop-abcde";
inline const std::string kApi = "/api/client/v2.0";
inline const std::string kUserId = "5f1b2c3d4e5f60718293a4b5";
inline const std::string kDeviceId = "6400000000000000000000aa";
inline const std::string kEmail = "ann@example.com";
inline const std::string kPassword = "PW-s3cr3t-hunter2";
inline const std::string kKeyValue =
    "KEYVALUE-s3cr3t-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN";
inline const std::string kKeyId = "64a1b2c3d4e5f6a7b8c9d0e1";
inline const std::string kKeyId2 = "64a1b2c3d4e5f6a7b8c9d0e2";
inline const std::string kRefresh = "REFRESH-s3cr3t-token-1";
inline const std::string kRefresh2 = "REFRESH-s3cr3t-token-2";
inline const std::string kAccess = make_jwt(4'102'444'800, "access-1");       // year 2100
inline const std::string kAccessNew = make_jwt(4'102'444'800, "access-new");  // after a refresh
inline const std::string kAccessExpired = make_jwt(1'000'000'000, "access-expired");  // 2001
inline const std::string kOpaqueAccess = "OPAQUE-s3cr3t-access";

inline std::vector<std::string> all_secrets() {
  return {kPassword, kKeyValue, kRefresh, kRefresh2, kAccess, kAccessNew, kAccessExpired,
          kOpaqueAccess,
          // the signature parts alone, in case a token is split
          kAccess.substr(kAccess.rfind('.') + 1), kAccessNew.substr(kAccessNew.rfind('.') + 1)};
}

inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// Where a secret of these tests shows up in the texts an error carries ("" when nowhere).
/// Secrets are named by their index in all_secrets(), never quoted.
inline std::string leak_report(const AppError& error) {
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

/// Fails the test if any text an error carries contains a secret of these tests.
inline void check_secret_free(const AppError& error) { CHECK(leak_report(error) == ""); }

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
inline const std::string kAbsent = "<absent>";
inline std::string header(const HttpRequest& request, std::string_view name) {
  auto value = appkeys::header_value(request.headers, name);
  return value ? std::string(*value) : kAbsent;
}

inline json body_json(const HttpRequest& request) {
  json value = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  INFO("body: " << request.body);
  REQUIRE_FALSE(value.is_discarded());
  return value;
}

inline std::set<std::string> keys_of(const json& object) {
  std::set<std::string> out;
  for (auto it = object.begin(); it != object.end(); ++it) out.insert(it.key());
  return out;
}

// ---------------------------------------------------------------------------------
// Server answers

inline HttpResponse location_ok(const std::string& hostname = kHost) {
  json body = {{"deployment_model", "GLOBAL"},
               {"location", "US-VA"},
               {"hostname", hostname},
               {"ws_hostname", "wss://ws.example.test"}};
  return json_response(200, body.dump());
}

inline HttpResponse login_ok(const std::string& access = kAccess,
                             const std::string& refresh = kRefresh,
                             const std::string& user_id = kUserId,
                             const std::string& device_id = kDeviceId) {
  json body = {{"access_token", access},
               {"refresh_token", refresh},
               {"user_id", user_id},
               {"device_id", device_id}};
  return json_response(200, body.dump());
}

inline HttpResponse profile_ok(const std::string& provider = "local-userpass",
                               const std::string& user_id = kUserId) {
  json body = {{"user_id", user_id},
               {"type", "normal"},
               {"identities", json::array({{{"id", "identity-1"}, {"provider_type", provider}}})},
               {"data", {{"email", kEmail}}}};
  return json_response(200, body.dump());
}

inline HttpResponse session_ok(const std::string& access = kAccessNew) {
  return json_response(201, json{{"access_token", access}}.dump());
}

inline HttpResponse error_response(int status, std::string_view message, std::string_view code = {},
                                   std::string_view link = {}) {
  json body = {{"error", message}};
  if (!code.empty()) body["error_code"] = code;
  if (!link.empty()) body["link"] = link;
  return json_response(status, body.dump());
}

inline HttpResponse invalid_session() {
  return error_response(401, "invalid session", "InvalidSession");
}

inline std::string key_json(const std::string& id, const std::string& name, bool disabled,
                            std::optional<std::string> key = std::nullopt) {
  json body = {{"_id", id}, {"name", name}, {"disabled", disabled}};
  if (key) body["key"] = *key;
  return body.dump();
}

inline std::string deeply_nested(std::size_t depth) { return std::string(depth, '['); }

// ---------------------------------------------------------------------------------
// A fresh App over a fresh ScriptedTransport.

inline appkeys::AppConfig default_config() {
  appkeys::AppConfig config;
  config.app_id = kAppId;
  config.base_url = kBase;
  config.request_timeout = std::chrono::milliseconds(4321);
  return config;
}

inline appkeys::AppConfig skip_location_config() {
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

inline std::vector<KeyOperation> all_key_operations() {
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

}  // namespace protocol_world
