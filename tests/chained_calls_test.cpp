// One call in flight at a time, each started from the previous call's completion on the
// transport's loop thread (CallbackExec handlers, CoroExec resumptions): every call
// succeeds while the App is alive. Guards the re-entrant path (a completion that
// starts the next call while the finished call is still being torn down on the loop)
// against a spurious errc::shutting_down, over FakeAsyncTransport and over
// CurlMultiTransport with a LocalServer.
#include "support/async_fixtures.hpp"
#include "support/http_fixtures_curl.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <utility>

namespace chained_calls_test {

namespace {

constexpr const char* kEmail = "chained@example.com";
constexpr const char* kPassword = "chained calls password";
constexpr std::size_t kChainLength = 500;
constexpr auto kHangBound = std::chrono::seconds(60);

/// What a chain of calls saw, written on the loop thread and read by the test's.
class Tally {
 public:
  void record(const appkeys::Result<appkeys::ApiKey>& key) {
    std::lock_guard lock(mutex_);
    if (key) {
      ++succeeded_;
    } else if (failed_++ == 0) {
      first_error_ = key.error().what();
    }
  }
  /// Notifies under the lock: the waiter may destroy this as soon as it can see ended_.
  void end() {
    std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
  }
  /// Whether the chain ended within the hang bound.
  bool wait_ended() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangBound, [&] { return ended_; });
  }
  std::size_t succeeded() const {
    std::lock_guard lock(mutex_);
    return succeeded_;
  }
  std::size_t failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }
  std::string first_error() const {
    std::lock_guard lock(mutex_);
    return first_error_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t succeeded_ = 0;
  std::size_t failed_ = 0;
  std::string first_error_;
  bool ended_ = false;
};

/// A user with one key, set up through a blocking App over the fixture's transport.
template <class Fixture>
struct Prepared {
  explicit Prepared(Fixture& fixture)
      : setup(fixture.make_app()),
        user(setup.log_in(appkeys::Credentials::email_password(kEmail, kPassword))),
        key_id(setup.api_keys(user).create("chained").id) {}

  decltype(std::declval<Fixture&>().make_app()) setup;
  appkeys::User user;
  appkeys::ObjectId key_id;
};

/// Fetches the key, then from the handler fetches it again, `remaining` times.
template <class Keys>
struct CallbackChain {
  Keys& keys;
  const appkeys::ObjectId& id;
  Tally& tally;
  std::size_t remaining;

  void next() {
    keys.fetch(id).then([this](appkeys::Result<appkeys::ApiKey> key) {
      tally.record(key);
      if (key && --remaining > 0) {
        next();
      } else {
        tally.end();
      }
    });
  }
};

}  // namespace

TEMPLATE_TEST_CASE(
    "CallbackExec: 500 calls, each started by the previous one's handler, all succeed",
    "[exec_async][async][curl_multi]", appkeys_test::AsyncFakeFixture,
    appkeys_test::CurlMultiFixture) {
  TestType fixture;
  fixture.backend.add_email_user(kEmail, kPassword);
  Prepared<TestType> prepared(fixture);
  auto app = fixture.make_app(appkeys::CallbackExec{});
  auto keys = app.api_keys(prepared.user);
  Tally tally;
  CallbackChain<decltype(keys)> chain{keys, prepared.key_id, tally, kChainLength};
  chain.next();
  REQUIRE(tally.wait_ended());
  INFO("first error: " << tally.first_error());
  CHECK(tally.failed() == 0);
  CHECK(tally.succeeded() == kChainLength);
}

TEMPLATE_TEST_CASE("CoroExec: 500 calls awaited one after another on the loop thread all succeed",
                   "[exec_async][async][curl_multi]", appkeys_test::AsyncFakeFixture,
                   appkeys_test::CurlMultiFixture) {
  TestType fixture;
  fixture.backend.add_email_user(kEmail, kPassword);
  Prepared<TestType> prepared(fixture);
  auto app = fixture.make_app(appkeys::CoroExec{});
  auto keys = app.api_keys(prepared.user);
  Tally tally;
  // After the first await, each next call starts on the loop thread, from inside the
  // previous call's completion.
  auto chain = [&]() -> appkeys::Task<void> {
    for (std::size_t i = 0; i < kChainLength; ++i) {
      appkeys::Result<appkeys::ApiKey> key = co_await keys.fetch(prepared.key_id).as_result();
      tally.record(key);
      if (!key) break;
    }
    tally.end();
  };
  appkeys::sync_wait(chain());
  REQUIRE(tally.wait_ended());
  INFO("first error: " << tally.first_error());
  CHECK(tally.failed() == 0);
  CHECK(tally.succeeded() == kChainLength);
}

}  // namespace chained_calls_test
