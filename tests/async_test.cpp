// The completion driver over an asynchronous transport: calls in flight together on no
// thread of their own, one refresh for many calls, cancellation, shutdown with calls in
// flight, completions that start calls, and a transport that throws anything at all.
// Counts and outcomes only: nothing here depends on wall-clock time (the 60 s bounds
// only stop a hang).
#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>

#include "support/catch_printers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace async_test {

namespace {

using appkeys::AppConfig;
using appkeys::AppError;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using appkeys::Result;
using appkeys::testing::FakeAsyncTransport;
using appkeys::testing::FakeBackend;
using Core = appkeys::detail::ClientCore<FakeAsyncTransport>;

constexpr const char* kEmail = "async@example.com";
constexpr const char* kPassword = "async password";
constexpr auto kHangBound = std::chrono::seconds(60);

AppConfig config() { return AppConfig{.app_id = "shop-abcde"}; }

/// Counts completions and waits, with a generous bound, until there are `n`.
class Tally {
 public:
  void add(bool ok) {
    std::lock_guard lock(mutex_);
    ++(ok ? ok_ : failed_);
    changed_.notify_all();
  }
  void add_error(errc code) {
    std::lock_guard lock(mutex_);
    ++failed_;
    codes_.push_back(code);
    changed_.notify_all();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangBound, [&] { return ok_ + failed_ >= n; });
  }
  std::size_t ok() const {
    std::lock_guard lock(mutex_);
    return ok_;
  }
  std::size_t failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }
  std::vector<errc> codes() const {
    std::lock_guard lock(mutex_);
    return codes_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t ok_ = 0;
  std::size_t failed_ = 0;
  std::vector<errc> codes_;
};

std::size_t count_log(const FakeBackend& backend, const std::string& line) {
  auto log = backend.request_log();
  return static_cast<std::size_t>(std::count(log.begin(), log.end(), line));
}

struct World {
  FakeBackend backend;
  std::shared_ptr<Core> core;
  appkeys::User user;

  World() {
    backend.add_email_user(kEmail, kPassword);
    core = appkeys::detail::make_owned_core(config(), FakeAsyncTransport(backend));
    user = core->log_in(Credentials::email_password(kEmail, kPassword)).value();
  }
  FakeAsyncTransport& transport() { return core->transport(); }
};

}  // namespace

TEST_CASE("blocking calls over an AsyncTransport wait for the completion", "[async]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  appkeys::App<FakeAsyncTransport, appkeys::NoThrowExec> app(config(), FakeAsyncTransport(backend));
  auto user = app.log_in(Credentials::email_password(kEmail, kPassword));
  REQUIRE(user);
  auto keys = app.api_keys(*user);
  auto key = keys.create("blocking");
  REQUIRE(key);
  CHECK(keys.fetch(key->id).value().name == "blocking");
  CHECK(keys.remove(key->id).has_value());
  CHECK(keys.fetch(key->id).error().value() == errc::api_key_not_found);
  CHECK(app.log_out(*user).has_value());
}

TEST_CASE("a blocking call on the transport's loop thread fails instead of deadlocking",
          "[async]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  appkeys::App<FakeAsyncTransport, appkeys::NoThrowExec> app(config(), FakeAsyncTransport(backend));
  auto user = app.log_in(Credentials::email_password(kEmail, kPassword)).value();
  auto keys = app.api_keys(user);
  std::promise<Result<std::vector<appkeys::ApiKey>>> inner;
  HttpRequest probe{appkeys::HttpMethod::get, "http://localhost/", {}, {}, {}};
  app.transport().async_send(std::move(probe), [&](Result<HttpResponse>) {
    CHECK(app.transport().in_loop_thread());
    inner.set_value(keys.fetch_all());  // blocking, on the loop thread
  });
  auto future = inner.get_future();
  REQUIRE(future.wait_for(kHangBound) == std::future_status::ready);
  auto outcome = future.get();
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().value() == errc::invalid_argument);
  CHECK(std::string(outcome.error().what()).find("event-loop thread") != std::string::npos);
}

TEST_CASE("many calls meeting one expired access token make one refresh",
          "[async][single_flight]") {
  World world;
  world.backend.expire_access_tokens();
  const std::size_t refreshes_before =
      count_log(world.backend, "POST /api/client/v2.0/auth/session");
  constexpr std::size_t calls = 50;
  Tally tally;
  world.transport().pause();  // every call sends before any answer comes
  for (std::size_t i = 0; i < calls; ++i) {
    world.core->start(world.core->make_fetch_profile(world.user),
                      [&](Result<appkeys::detail::wire::Profile> p) { tally.add(p.has_value()); });
  }
  CHECK(world.transport().queued() == calls);
  world.transport().resume();
  REQUIRE(tally.wait_for(calls));
  CHECK(tally.ok() == calls);
  CHECK(count_log(world.backend, "POST /api/client/v2.0/auth/session") - refreshes_before == 1);
  CHECK(world.user.is_logged_in());
}

TEST_CASE("calls that need the location meanwhile share one lookup", "[async][single_flight]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto core = appkeys::detail::make_owned_core(config(), FakeAsyncTransport(backend));
  core->transport().pause();
  Tally tally;
  constexpr std::size_t calls = 20;
  for (std::size_t i = 0; i < calls; ++i) {
    core->start(core->make_log_in(Credentials::email_password(kEmail, kPassword)),
                [&](Result<appkeys::User> u) { tally.add(u.has_value()); });
  }
  CHECK(core->transport().queued() == 1);  // the others joined the lookup
  core->transport().resume();
  REQUIRE(tally.wait_for(calls));
  CHECK(tally.ok() == calls);
  CHECK(count_log(backend, "GET /api/client/v2.0/app/shop-abcde/location") == 1);
}

TEST_CASE("a cancelled call completes at once with errc::cancelled, and only once",
          "[async][cancel]") {
  World world;
  world.transport().pause();
  std::stop_source stop;
  Tally tally;
  world.core->start(
      world.core->make_fetch_keys(world.user),
      [&](Result<std::vector<appkeys::ApiKey>> keys) {
        keys ? tally.add(true) : tally.add_error(keys.error().value());
      },
      stop.get_token());
  CHECK(world.transport().queued() == 1);
  CHECK(tally.failed() + tally.ok() == 0);
  stop.request_stop();
  REQUIRE(tally.wait_for(1));
  CHECK(tally.codes() == std::vector<errc>{errc::cancelled});
  world.transport().resume();  // the late answer is dropped
  // A call after it still works, and the cancelled one never completes again.
  auto keys = world.core->fetch_keys(world.user);
  CHECK(keys.has_value());
  CHECK(tally.ok() + tally.failed() == 1);

  SECTION("a token already stopped cancels before any request") {
    std::stop_source stopped;
    stopped.request_stop();
    const auto before = world.transport().accepted();
    Tally late;
    world.core->start(
        world.core->make_fetch_keys(world.user),
        [&](Result<std::vector<appkeys::ApiKey>> r) {
          r ? late.add(true) : late.add_error(r.error().value());
        },
        stopped.get_token());
    REQUIRE(late.wait_for(1));
    CHECK(late.codes() == std::vector<errc>{errc::cancelled});
    CHECK(world.transport().accepted() == before);
  }
}

TEST_CASE("App::with_stop_token cancels a blocking call waiting on the transport",
          "[async][cancel]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  std::optional<FakeAsyncTransport::Remote> remote;
  {
    appkeys::App<FakeAsyncTransport, appkeys::NoThrowExec> app(config(),
                                                               FakeAsyncTransport(backend));
    remote.emplace(app.transport().remote());
    auto user = app.log_in(Credentials::email_password(kEmail, kPassword)).value();
    std::stop_source stop;
    auto keys = app.with_stop_token(stop.get_token()).api_keys(user);
    app.transport().pause();
    std::thread canceller([&] {
      while (app.transport().queued() == 0) std::this_thread::yield();
      stop.request_stop();
    });
    auto outcome = keys.fetch_all();
    canceller.join();
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().value() == errc::cancelled);
    app.transport().resume();
  }
  // The App's destructor shut the transport down, the cancelled request with it.
  CHECK(remote->finished());
}

TEST_CASE("destroying the App with calls in flight completes each once, before it returns",
          "[async][shutdown]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  Tally tally;
  std::atomic<bool> destructor_returned{false};
  std::atomic<int> after_destructor{0};
  constexpr std::size_t calls = 100;
  std::optional<FakeAsyncTransport::Remote> remote;
  {
    auto handle = appkeys::detail::make_owned_core(config(), FakeAsyncTransport(backend));
    auto user = handle->log_in(Credentials::email_password(kEmail, kPassword)).value();
    remote.emplace(handle->transport().remote());
    handle->transport().pause();
    for (std::size_t i = 0; i < calls; ++i) {
      handle->start(handle->make_fetch_keys(user), [&](Result<std::vector<appkeys::ApiKey>> r) {
        if (destructor_returned) ++after_destructor;
        r ? tally.add(true) : tally.add_error(r.error().value());
      });
    }
    CHECK(handle->transport().queued() == calls);
  }  // the last handle: every call settles now
  destructor_returned = true;
  CHECK(tally.ok() + tally.failed() == calls);
  for (errc code : tally.codes()) CHECK(code == errc::shutting_down);
  CHECK(after_destructor == 0);
  // The last handle shut the transport down: its thread had ended before the destructor
  // returned, though the requests were never answered.
  CHECK(remote->finished());
  CHECK(remote->queued() == 0);
  CHECK(tally.ok() + tally.failed() == calls);
}

TEST_CASE("a completion may start new calls", "[async]") {
  World world;
  Tally tally;
  constexpr int chain = 200;
  std::function<void(int)> next = [&](int remaining) {
    world.core->start(world.core->make_fetch_keys(world.user),
                      [&, remaining](Result<std::vector<appkeys::ApiKey>> r) {
                        tally.add(r.has_value());
                        if (remaining > 1) next(remaining - 1);
                      });
  };
  next(chain);
  REQUIRE(tally.wait_for(chain));
  CHECK(tally.ok() == chain);
}

TEST_CASE("10,000 calls in flight at once over one transport thread", "[async][many]") {
  World world;
  auto key = world.core->create_key(world.user, "many").value();
  constexpr std::size_t calls = 10'000;
  Tally tally;
  std::atomic<std::size_t> wrong{0};
  world.transport().pause();
  for (std::size_t i = 0; i < calls; ++i) {
    world.core->start(world.core->make_fetch_key(world.user, key.id),
                      [&](Result<appkeys::ApiKey> k) {
                        if (k && k->name != "many") ++wrong;
                        tally.add(k.has_value());
                      });
  }
  CHECK(world.transport().queued() == calls);  // all in flight, no thread each
  world.transport().resume();
  REQUIRE(tally.wait_for(calls));
  CHECK(tally.ok() == calls);
  CHECK(wrong == 0);
}

namespace {

/// An AsyncTransport that answers inline from a function; for retry and throw tests.
struct InlineAsync {
  std::function<Result<HttpResponse>(const HttpRequest&)> answer;
  std::shared_ptr<std::atomic<int>> sent = std::make_shared<std::atomic<int>>(0);
  void async_send(HttpRequest request, appkeys::Completion completion) {
    ++*sent;
    completion(answer(request));
  }
  Result<HttpResponse> send(const HttpRequest& request) { return answer(request); }
};
static_assert(appkeys::AsyncTransport<InlineAsync>);
static_assert(appkeys::Transport<InlineAsync>);

/// A blocking transport that throws something that is not a std::exception.
struct ThrowsInt {
  Result<HttpResponse> send(const HttpRequest&) { throw 42; }
};

}  // namespace

TEST_CASE("retry backoff over the completion driver is a timer, and the retry succeeds",
          "[async][retry]") {
  AppConfig retrying = config();
  retrying.skip_location = true;
  retrying.retry = appkeys::RetryPolicy::exponential_backoff(3);
  retrying.retry.initial_backoff = std::chrono::milliseconds(1);
  auto attempts = std::make_shared<std::atomic<int>>(0);
  InlineAsync transport{[attempts](const HttpRequest&) -> Result<HttpResponse> {
    // A refused connection never reached the server: retried even for a register.
    if (++*attempts == 1) return AppError(errc::connection_failed, "refused");
    HttpResponse response;
    response.status = 201;
    return response;
  }};
  auto sent = transport.sent;
  appkeys::App<InlineAsync, appkeys::NoThrowExec> app(retrying, std::move(transport));
  CHECK(app.register_email("r@example.com", "password").has_value());
  CHECK(*sent == 2);
}

TEST_CASE("a transport that throws anything at all gives errc::transport", "[async][throw]") {
  AppConfig plain = config();
  plain.skip_location = true;
  SECTION("blocking") {
    appkeys::App<ThrowsInt, appkeys::NoThrowExec> app(plain);
    auto outcome = app.register_email("t@example.com", "password");
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().value() == errc::transport);
  }
  SECTION("asynchronous") {
    InlineAsync transport{[](const HttpRequest&) -> Result<HttpResponse> { throw 7; }};
    appkeys::App<InlineAsync, appkeys::NoThrowExec> app(plain, std::move(transport));
    auto outcome = app.register_email("t@example.com", "password");
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().value() == errc::transport);
  }
}

}  // namespace async_test
