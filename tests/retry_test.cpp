// RetryPolicy: idempotent calls ride out transient failures; a key is never created twice.
#if defined(__has_include) && __has_include(<appkeys/detail/retry_rules.hpp>)
#include <appkeys/detail/retry_rules.hpp>
#endif
#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

namespace retry_test {

using appkeys::AppError;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::Headers;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using appkeys::Result;
using appkeys::RetryPolicy;
using appkeys::detail::Idempotency;
using namespace std::chrono_literals;

namespace {

/// What happens to one request on its way to the server and back.
enum class Fault {
  none,           // delivered, answered
  refused,        // never leaves: connection refused
  lost_response,  // delivered and processed, then the answer is lost (timeout)
  unavailable,    // a 503 from in front of the server; the server never sees it
  throttled,      // a 429 with Retry-After: 0; the server never sees it
};

/// Wraps FakeTransport and applies scripted faults to the requests whose URL ends with
/// a given suffix, so the backend's state shows what really reached the server.
class LossyTransport {
 public:
  LossyTransport(appkeys::testing::FakeBackend& backend, std::string url_suffix,
                 std::deque<Fault> faults)
      : inner_(backend), state_(std::make_shared<State>()) {
    state_->suffix = std::move(url_suffix);
    state_->faults = std::move(faults);
  }

  Result<HttpResponse> send(const HttpRequest& request) {
    Fault fault = Fault::none;
    {
      std::lock_guard lock(state_->mutex);
      const auto& url = request.url;
      const auto& suffix = state_->suffix;
      const bool matches = url.size() >= suffix.size() &&
                           url.compare(url.size() - suffix.size(), suffix.size(), suffix) == 0;
      if (matches) {
        ++state_->matching_attempts;
        if (!state_->faults.empty()) {
          fault = state_->faults.front();
          state_->faults.pop_front();
        }
      }
    }
    switch (fault) {
      case Fault::refused:
        return AppError(errc::connection_failed, "injected: connection refused");
      case Fault::lost_response: {
        auto delivered = inner_.send(request);
        (void)delivered;
        return AppError(errc::timeout, "injected: response lost");
      }
      case Fault::unavailable:
        return HttpResponse{503, {}, "busy"};
      case Fault::throttled: {
        HttpResponse response{429, {}, "slow down"};
        response.headers.emplace("Retry-After", "0");
        return response;
      }
      case Fault::none:
        break;
    }
    return inner_.send(request);
  }

  int matching_attempts() const {
    std::lock_guard lock(state_->mutex);
    return state_->matching_attempts;
  }

 private:
  struct State {
    std::mutex mutex;
    std::string suffix;
    std::deque<Fault> faults;
    int matching_attempts = 0;
  };
  appkeys::testing::FakeTransport inner_;
  std::shared_ptr<State> state_;
};
static_assert(appkeys::Transport<LossyTransport>);

constexpr const char* email = "retry@example.com";
constexpr const char* password = "retry password";

RetryPolicy fast_retries(int attempts) {
  RetryPolicy policy = RetryPolicy::exponential_backoff(attempts);
  policy.initial_backoff = 1ms;
  policy.max_backoff = 2ms;
  return policy;
}

struct Setup {
  appkeys::testing::FakeBackend backend;
  std::string user_id = backend.add_email_user(email, password);

  appkeys::App<LossyTransport, appkeys::NoThrowExec> app(std::string suffix,
                                                         std::deque<Fault> faults,
                                                         RetryPolicy policy) {
    appkeys::AppConfig config{.app_id = "retry-app"};
    config.retry = policy;
    return appkeys::App<LossyTransport, appkeys::NoThrowExec>(
        config, LossyTransport(backend, std::move(suffix), std::move(faults)));
  }
};

}  // namespace

TEST_CASE("retry rules: what is retried, and after how long", "[retry]") {
  const RetryPolicy policy = RetryPolicy::exponential_backoff(4);
  const Result<HttpResponse> refused = AppError(errc::connection_failed, "refused");
  const Result<HttpResponse> timed_out = AppError(errc::timeout, "timeout");
  const Result<HttpResponse> tls = AppError(errc::tls, "bad certificate");
  const Result<HttpResponse> unavailable = HttpResponse{503, {}, {}};
  const Result<HttpResponse> not_found = HttpResponse{404, {}, {}};

  using appkeys::detail::retry_delay;
  SECTION("a refused connection is retried for every request") {
    CHECK(retry_delay(policy, 1, refused, Idempotency::idempotent, 0.0).has_value());
    CHECK(retry_delay(policy, 1, refused, Idempotency::non_idempotent, 0.0).has_value());
  }
  SECTION("a timeout or a 5xx only for idempotent requests") {
    CHECK(retry_delay(policy, 1, timed_out, Idempotency::idempotent, 0.0).has_value());
    CHECK_FALSE(retry_delay(policy, 1, timed_out, Idempotency::non_idempotent, 0.0));
    CHECK(retry_delay(policy, 1, unavailable, Idempotency::idempotent, 0.0).has_value());
    CHECK_FALSE(retry_delay(policy, 1, unavailable, Idempotency::non_idempotent, 0.0));
  }
  SECTION("answers and permanent failures are never retried") {
    CHECK_FALSE(retry_delay(policy, 1, not_found, Idempotency::idempotent, 0.0));
    CHECK_FALSE(retry_delay(policy, 1, tls, Idempotency::idempotent, 0.0));
  }
  SECTION("the attempt budget is respected; no retry by default") {
    CHECK_FALSE(retry_delay(policy, 4, refused, Idempotency::idempotent, 0.0));
    CHECK_FALSE(retry_delay(RetryPolicy{}, 1, refused, Idempotency::idempotent, 0.0));
  }
  SECTION("backoff doubles, is capped, and jitter only shortens it") {
    RetryPolicy p = policy;
    p.initial_backoff = 100ms;
    p.max_backoff = 300ms;
    p.max_attempts = 10;
    CHECK(*retry_delay(p, 1, refused, Idempotency::idempotent, 0.0) == 100ms);
    CHECK(*retry_delay(p, 2, refused, Idempotency::idempotent, 0.0) == 200ms);
    CHECK(*retry_delay(p, 3, refused, Idempotency::idempotent, 0.0) == 300ms);
    CHECK(*retry_delay(p, 9, refused, Idempotency::idempotent, 0.0) == 300ms);
    CHECK(*retry_delay(p, 2, refused, Idempotency::idempotent, 0.999) >= 100ms);
    CHECK(*retry_delay(p, 2, refused, Idempotency::idempotent, 0.999) < 101ms);
  }
  SECTION("Retry-After replaces the backoff, within max_retry_after") {
    HttpResponse throttled{429, {}, {}};
    throttled.headers.emplace("Retry-After", "2");
    CHECK(*retry_delay(policy, 1, throttled, Idempotency::idempotent, 0.5) == 2000ms);
    throttled.headers.clear();
    throttled.headers.emplace("retry-after", "3600");
    CHECK_FALSE(retry_delay(policy, 1, throttled, Idempotency::idempotent, 0.5));
    throttled.headers.clear();
    throttled.headers.emplace("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
    CHECK(*retry_delay(policy, 1, throttled, Idempotency::idempotent, 0.0) ==
          policy.initial_backoff);
  }
  SECTION("Retry-After is delay-seconds: digits only, a day at most") {
    using appkeys::detail::retry_after;
    const auto after = [](const char* value) {
      Headers headers;
      headers.emplace("Retry-After", value);
      return retry_after(headers);
    };
    CHECK(after("0") == 0ms);
    CHECK(after(" 7 ") == 7000ms);
    CHECK(after("007") == 7000ms);
    CHECK(after("86400") == std::chrono::milliseconds(86'400'000));
    for (const char* refused :
         {"", " ", "86401", "-1", "-0", "+5", "1.5", "5s", "1 2", "99999999999999999999999999"}) {
      CHECK_FALSE(after(refused));
    }
    CHECK_FALSE(retry_after(Headers{}));
  }
}

TEST_CASE("idempotent calls ride out transient failures", "[retry]") {
  Setup setup;
  auto app =
      setup.app("/auth/api_keys", {Fault::unavailable, Fault::throttled, Fault::lost_response},
                fast_retries(4));
  auto user = app.log_in(Credentials::email_password(email, password));
  REQUIRE(user);
  auto keys = app.api_keys(*user);
  auto all = keys.fetch_all();
  REQUIRE(all);
  CHECK(all->empty());
}

TEST_CASE("without a retry policy a transient failure reaches the caller", "[retry]") {
  Setup setup;
  auto app = setup.app("/auth/api_keys", {Fault::unavailable}, RetryPolicy{});
  auto user = app.log_in(Credentials::email_password(email, password));
  REQUIRE(user);
  auto all = app.api_keys(*user).fetch_all();
  REQUIRE_FALSE(all);
  CHECK(all.error().code() == errc::http_error);
  CHECK(all.error().http_status() == 503);
}

TEST_CASE("create is never sent twice once it may have reached the server", "[retry]") {
  Setup setup;
  SECTION("a lost response is returned, and the key exists once") {
    auto app = setup.app("/auth/api_keys", {Fault::lost_response}, fast_retries(5));
    auto user = app.log_in(Credentials::email_password(email, password));
    REQUIRE(user);
    auto created = app.api_keys(*user).create("once");
    REQUIRE_FALSE(created);
    CHECK(created.error().code() == errc::timeout);
    CHECK(setup.backend.key_count(setup.user_id) == 1);
  }
  SECTION("a 503 is returned, not retried") {
    auto app = setup.app("/auth/api_keys", {Fault::unavailable}, fast_retries(5));
    auto user = app.log_in(Credentials::email_password(email, password));
    REQUIRE(user);
    auto created = app.api_keys(*user).create("once");
    REQUIRE_FALSE(created);
    CHECK(created.error().http_status() == 503);
    CHECK(setup.backend.key_count(setup.user_id) == 0);
  }
  SECTION("a refused connection is retried: the key is created exactly once") {
    auto app = setup.app("/auth/api_keys", {Fault::refused, Fault::refused}, fast_retries(3));
    auto user = app.log_in(Credentials::email_password(email, password));
    REQUIRE(user);
    auto created = app.api_keys(*user).create("once");
    REQUIRE(created);
    CHECK(setup.backend.key_count(setup.user_id) == 1);
  }
}

TEST_CASE("a delete whose response was lost succeeds on the retry's 404", "[retry]") {
  Setup setup;
  setup.backend.add_email_user("other@example.com", "other password");
  std::string key_id;
  {
    auto plain = setup.app("/never", {}, RetryPolicy{});
    auto user = plain.log_in(Credentials::email_password(email, password));
    REQUIRE(user);
    key_id = plain.api_keys(*user).create("doomed")->id.to_hex();
  }
  auto app = setup.app("/auth/api_keys/" + key_id, {Fault::lost_response}, fast_retries(3));
  auto user = app.log_in(Credentials::email_password(email, password));
  REQUIRE(user);
  auto removed = app.api_keys(*user).remove(std::string_view(key_id));
  CHECK(removed.has_value());
  CHECK(setup.backend.key_count(setup.user_id) == 0);

  // Without an uncertain earlier attempt, a 404 is still an error.
  auto again = app.api_keys(*user).remove(std::string_view(key_id));
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == errc::api_key_not_found);
}

TEST_CASE("the blocking driver's backoff sleep ends early once its call is cancelled",
          "[retry][cancel]") {
  using appkeys::detail::sleep_unless_stopped;
  SECTION("without a stop request it sleeps the whole delay and says so") {
    CHECK_FALSE(sleep_unless_stopped(1ms, std::stop_token{}));
    std::stop_source never;
    CHECK_FALSE(sleep_unless_stopped(1ms, never.get_token()));
  }
  SECTION("a stop requested before the sleep returns at once") {
    std::stop_source stop;
    stop.request_stop();
    CHECK(sleep_unless_stopped(60s, stop.get_token()));  // 60 s: a bound for a hang only
  }
  SECTION("a stop requested by another thread during the sleep wakes it") {
    std::stop_source stop;
    std::thread stopper([&] {
      std::this_thread::sleep_for(10ms);
      stop.request_stop();
    });
    CHECK(sleep_unless_stopped(60s, stop.get_token()));  // 60 s: a bound for a hang only
    stopper.join();
  }
}

}  // namespace retry_test
