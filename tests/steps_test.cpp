// The protocol's step machines driven by hand: each test feeds a machine the events a
// driver would (the transport's answers, timers, landed flights) and checks what it asks
// for next. No transport, no thread, no clock: the machines are sans-I/O.
#if defined(__has_include) && __has_include(<appkeys/detail/steps/key_calls.hpp>)
#include <appkeys/detail/steps/key_calls.hpp>
#include <appkeys/detail/steps/session_calls.hpp>
#include <appkeys/detail/wire.hpp>
#else
#include <appkeys/appkeys.hpp>
#endif

#include "support/catch_printers.hpp"
#include "support/scripted_transport.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace steps_test {

namespace {

namespace steps = appkeys::detail::steps;
namespace wire = appkeys::detail::wire;
using appkeys::AppConfig;
using appkeys::errc;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using appkeys::ObjectId;
using appkeys::Result;
using appkeys::User;
using appkeys_test::json_response;
using appkeys_test::make_jwt;
using appkeys_test::no_content;
using steps::Action;
using Kind = steps::Action::Kind;

const std::string kBase = "https://base.example.test";
const std::string kHost = "https://host.example.test";
const std::string kApi = "/api/client/v2.0";
const std::string kUserId = "0123456789abcdef01234567";
const std::string kKeyId = "89abcdef0123456789abcdef";
const std::string kAccess = "access-token-1";
const std::string kAccessNew = "access-token-2";
const std::string kRefresh = "refresh-token-1";

AppConfig config(bool skip_location = true) {
  AppConfig config{.app_id = "shop-abcde", .base_url = kBase};
  config.skip_location = skip_location;
  return config;
}

/// A session as if `client` had logged it in.
User make_user(const appkeys::detail::ClientState& client, std::string access = kAccess,
               std::string provider = "local-userpass") {
  return User(std::make_shared<appkeys::detail::UserState>(
      client.owner_key(), kUserId, std::move(provider), "", appkeys::Secret(access),
      appkeys::Secret(kRefresh)));
}

std::string header(const HttpRequest& request, std::string_view name) {
  auto value = appkeys::header_value(request.headers, name);
  return value ? std::string(*value) : std::string();
}

HttpResponse status(int code) {
  HttpResponse response;
  response.status = code;
  return response;
}

HttpResponse invalid_session() {
  return json_response(401, wire::error_json("invalid session", "InvalidSession").dump());
}

HttpResponse key_json(int code = 200) {
  return json_response(code, wire::api_key_json(*ObjectId::from_hex(kKeyId), "k", false).dump());
}

steps::Event start(steps::WallClock::time_point now = steps::WallClock::now()) {
  return steps::Start{now};
}

}  // namespace

TEST_CASE("a key call asks for one request with the refresh token and parses the answer",
          "[steps]") {
  appkeys::detail::ClientState client(config());
  steps::FetchKey machine(client, make_user(client),
                          steps::FetchKeySpec{ObjectId::from_hex(kKeyId)});
  Action action = machine.step(start());
  REQUIRE(action.kind == Kind::send);
  CHECK(action.request.method == HttpMethod::get);
  CHECK(action.request.url == kBase + kApi + "/auth/api_keys/" + kKeyId);
  CHECK(header(action.request, "Authorization") == "Bearer " + kRefresh);
  action = machine.step(Result<HttpResponse>(key_json()));
  REQUIRE(action.is_done());
  auto key = machine.take_result();
  REQUIRE(key);
  CHECK(key->id.to_hex() == kKeyId);
  CHECK_FALSE(key->key.has_value());
}

TEST_CASE("client-side checks finish a machine before it asks for anything", "[steps]") {
  appkeys::detail::ClientState client(config());
  SECTION("a logged-out user") {
    steps::FetchKeys machine(client, User(), steps::FetchKeysSpec{});
    REQUIRE(machine.step(start()).is_done());
    CHECK(machine.take_result().error().value() == errc::not_logged_in);
  }
  SECTION("an id that is not 24 hex characters") {
    steps::RemoveKey machine(client, make_user(client),
                             steps::RemoveKeySpec{ObjectId::from_hex("zz")});
    REQUIRE(machine.step(start()).is_done());
    CHECK(machine.take_result().error().value() == errc::invalid_argument);
  }
  SECTION("an anonymous user creating a key") {
    steps::CreateKey machine(client, make_user(client, kAccess, "anon-user"),
                             steps::CreateKeySpec{"k"});
    REQUIRE(machine.step(start()).is_done());
    CHECK(machine.take_result().error().value() == errc::provider_not_allowed);
  }
}

TEST_CASE("a 401 on a refresh-token request logs the session out, with no retry", "[steps]") {
  appkeys::detail::ClientState client(config());
  User user = make_user(client);
  steps::FetchKeys machine(client, user, steps::FetchKeysSpec{});
  REQUIRE(machine.step(start()).kind == Kind::send);
  REQUIRE(machine.step(Result<HttpResponse>(invalid_session())).is_done());
  CHECK(machine.take_result().error().value() == errc::invalid_session);
  CHECK_FALSE(user.is_logged_in());
}

TEST_CASE("the location is asked once, and calls that need it meanwhile join that request",
          "[steps][single_flight]") {
  appkeys::detail::ClientState client(config(false));
  User user = make_user(client);
  steps::FetchKeys first(client, user, steps::FetchKeysSpec{});
  steps::FetchKeys second(client, user, steps::FetchKeysSpec{});

  Action lookup = first.step(start());
  REQUIRE(lookup.kind == Kind::send);
  CHECK(lookup.request.url == kBase + kApi + "/app/shop-abcde/location");
  CHECK(lookup.request.headers.empty());  // PROTOCOL.md §1: no headers at all

  Action waiting = second.step(start());
  REQUIRE(waiting.kind == Kind::join);
  CHECK(waiting.flight == client.location_flight());
  std::optional<Result<void>> landed;
  REQUIRE_FALSE(waiting.flight->join([&](Result<void> outcome) { landed = std::move(outcome); }));

  Action next =
      first.step(Result<HttpResponse>(json_response(200, wire::location_json(kHost + "/").dump())));
  REQUIRE(landed.has_value());
  CHECK(landed->has_value());
  REQUIRE(next.kind == Kind::send);
  CHECK(next.request.url == kHost + kApi + "/auth/api_keys");

  Action resumed = second.step(steps::Joined{*landed});
  REQUIRE(resumed.kind == Kind::send);
  CHECK(resumed.request.url == kHost + kApi + "/auth/api_keys");

  // Later calls read the resolved host without a request.
  steps::FetchKeys third(client, user, steps::FetchKeysSpec{});
  CHECK(third.step(start()).request.url == kHost + kApi + "/auth/api_keys");
}

TEST_CASE("a failed location lookup fails the calls that joined it", "[steps][single_flight]") {
  appkeys::detail::ClientState client(config(false));
  steps::FetchKeys leader(client, make_user(client), steps::FetchKeysSpec{});
  steps::FetchKeys waiter(client, make_user(client), steps::FetchKeysSpec{});
  REQUIRE(leader.step(start()).kind == Kind::send);
  Action waiting = waiter.step(start());
  REQUIRE(waiting.kind == Kind::join);
  std::optional<Result<void>> landed;
  REQUIRE_FALSE(waiting.flight->join([&](Result<void> outcome) { landed = std::move(outcome); }));
  REQUIRE(leader.step(Result<HttpResponse>(appkeys::AppError(errc::connection_failed, "down")))
              .is_done());
  CHECK(leader.take_result().error().value() == errc::connection_failed);
  REQUIRE(landed.has_value());
  REQUIRE(waiter.step(steps::Joined{*landed}).is_done());
  CHECK(waiter.take_result().error().value() == errc::connection_failed);
}

TEST_CASE("a leader that gives up hands the lookup to a waiter", "[steps][single_flight]") {
  appkeys::detail::ClientState client(config(false));
  steps::FetchKeys waiter(client, make_user(client), steps::FetchKeysSpec{});
  Action waiting;
  {
    steps::FetchKeys leader(client, make_user(client), steps::FetchKeysSpec{});
    REQUIRE(leader.step(start()).kind == Kind::send);
    waiting = waiter.step(start());
    REQUIRE(waiting.kind == Kind::join);
  }  // the leader is destroyed (its call was cancelled) before its answer came
  std::optional<Result<void>> landed = waiting.flight->join([](Result<void>) {});
  REQUIRE(landed.has_value());  // already landed, with errc::cancelled
  Action retry = waiter.step(steps::Joined{*landed});
  REQUIRE(retry.kind == Kind::send);  // the waiter now leads the lookup itself
  CHECK(retry.request.url == kBase + kApi + "/app/shop-abcde/location");
}

TEST_CASE("an access-token 401 refreshes and retries once with the new token", "[steps][401]") {
  appkeys::detail::ClientState client(config());
  User user = make_user(client);
  steps::FetchProfile machine(client, user);
  Action action = machine.step(start());
  REQUIRE(action.kind == Kind::send);
  CHECK(header(action.request, "Authorization") == "Bearer " + kAccess);
  action = machine.step(Result<HttpResponse>(invalid_session()));
  REQUIRE(action.kind == Kind::send);
  CHECK(action.request.method == HttpMethod::post);
  CHECK(action.request.url == kBase + kApi + "/auth/session");
  CHECK(header(action.request, "Authorization") == "Bearer " + kRefresh);
  action = machine.step(
      Result<HttpResponse>(json_response(201, wire::refresh_response_json(kAccessNew).dump())));
  REQUIRE(action.kind == Kind::send);
  CHECK(header(action.request, "Authorization") == "Bearer " + kAccessNew);
  // A second 401 is final: no second refresh.
  action = machine.step(Result<HttpResponse>(invalid_session()));
  REQUIRE(action.is_done());
  CHECK(machine.take_result().error().value() == errc::invalid_session);
  CHECK(user.is_logged_in());
}

TEST_CASE("calls that meet one expired access token make one refresh",
          "[steps][401][single_flight]") {
  appkeys::detail::ClientState client(config());
  User user = make_user(client);
  steps::FetchProfile a(client, user), b(client, user), c(client, user);
  REQUIRE(a.step(start()).kind == Kind::send);
  REQUIRE(b.step(start()).kind == Kind::send);
  REQUIRE(c.step(start()).kind == Kind::send);

  Action refresh = a.step(Result<HttpResponse>(invalid_session()));
  REQUIRE(refresh.kind == Kind::send);
  CHECK(refresh.request.url == kBase + kApi + "/auth/session");

  // b's 401 arrives while a's refresh is in flight: b joins it.
  Action waiting = b.step(Result<HttpResponse>(invalid_session()));
  REQUIRE(waiting.kind == Kind::join);
  CHECK(waiting.flight == appkeys::detail::user_state(user)->refresh_flight);
  std::optional<Result<void>> landed;
  REQUIRE_FALSE(waiting.flight->join([&](Result<void> outcome) { landed = std::move(outcome); }));

  Action retry_a = a.step(
      Result<HttpResponse>(json_response(201, wire::refresh_response_json(kAccessNew).dump())));
  REQUIRE(retry_a.kind == Kind::send);
  CHECK(header(retry_a.request, "Authorization") == "Bearer " + kAccessNew);
  REQUIRE(landed.has_value());
  Action retry_b = b.step(steps::Joined{*landed});
  REQUIRE(retry_b.kind == Kind::send);
  CHECK(header(retry_b.request, "Authorization") == "Bearer " + kAccessNew);

  // c's 401 arrives after the refresh: it retries with the new token, no refresh.
  Action retry_c = c.step(Result<HttpResponse>(invalid_session()));
  REQUIRE(retry_c.kind == Kind::send);
  CHECK(retry_c.request.url == kBase + kApi + "/auth/profile");
  CHECK(header(retry_c.request, "Authorization") == "Bearer " + kAccessNew);
}

TEST_CASE("whether a JWT has expired is read against the time the driver gives", "[steps][401]") {
  appkeys::detail::ClientState client(config());
  const std::int64_t exp = 2'000'000'000;  // 2033
  const auto at = [](std::int64_t seconds) {
    return steps::WallClock::time_point(std::chrono::seconds(seconds));
  };
  {
    steps::FetchProfile machine(client, make_user(client, make_jwt(exp)));
    Action action = machine.step(start(at(exp - 3600)));
    CHECK(action.request.url == kBase + kApi + "/auth/profile");
  }
  {
    steps::FetchProfile machine(client, make_user(client, make_jwt(exp)));
    Action action = machine.step(start(at(exp + 1)));
    CHECK(action.request.url == kBase + kApi + "/auth/session");  // refreshed first
  }
}

TEST_CASE("retries: a transient failure asks for a wait, then the same request again",
          "[steps][retry]") {
  AppConfig retrying = config();
  retrying.retry = appkeys::RetryPolicy::exponential_backoff(3);
  appkeys::detail::ClientState client(retrying);
  steps::FetchKeys machine(client, make_user(client), steps::FetchKeysSpec{});
  Action first = machine.step(start());
  REQUIRE(first.kind == Kind::send);
  Action wait = machine.step(Result<HttpResponse>(status(503)));
  REQUIRE(wait.kind == Kind::wait);
  CHECK(wait.delay >= std::chrono::milliseconds(50));
  CHECK(wait.delay <= std::chrono::milliseconds(100));
  Action again = machine.step(steps::TimerFired{});
  REQUIRE(again.kind == Kind::send);
  CHECK(again.request.url == first.request.url);
  CHECK(header(again.request, "Authorization") == "Bearer " + kRefresh);
  REQUIRE(machine.step(Result<HttpResponse>(json_response(200, "[]"))).is_done());
  CHECK(machine.take_result().value().empty());
}

TEST_CASE("retries: a create that may have reached the server is not sent again",
          "[steps][retry]") {
  AppConfig retrying = config();
  retrying.retry = appkeys::RetryPolicy::exponential_backoff(3);
  appkeys::detail::ClientState client(retrying);
  steps::CreateKey machine(client, make_user(client), steps::CreateKeySpec{"k"});
  REQUIRE(machine.step(start()).kind == Kind::send);
  REQUIRE(machine.step(Result<HttpResponse>(appkeys::AppError(errc::timeout, "slow"))).is_done());
  CHECK(machine.take_result().error().value() == errc::timeout);
}

TEST_CASE("retries: a delete whose first attempt was lost succeeds on the retry's 404",
          "[steps][retry]") {
  AppConfig retrying = config();
  retrying.retry = appkeys::RetryPolicy::exponential_backoff(3);
  retrying.retry.initial_backoff = std::chrono::milliseconds(0);
  appkeys::detail::ClientState client(retrying);
  steps::RemoveKey machine(client, make_user(client),
                           steps::RemoveKeySpec{ObjectId::from_hex(kKeyId)});
  REQUIRE(machine.step(start()).kind == Kind::send);
  Action again = machine.step(Result<HttpResponse>(appkeys::AppError(errc::timeout, "lost")));
  REQUIRE(again.kind == Kind::send);  // a zero delay asks for no wait
  auto not_found =
      json_response(404, wire::error_json("API key not found", "APIKeyNotFound").dump());
  REQUIRE(machine.step(Result<HttpResponse>(not_found)).is_done());
  CHECK(machine.take_result().has_value());
}

TEST_CASE("log in: login request, then the profile, then the User", "[steps]") {
  appkeys::detail::ClientState client(config());
  steps::LogIn machine(client, appkeys::Credentials::email_password("a@example.com", "pw"));
  Action login = machine.step(start());
  REQUIRE(login.kind == Kind::send);
  CHECK(login.request.url == kBase + kApi + "/app/shop-abcde/auth/providers/local-userpass/login");
  CHECK(header(login.request, "Authorization").empty());
  Action profile = machine.step(Result<HttpResponse>(json_response(
      200,
      wire::login_response_json(kAccess, kRefresh, kUserId, "fedcba9876543210fedcba98").dump())));
  REQUIRE(profile.kind == Kind::send);
  CHECK(profile.request.url == kBase + kApi + "/auth/profile");
  CHECK(header(profile.request, "Authorization") == "Bearer " + kAccess);
  REQUIRE(machine
              .step(Result<HttpResponse>(json_response(
                  200, wire::profile_json(kUserId, {{kUserId, "local-userpass"}}, {}).dump())))
              .is_done());
  auto user = machine.take_result();
  REQUIRE(user);
  CHECK(user->id() == kUserId);
  CHECK(user->is_logged_in());
  CHECK(client.current_device_id() == "fedcba9876543210fedcba98");
}

TEST_CASE("log out forgets the tokens first and sends the refresh token", "[steps]") {
  appkeys::detail::ClientState client(config());
  User user = make_user(client);
  steps::LogOut machine(client, user);
  Action action = machine.step(start());
  CHECK_FALSE(user.is_logged_in());
  REQUIRE(action.kind == Kind::send);
  CHECK(action.request.method == HttpMethod::del);
  CHECK(header(action.request, "Authorization") == "Bearer " + kRefresh);
  REQUIRE(machine.step(Result<HttpResponse>(no_content())).is_done());
  CHECK(machine.take_result().has_value());
}

}  // namespace steps_test
