// Each executor turns the same operation into its own kind of result.
#include "support/fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <type_traits>
#include <vector>

namespace executor_test {

using appkeys::AppError;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::Result;

namespace {

constexpr const char* email = "exec@example.com";
constexpr const char* password = "exec password";

/// A third-party executor in a few lines: runs inline and counts the calls. Shows that
/// ApiKeyAuth needs nothing but the Executor concept.
struct CountingExec {
  std::shared_ptr<std::atomic<int>> runs = std::make_shared<std::atomic<int>>(0);
  template <class T>
  using result = Result<T>;
  template <class F>
  result<appkeys::operation_value_t<F>> run(F&& op) {
    ++*runs;
    return std::forward<F>(op)();
  }
};
static_assert(appkeys::Executor<CountingExec>);

}  // namespace

// Every shipped policy is checked against its concept here rather than by a static_assert
// in its header, which every program that includes the header would compile again.
TEST_CASE("the shipped executors satisfy the Executor concept and say what they return",
          "[executor]") {
  STATIC_REQUIRE(appkeys::Executor<appkeys::SyncExec>);
  STATIC_REQUIRE(appkeys::Executor<appkeys::NoThrowExec>);
  STATIC_REQUIRE(appkeys::Executor<appkeys::FutureExec>);
  STATIC_REQUIRE(appkeys::Executor<appkeys::CoroExec>);
  STATIC_REQUIRE(appkeys::Executor<appkeys::CallbackExec>);
  STATIC_REQUIRE(appkeys::PostTarget<appkeys::ThreadPool>);
  STATIC_REQUIRE(appkeys::PostTarget<appkeys::RunLoop>);
  STATIC_REQUIRE(std::is_same_v<appkeys::CoroExec::result<int>, appkeys::Task<int>>);
  STATIC_REQUIRE(std::is_same_v<appkeys::CallbackExec::result<int>, appkeys::Deferred<int>>);
  STATIC_REQUIRE(std::is_same_v<appkeys::SyncExec::result<appkeys::ApiKey>, appkeys::ApiKey>);
  STATIC_REQUIRE(std::is_same_v<appkeys::SyncExec::result<void>, void>);
  STATIC_REQUIRE(std::is_same_v<appkeys::NoThrowExec::result<int>, Result<int>>);
  STATIC_REQUIRE(std::is_same_v<appkeys::FutureExec::result<int>, std::future<int>>);
  STATIC_REQUIRE_FALSE(appkeys::Executor<int>);
}

TEST_CASE("SyncExec returns values and throws AppError", "[executor]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app(appkeys::SyncExec{});
  appkeys::User user = app.log_in(Credentials::email_password(email, password));
  auto keys = app.api_keys(user);
  auto key = keys.create("sync");
  STATIC_REQUIRE(std::is_same_v<decltype(key), appkeys::ApiKey>);
  CHECK(key.name == "sync");
  CHECK_THROWS_MATCHES(keys.create(""), AppError, Catch::Predicate<AppError>([](const AppError& e) {
                         return e.code() == errc::invalid_argument;
                       }));
  CHECK_THROWS_AS(app.log_in(Credentials::email_password(email, "wrong")), AppError);
}

TEST_CASE("NoThrowExec returns Result and never throws", "[executor]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app(appkeys::NoThrowExec{});
  auto user = app.log_in(Credentials::email_password(email, "wrong"));
  STATIC_REQUIRE(std::is_same_v<decltype(user), Result<appkeys::User>>);
  REQUIRE_FALSE(user);
  CHECK(user.error().code() == errc::invalid_password);
  auto good = app.log_in(Credentials::email_password(email, password));
  REQUIRE(good);
  auto created = app.api_keys(*good).create("no-throw");
  REQUIRE(created);
  CHECK(created->name == "no-throw");
  CHECK(created.value_or(appkeys::ApiKey{}).name == "no-throw");
  auto removed = app.api_keys(*good).remove(created->id);
  STATIC_REQUIRE(std::is_same_v<decltype(removed), Result<void>>);
  CHECK(removed.has_value());
}

TEST_CASE("FutureExec runs calls on its pool and delivers values and errors", "[executor]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  appkeys::FutureExec executor(3);
  CHECK(executor.thread_count() == 3);
  auto app = fixture.make_app(executor);

  auto user_future = app.log_in(Credentials::email_password(email, password));
  STATIC_REQUIRE(std::is_same_v<decltype(user_future), std::future<appkeys::User>>);
  appkeys::User user = user_future.get();
  auto keys = app.api_keys(user);

  auto failing = keys.create("");
  try {
    failing.get();
    FAIL("an empty name was accepted");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::invalid_argument);
  }

  // Calls run on pool threads, not the caller's.
  std::atomic<int> on_caller{0};
  const auto caller = std::this_thread::get_id();
  std::vector<std::future<int>> probes;
  for (int i = 0; i < 8; ++i) {
    probes.push_back(executor.run([&on_caller, caller, i] {
      if (std::this_thread::get_id() == caller) ++on_caller;
      return Result<int>(i);
    }));
  }
  int sum = 0;
  for (auto& p : probes) sum += p.get();
  CHECK(sum == 28);
  CHECK(on_caller == 0);
}

TEST_CASE(
    "FutureExec's destruction settles every future: running calls finish, queued "
    "ones complete with shutting_down",
    "[executor]") {
  std::vector<std::future<int>> pending;
  std::atomic<int> finished{0};
  {
    appkeys::FutureExec executor(2);
    for (int i = 0; i < 20; ++i) {
      pending.push_back(executor.run([&finished, i] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++finished;
        return Result<int>(i);
      }));
    }
  }  // the last copy goes: the destructor waits for the running calls and joins
  // How many calls had started is up to the scheduler; every future is settled anyway.
  int values = 0;
  for (int i = 0; i < 20; ++i) {
    auto& future = pending[static_cast<std::size_t>(i)];
    REQUIRE(future.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    try {
      const int value = future.get();  // outside CHECK, which would catch the AppError
      CHECK(value == i);
      ++values;
    } catch (const AppError& error) {
      CHECK(error.code() == errc::shutting_down);
    }
  }
  CHECK(values == finished);
}

TEST_CASE("a third-party executor drives App and ApiKeyAuth unchanged", "[executor]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  CountingExec counting;
  auto app = fixture.make_app(counting);
  auto user = app.log_in(Credentials::email_password(email, password));
  REQUIRE(user);
  auto keys = app.api_keys(*user);
  REQUIRE(keys.create("counted"));
  REQUIRE(keys.fetch_all());
  CHECK(*counting.runs == 3);
}

}  // namespace executor_test
