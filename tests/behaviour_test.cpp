// The behaviour suite: what a user of the library sees, written once and run through
// every transport in APPKEYS_BEHAVIOUR_FIXTURES against the same server model.
//
// behaviour_executors_test.cpp compiles this file again with other fixtures (each
// executor of support/executor_fixtures.hpp), as a translation unit of its own so the
// two halves build in parallel.
#include "support/all_fixtures.hpp"
#include "support/secret_watch.hpp"

#ifndef APPKEYS_BEHAVIOUR_SUITE_FIXTURES
#define APPKEYS_BEHAVIOUR_SUITE_FIXTURES APPKEYS_BEHAVIOUR_FIXTURES
#endif

#include <appkeys/appkeys.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <future>
#include <set>
#include <string>
#include <vector>

namespace behaviour_test {

using appkeys::ApiKey;
using appkeys::AppError;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::NoThrowExec;
using appkeys::User;

namespace {

constexpr const char* email = "ann@example.com";
constexpr const char* password = "correct horse battery";

template <class Result>
errc error_of(const Result& result) {
  REQUIRE_FALSE(result.has_value());
  return result.error().value();
}

}  // namespace

TEMPLATE_TEST_CASE("a user manages the whole life of an API key", "[behaviour]",
                   APPKEYS_BEHAVIOUR_SUITE_FIXTURES) {
  TestType fixture;
  const std::string owner_id = fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app();
  appkeys_test::SecretWatch watch;
  watch.add(password);

  User user = app.log_in(Credentials::email_password(email, password));
  REQUIRE(user.is_logged_in());
  CHECK(user.id() == owner_id);
  CHECK(user.provider() == "local-userpass");
  auto keys = app.api_keys(user);

  ApiKey created = keys.create("reporting");
  REQUIRE(created.key.has_value());
  const std::string secret(created.key->reveal());
  watch.add(secret);
  CHECK(secret.size() >= 32);
  CHECK(created.name == "reporting");
  CHECK_FALSE(created.disabled);
  CHECK_FALSE(created.id.is_zero());
  watch.check_printed(created, "ApiKey operator<<");

  ApiKey fetched = keys.fetch(created.id);
  CHECK(fetched.id == created.id);
  CHECK(fetched.name == "reporting");
  CHECK_FALSE(fetched.disabled);
  CHECK_FALSE(fetched.key.has_value());

  SECTION("fetch_all lists the keys in creation order, without values") {
    keys.create("billing");
    keys.create("audit-2");
    std::vector<ApiKey> all = keys.fetch_all();
    REQUIRE(all.size() == 3);
    CHECK(all[0].name == "reporting");
    CHECK(all[1].name == "billing");
    CHECK(all[2].name == "audit-2");
    CHECK(std::none_of(all.begin(), all.end(), [](const ApiKey& k) { return k.key.has_value(); }));
  }

  SECTION("a disabled key cannot log in; enabled again, it logs in as its owner") {
    keys.disable(created.id);
    CHECK(keys.fetch(created.id).disabled);

    auto refused = fixture.make_app(NoThrowExec{}).log_in(Credentials::api_key(secret));
    CHECK(error_of(refused) == errc::auth_error);
    CHECK(refused.error().http_status() == 401);
    watch.check(refused.error().what(), "refused key login error");

    keys.enable(created.id);
    CHECK_FALSE(keys.fetch(created.id).disabled);
    User service = app.log_in(Credentials::api_key(secret));
    CHECK(service.is_logged_in());
    CHECK(service.id() == owner_id);
    CHECK(service.provider() == "api-key");
    CHECK_FALSE(service == user);  // a new, independent session
    watch.check_printed(service, "User operator<<");

    // The key's session acts for the owner: it sees the owner's keys.
    auto as_service = app.api_keys(service);
    CHECK(as_service.fetch_all().size() == 1);
    // Logging the service out leaves the owner's session alone.
    app.log_out(service);
    CHECK_FALSE(service.is_logged_in());
    CHECK(user.is_logged_in());
    CHECK(keys.fetch_all().size() == 1);
  }

  SECTION("enabling an enabled key and disabling a disabled key change nothing") {
    keys.enable(created.id);
    CHECK_FALSE(keys.fetch(created.id).disabled);
    keys.disable(created.id);
    keys.disable(created.id);
    CHECK(keys.fetch(created.id).disabled);
  }

  SECTION("a deleted key is gone for good") {
    keys.remove(created.id);
    auto nothrow_keys = fixture.make_app(NoThrowExec{}).api_keys(user);
    auto missing = nothrow_keys.fetch(created.id);
    CHECK(error_of(missing) == errc::api_key_not_found);
    CHECK(missing.error().http_status() == 404);
    CHECK(missing.error().server_code() == "APIKeyNotFound");
    CHECK(error_of(nothrow_keys.enable(created.id)) == errc::api_key_not_found);
    CHECK(error_of(nothrow_keys.remove(created.id)) == errc::api_key_not_found);
    CHECK(keys.fetch_all().empty());
    auto login = fixture.make_app(NoThrowExec{}).log_in(Credentials::api_key(secret));
    CHECK(error_of(login) == errc::auth_error);
  }

  SECTION("string ids are accepted when they are 24 hex characters") {
    const std::string hex = created.id.to_hex();
    CHECK(keys.fetch(std::string_view(hex)).id == created.id);
    keys.disable(std::string_view(hex));
    CHECK(keys.fetch(created.id).disabled);
    keys.enable(std::string_view(hex));
    keys.remove(std::string_view(hex));
    CHECK(keys.fetch_all().empty());
  }

  SECTION("SyncExec throws the AppError with its code") {
    try {
      keys.create("reporting");
      FAIL("a duplicate name was accepted");
    } catch (const AppError& error) {
      CHECK(error.code() == errc::api_key_already_exists);
      CHECK(error.http_status() == 409);
      watch.check(error.what(), "duplicate-name error");
    }
  }
}

TEMPLATE_TEST_CASE("the server's rules for key names and counts reach the caller as errc",
                   "[behaviour]", APPKEYS_BEHAVIOUR_SUITE_FIXTURES) {
  TestType fixture;
  fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app(NoThrowExec{});
  User user = app.log_in(Credentials::email_password(email, password)).value();
  auto keys = app.api_keys(user);

  SECTION("names with characters other than ASCII letters, digits, _ and - are refused") {
    for (const char* name : {"has space", "dots.in.name", "slash/name", "emoji-\xF0\x9F\x94\x91",
                             "quote\"name", "percent%20"}) {
      INFO("name: " << name);
      auto result = keys.create(name);
      CHECK(error_of(result) == errc::invalid_parameter);
      CHECK(result.error().http_status() == 400);
    }
    CHECK(keys.fetch_all().value().empty());
  }

  SECTION("a name of 256 bytes is accepted, 257 is refused") {
    CHECK(keys.create(std::string(256, 'a')).has_value());
    auto too_long = keys.create(std::string(257, 'b'));
    CHECK(error_of(too_long) == errc::invalid_parameter);
    CHECK(too_long.error().message().find("256") != std::string::npos);
  }

  SECTION("a duplicate name is refused with 409") {
    REQUIRE(keys.create("twin").has_value());
    auto again = keys.create("twin");
    CHECK(error_of(again) == errc::api_key_already_exists);
    CHECK(again.error().http_status() == 409);
    CHECK(keys.fetch_all().value().size() == 1);
  }

  SECTION("a user has at most 20 keys") {
    for (int i = 0; i < 20; ++i) {
      REQUIRE(keys.create("key-" + std::to_string(i)).has_value());
    }
    auto twenty_first = keys.create("key-20");
    CHECK(error_of(twenty_first) == errc::invalid_parameter);
    CHECK(twenty_first.error().message().find("20") != std::string::npos);
    REQUIRE(keys.remove(keys.fetch_all().value().front().id).has_value());
    CHECK(keys.create("key-20").has_value());
  }

  SECTION("another user's key is not found, whatever the operation") {
    fixture.backend.add_email_user("bob@example.com", "bobs password");
    User bob = app.log_in(Credentials::email_password("bob@example.com", "bobs password")).value();
    const ApiKey bobs = app.api_keys(bob).create("bobs-key").value();
    CHECK(error_of(keys.fetch(bobs.id)) == errc::api_key_not_found);
    CHECK(error_of(keys.enable(bobs.id)) == errc::api_key_not_found);
    CHECK(error_of(keys.disable(bobs.id)) == errc::api_key_not_found);
    CHECK(error_of(keys.remove(bobs.id)) == errc::api_key_not_found);
    CHECK_FALSE(app.api_keys(bob).fetch(bobs.id).value().disabled);
  }

  SECTION("an id that was never issued is not found") {
    auto id = appkeys::ObjectId::from_hex("0123456789abcdef01234567").value();
    CHECK(error_of(keys.fetch(id)) == errc::api_key_not_found);
    CHECK(error_of(keys.disable(id)) == errc::api_key_not_found);
  }
}

TEMPLATE_TEST_CASE("client-side checks fail before any request is sent", "[behaviour]",
                   APPKEYS_BEHAVIOUR_SUITE_FIXTURES) {
  TestType fixture;
  fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app(NoThrowExec{});
  User user = app.log_in(Credentials::email_password(email, password)).value();
  auto keys = app.api_keys(user);
  const ApiKey key = keys.create("existing").value();
  const auto requests_before = fixture.backend.request_count();

  SECTION("empty name") { CHECK(error_of(keys.create("")) == errc::invalid_argument); }
  SECTION("malformed ids") {
    for (std::string_view bad : {"", "123", "0123456789abcdef0123456", "0123456789abcdef012345678",
                                 "0123456789abcdef0123456g", "../../auth/session/aaaaaaa",
                                 "0123456789abcdef01234567/enable"}) {
      INFO("id text: " << bad);
      CHECK(error_of(keys.fetch(bad)) == errc::invalid_argument);
      CHECK(error_of(keys.enable(bad)) == errc::invalid_argument);
      CHECK(error_of(keys.disable(bad)) == errc::invalid_argument);
      CHECK(error_of(keys.remove(bad)) == errc::invalid_argument);
    }
  }
  SECTION("logged-out user") {
    User copy = user;
    REQUIRE(app.log_out(user).has_value());
    CHECK_FALSE(copy.is_logged_in());
    const auto after_logout = fixture.backend.request_count();
    CHECK(error_of(keys.fetch_all()) == errc::not_logged_in);
    CHECK(error_of(keys.create("x")) == errc::not_logged_in);
    CHECK(error_of(keys.fetch(key.id)) == errc::not_logged_in);
    CHECK(error_of(app.api_keys(copy).remove(key.id)) == errc::not_logged_in);
    CHECK(error_of(app.api_keys(User{}).fetch_all()) == errc::not_logged_in);
    CHECK(fixture.backend.request_count() == after_logout);
    return;
  }
  SECTION("anonymous users may not create keys") {
    User anon = app.log_in(Credentials::anonymous()).value();
    CHECK(anon.provider() == "anon-user");
    const auto after_login = fixture.backend.request_count();
    auto refused = app.api_keys(anon).create("nope");
    CHECK(error_of(refused) == errc::provider_not_allowed);
    CHECK(fixture.backend.request_count() == after_login);
    return;
  }
  SECTION("API-key sessions may not create keys") {
    User service = app.log_in(Credentials::api_key(*key.key)).value();
    const auto after_login = fixture.backend.request_count();
    CHECK(error_of(app.api_keys(service).create("nope")) == errc::provider_not_allowed);
    CHECK(fixture.backend.request_count() == after_login);
    return;
  }
  CHECK(fixture.backend.request_count() == requests_before);
}

TEMPLATE_TEST_CASE("sessions: log in, log out, revoked and refused logins", "[behaviour]",
                   APPKEYS_BEHAVIOUR_SUITE_FIXTURES) {
  TestType fixture;
  const std::string ann_id = fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app(NoThrowExec{});
  appkeys_test::SecretWatch watch;
  watch.add(password);

  SECTION("a wrong password or unknown user is invalid_password, without the password") {
    auto wrong = app.log_in(Credentials::email_password(email, "not the password"));
    CHECK(error_of(wrong) == errc::invalid_password);
    CHECK(wrong.error().http_status() == 401);
    watch.add("not the password");
    watch.check(wrong.error().what(), "wrong-password error");
    auto unknown = app.log_in(Credentials::email_password("nobody@example.com", password));
    CHECK(error_of(unknown) == errc::invalid_password);
    watch.check(unknown.error().what(), "unknown-user error");
  }

  SECTION("an unknown API key cannot log in") {
    const std::string made_up(64, 'k');
    watch.add(made_up);
    auto refused = app.log_in(Credentials::api_key(made_up));
    CHECK(error_of(refused) == errc::auth_error);
    watch.check(refused.error().what(), "unknown-key error");
  }

  SECTION("each log_in is an independent session; copies of a User share theirs") {
    User first = app.log_in(Credentials::email_password(email, password)).value();
    User second = app.log_in(Credentials::email_password(email, password)).value();
    CHECK(first.id() == second.id());
    CHECK_FALSE(first == second);
    User copy = first;
    CHECK(copy == first);
    REQUIRE(app.log_out(copy).has_value());
    CHECK_FALSE(first.is_logged_in());
    CHECK(second.is_logged_in());
    CHECK(app.api_keys(second).fetch_all().has_value());
    CHECK(app.log_out(first).has_value());  // already logged out: nothing to do
  }

  SECTION("a session revoked on the server logs the user out locally on the next call") {
    User user = app.log_in(Credentials::email_password(email, password)).value();
    User copy = user;
    fixture.backend.revoke_sessions(ann_id);
    auto result = app.api_keys(user).fetch_all();
    CHECK(error_of(result) == errc::invalid_session);
    CHECK(result.error().http_status() == 401);
    CHECK_FALSE(copy.is_logged_in());
    CHECK(error_of(app.api_keys(copy).fetch_all()) == errc::not_logged_in);
  }

  SECTION("anonymous login gives an anon-user session") {
    User anon = app.log_in(Credentials::anonymous()).value();
    CHECK(anon.is_logged_in());
    CHECK(anon.provider() == "anon-user");
    CHECK(appkeys::ObjectId::is_valid_hex(anon.id()));
    CHECK(app.api_keys(anon).fetch_all().value().empty());
  }

  SECTION("a user registered through the API can log in") {
    REQUIRE(app.register_email("carol@example.com", "carols password").has_value());
    auto again = app.register_email("carol@example.com", "other password");
    CHECK(error_of(again) == errc::account_name_in_use);
    User carol =
        app.log_in(Credentials::email_password("carol@example.com", "carols password")).value();
    CHECK(carol.provider() == "local-userpass");
    auto identities = carol.identities();
    REQUIRE(identities.size() == 1);
    CHECK(identities[0].provider_type == "local-userpass");
  }

  SECTION("the profile lists the api-key identity after a key login") {
    User user = app.log_in(Credentials::email_password(email, password)).value();
    const ApiKey key = app.api_keys(user).create("svc").value();
    User service = app.log_in(Credentials::api_key(*key.key)).value();
    auto identities = service.identities();
    CHECK(std::any_of(identities.begin(), identities.end(), [&](const appkeys::UserIdentity& i) {
      return i.provider_type == "api-key" && i.id == key.id.to_hex();
    }));
  }
}

TEMPLATE_TEST_CASE("many calls in flight through FutureExec all land", "[behaviour][concurrency]",
                   APPKEYS_BEHAVIOUR_SUITE_FIXTURES) {
  TestType fixture;
  fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app(appkeys::FutureExec{4});
  User user = app.log_in(Credentials::email_password(email, password)).get();
  auto keys = app.api_keys(user);

  std::vector<std::future<ApiKey>> pending;
  for (int i = 0; i < 16; ++i) pending.push_back(keys.create("parallel-" + std::to_string(i)));
  std::set<appkeys::ObjectId> ids;
  for (auto& f : pending) ids.insert(f.get().id);
  CHECK(ids.size() == 16);

  std::vector<std::future<void>> toggles;
  for (const auto& id : ids) toggles.push_back(keys.disable(id));
  for (auto& f : toggles) f.get();
  auto all = keys.fetch_all().get();
  REQUIRE(all.size() == 16);
  CHECK(std::all_of(all.begin(), all.end(), [](const ApiKey& k) { return k.disabled; }));
}

}  // namespace behaviour_test
