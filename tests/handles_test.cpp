// Handles that cannot leak (issue 12, item 5): a User works only with Apps of the app
// (base URL and app id) that logged it in; a login whose profile request fails closes its
// session on the server; the one wipe helper.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fault_injection.hpp>

#include "support/catch_printers.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace handles_test {

using appkeys::App;
using appkeys::AppConfig;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::HttpRequest;
using appkeys::User;
using appkeys::testing::FakeBackend;
using appkeys::testing::FakeTransport;
using appkeys::testing::Fault;
using appkeys::testing::FaultInjectingTransport;

namespace {

constexpr const char* email = "ann@example.com";
constexpr const char* password = "correct horse battery";
constexpr const char* api = "/api/client/v2.0";

/// What one transport was asked to send: each request's URL and Authorization header.
struct SentLog {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> requests;  // (url, authorization)

  void add(const HttpRequest& request) {
    auto authorization = appkeys::header_value(request.headers, "Authorization");
    std::lock_guard lock(mutex);
    requests.emplace_back(request.url, authorization ? std::string(*authorization) : "");
  }
  std::vector<std::pair<std::string, std::string>> all() {
    std::lock_guard lock(mutex);
    return requests;
  }
};

/// FakeTransport behind a fault script, recording every request. With `async` it also
/// models AsyncTransport (completing inline), so App runs its completion driver.
template <bool async>
class TestTransport {
 public:
  explicit TestTransport(FakeBackend& backend)
      : inner_(FakeTransport{backend}), log_(std::make_shared<SentLog>()) {}

  appkeys::Result<appkeys::HttpResponse> send(const HttpRequest& request) {
    log_->add(request);
    return inner_.send(request);
  }
  void async_send(HttpRequest request, appkeys::Completion completion) requires(async) {
    completion(send(request));
  }

  void inject(Fault fault) { inner_.inject(std::move(fault)); }
  std::shared_ptr<SentLog> log() const { return log_; }

 private:
  FaultInjectingTransport<FakeTransport> inner_;
  std::shared_ptr<SentLog> log_;
};

static_assert(!appkeys::AsyncTransport<TestTransport<false>>);
static_assert(appkeys::AsyncTransport<TestTransport<true>>);

AppConfig config(std::string app_id = "shop-abcde") {
  return AppConfig{.app_id = std::move(app_id)};
}

template <class Outcome>
errc error_of(const Outcome& outcome) {
  REQUIRE_FALSE(outcome.has_value());
  return outcome.error().value();
}

/// Both tokens of `user`'s session, as the library holds them.
std::vector<std::string> tokens_of(const User& user) {
  const auto& state = appkeys::detail::user_state(user);
  REQUIRE(state);
  return {std::string(state->current_access_token().reveal()),
          std::string(state->current_refresh_token().reveal())};
}

bool carries_any(const std::vector<std::pair<std::string, std::string>>& sent,
                 const std::vector<std::string>& tokens) {
  return std::any_of(sent.begin(), sent.end(), [&](const auto& request) {
    return std::any_of(tokens.begin(), tokens.end(), [&](const std::string& token) {
      return !token.empty() && (request.first.find(token) != std::string::npos ||
                                request.second.find(token) != std::string::npos);
    });
  });
}

}  // namespace

TEMPLATE_TEST_CASE_SIG("a User is refused by every App but the one that logged it in",
                       "[handles][user]", ((bool async), async), false, true) {
  FakeBackend first_backend;
  FakeBackend second_backend;
  first_backend.add_email_user(email, password);
  second_backend.add_email_user(email, password);
  TestTransport<async> first_transport(first_backend);
  auto first_log = first_transport.log();
  App<TestTransport<async>, appkeys::NoThrowExec> first(config(), std::move(first_transport));

  auto logged_in = first.log_in(Credentials::email_password(email, password));
  REQUIRE(logged_in);
  User user = *logged_in;
  const auto tokens = tokens_of(user);

  auto check_refused = [&](auto& other, const std::shared_ptr<SentLog>& other_log) {
    const auto sent_before = other_log->all().size();
    auto keys = other.api_keys(user);
    auto listed = keys.fetch_all();
    CHECK(error_of(listed) == errc::invalid_argument);
    CHECK_THAT(std::string(listed.error().what()), Catch::Contains("another App"));
    CHECK(error_of(keys.create("k")) == errc::invalid_argument);
    CHECK(error_of(keys.fetch(appkeys::ObjectId::from_hex("0123456789abcdef01234567").value())) ==
          errc::invalid_argument);
    CHECK(error_of(other.log_out(user)) == errc::invalid_argument);
    // Nothing was sent at all, so certainly none of the user's tokens.
    CHECK(other_log->all().size() == sent_before);
    CHECK_FALSE(carries_any(other_log->all(), tokens));
    // The refusal left the session alone: it still works with its own App.
    CHECK(user.is_logged_in());
    CHECK(first.api_keys(user).fetch_all());
  };

  SECTION("another server") {
    TestTransport<async> transport(second_backend);
    auto log = transport.log();
    App<TestTransport<async>, appkeys::NoThrowExec> other(
        AppConfig{.app_id = "shop-abcde", .base_url = "https://elsewhere.example.com"},
        std::move(transport));
    check_refused(other, log);
  }
  SECTION("another app id on the same server") {
    TestTransport<async> transport(first_backend);
    auto log = transport.log();
    App<TestTransport<async>, appkeys::NoThrowExec> other(config("other-app"),
                                                          std::move(transport));
    check_refused(other, log);
  }
  SECTION("another base URL path on the same host") {
    TestTransport<async> transport(first_backend);
    auto log = transport.log();
    App<TestTransport<async>, appkeys::NoThrowExec> other(
        AppConfig{.app_id = "shop-abcde", .base_url = "https://services.cloud.mongodb.com/other"},
        std::move(transport));
    check_refused(other, log);
  }
  SECTION("another App of the same app (another executor, another transport) accepts it") {
    // Same base URL and app id: the same server and app, so the same session is valid
    // there; spelling the base URL's scheme and host in capitals, or with a trailing
    // '/', changes nothing.
    TestTransport<async> transport(first_backend);
    App<TestTransport<async>, appkeys::SyncExec> same(
        AppConfig{.app_id = "shop-abcde", .base_url = "HTTPS://Services.Cloud.MongoDB.com/"},
        std::move(transport));
    CHECK(same.api_keys(user).fetch_all().empty());
    same.log_out(user);
    CHECK_FALSE(user.is_logged_in());
  }
  SECTION("copies of the App that logged it in accept it") {
    auto copy = first;
    std::stop_source stop;
    auto stoppable = first.with_stop_token(stop.get_token());
    CHECK(copy.api_keys(user).fetch_all());
    CHECK(stoppable.api_keys(user).fetch_all());
    CHECK(copy.log_out(user));
    CHECK_FALSE(user.is_logged_in());
    CHECK_FALSE(first_log->all().empty());
  }
}

TEST_CASE("a User from another App is refused before it is checked for being logged out",
          "[handles][user]") {
  FakeBackend backend;
  backend.add_email_user(email, password);
  App<FakeTransport, appkeys::NoThrowExec> first(config(), FakeTransport{backend});
  App<FakeTransport, appkeys::NoThrowExec> second(config("another-app"), FakeTransport{backend});
  User user = *first.log_in(Credentials::email_password(email, password));
  REQUIRE(first.log_out(user));
  CHECK(error_of(second.api_keys(user).fetch_all()) == errc::invalid_argument);
  CHECK(error_of(first.api_keys(user).fetch_all()) == errc::not_logged_in);
  // A default User belongs to nobody: it is simply not logged in, everywhere.
  CHECK(error_of(second.api_keys(User{}).fetch_all()) == errc::not_logged_in);
  User nobody;
  CHECK(second.log_out(nobody));
}

TEMPLATE_TEST_CASE_SIG("a login whose profile request fails ends the new session on the server",
                       "[handles][login]", ((bool async), async), false, true) {
  FakeBackend backend;
  backend.add_email_user(email, password);
  TestTransport<async> transport(backend);
  auto log = transport.log();

  SECTION("the profile answers 500") {
    transport.inject(Fault::plain_status(500).url_ends_with("/auth/profile"));
  }
  SECTION("the profile's connection fails after the server answered") {
    transport.inject(Fault::reset_mid_response().url_ends_with("/auth/profile"));
  }
  SECTION("the profile's answer is not JSON") {
    transport.inject(Fault::replace_body("<html>").url_ends_with("/auth/profile"));
  }
  App<TestTransport<async>, appkeys::NoThrowExec> app(config(), std::move(transport));

  auto user = app.log_in(Credentials::email_password(email, password));
  REQUIRE_FALSE(user);
  CHECK(user.error().value() != errc::invalid_argument);

  // Sent: the login, the profile, then the session's end with a token that is not the
  // profile's access token (the login's refresh token).
  const auto sent = log->all();
  REQUIRE(sent.size() >= 3);
  const auto& login = sent[sent.size() - 3];
  const auto& profile = sent[sent.size() - 2];
  const auto& logout = sent.back();
  CHECK(login.first.find("/auth/providers/local-userpass/login") != std::string::npos);
  CHECK(profile.first.find("/auth/profile") != std::string::npos);
  CHECK(logout.first.find("/auth/session") != std::string::npos);
  CHECK(logout.second.rfind("Bearer ", 0) == 0);
  CHECK(logout.second != profile.second);
  // And the server handled it: its log ends with the DELETE.
  const auto handled = backend.request_log();
  REQUIRE_FALSE(handled.empty());
  CHECK(handled.back() == std::string("DELETE ") + api + "/auth/session");
}

TEST_CASE("a login whose profile request fails ends the session: the token no longer works",
          "[handles][login]") {
  // Drive the refresh token by hand: log in through the fake with a scripted profile
  // failure, capture the login answer's refresh token, and ask the server about it.
  FakeBackend backend;
  backend.add_email_user(email, password);
  struct Capturing {
    FaultInjectingTransport<FakeTransport> inner;
    std::shared_ptr<std::string> refresh = std::make_shared<std::string>();
    appkeys::Result<appkeys::HttpResponse> send(const HttpRequest& request) {
      auto response = inner.send(request);
      if (response && request.url.find("/login") != std::string::npos) {
        auto body = nlohmann::json::parse(response->body);
        *refresh = body.at("refresh_token").get<std::string>();
      }
      return response;
    }
  };
  Capturing transport{FaultInjectingTransport<FakeTransport>(FakeTransport{backend})};
  transport.inner.inject(Fault::plain_status(503).url_ends_with("/auth/profile"));
  auto refresh = transport.refresh;
  App<Capturing, appkeys::NoThrowExec> app(config(), std::move(transport));
  REQUIRE_FALSE(app.log_in(Credentials::email_password(email, password)));
  REQUIRE_FALSE(refresh->empty());

  // The server no longer knows that session: a new access token for it is refused.
  HttpRequest again{appkeys::HttpMethod::post,
                    "https://x.example.com" + std::string(api) + "/auth/session",
                    {},
                    {},
                    std::chrono::seconds(5)};
  again.headers.emplace("Authorization", "Bearer " + *refresh);
  auto answer = FakeTransport{backend}.send(again);
  REQUIRE(answer);
  CHECK(answer->status == 401);
}

TEST_CASE("wipe zeroes a string's bytes and empties it", "[handles][wipe]") {
  std::string secret = "a secret long enough to live on the heap";
  const char* bytes = secret.data();
  const auto size = secret.size();
  appkeys::detail::wipe(secret);
  CHECK(secret.empty());
  // clear() keeps the buffer: the old bytes are still addressable, and zero.
  CHECK(secret.data() == bytes);
  CHECK(std::all_of(bytes, bytes + size, [](char c) { return c == '\0'; }));

  char raw[8] = {'p', 'a', 's', 's', 'w', 'o', 'r', 'd'};
  appkeys::detail::wipe_bytes(raw, sizeof raw);
  CHECK(std::all_of(raw, raw + sizeof raw, [](char c) { return c == '\0'; }));
}

}  // namespace handles_test
