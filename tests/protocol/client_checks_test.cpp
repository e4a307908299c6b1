// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. The
// checks made before any I/O: nothing is sent for a bad name, id, config, credentials
// or User.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace protocol_client_checks_test {

using namespace protocol_world;

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

}  // namespace protocol_client_checks_test
