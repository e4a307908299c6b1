// CallbackExec and Deferred: the handler is invoked exactly once, with the value or the
// error, on the thread the executor was told to use; a handler that throws does not
// harm the executor; every ApiKeyAuth operation through handlers.
//
// Catch2 assertions are not thread-safe: handlers that run on pool threads only record
// what they saw, and the test thread checks afterwards.
#include "support/fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace callback_exec_test {

using appkeys::ApiKey;
using appkeys::AppError;
using appkeys::CallbackExec;
using appkeys::Credentials;
using appkeys::Deferred;
using appkeys::errc;
using appkeys::Result;
using appkeys::RunLoop;
using appkeys::ThreadPool;
using appkeys::User;

namespace {

constexpr const char* email = "callback@example.com";
constexpr const char* password = "callback password";

/// Counts down to zero; the test thread waits for it with a timeout, so a handler
/// that is never invoked fails the test instead of hanging it.
class Countdown {
 public:
  explicit Countdown(int count) : count_(count) {}
  void arrive() {
    std::lock_guard lock(mutex_);
    --count_;
    zero_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return zero_.wait_for(lock, std::chrono::seconds(30), [this] { return count_ <= 0; });
  }
  int remaining() const {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable zero_;
  int count_;
};

/// Starts `call` and blocks until its handler has run; the Result it got.
template <class T>
Result<T> wait_for(Deferred<T> call) {
  std::optional<Result<T>> seen;
  Countdown done(1);
  std::move(call).then([&](Result<T> outcome) {
    seen.emplace(std::move(outcome));
    done.arrive();
  });
  REQUIRE(done.wait());
  return std::move(*seen);
}

/// An operation that counts its runs and notes the thread it ran on.
struct Probe {
  std::shared_ptr<std::atomic<int>> runs = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<std::thread::id>> thread =
      std::make_shared<std::atomic<std::thread::id>>();

  auto operation(Result<int> outcome) const {
    return [runs = runs, thread = thread, outcome] {
      ++*runs;
      thread->store(std::this_thread::get_id());
      return outcome;
    };
  }
};

}  // namespace

TEST_CASE("CallbackExec satisfies Executor, and its calls are Deferred", "[callback][executor]") {
  STATIC_REQUIRE(appkeys::Executor<CallbackExec>);
  STATIC_REQUIRE(std::is_same_v<CallbackExec::result<ApiKey>, Deferred<ApiKey>>);
  STATIC_REQUIRE(std::is_same_v<CallbackExec::result<void>, Deferred<void>>);
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<Deferred<int>>);
  using Keys = appkeys::ApiKeyAuth<appkeys::testing::FakeTransport, CallbackExec>;
  STATIC_REQUIRE(
      std::is_same_v<decltype(std::declval<Keys&>().fetch_all()), Deferred<std::vector<ApiKey>>>);
}

TEST_CASE("CallbackExec{}: the call and its handler run inline, before then() returns",
          "[callback][executor]") {
  CallbackExec executor;
  Probe probe;
  int calls = 0;
  std::thread::id handler_thread;
  executor.run(probe.operation(7)).then([&](Result<int> outcome) {
    ++calls;
    handler_thread = std::this_thread::get_id();
    CHECK(outcome.value() == 7);
  });
  CHECK(calls == 1);
  CHECK(probe.runs->load() == 1);
  CHECK(probe.thread->load() == std::this_thread::get_id());
  CHECK(handler_thread == std::this_thread::get_id());

  // An error is delivered the same way, once.
  executor.run(probe.operation(AppError(errc::timeout, "too slow"))).then([&](Result<int> r) {
    ++calls;
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::timeout);
  });
  CHECK(calls == 2);
}

TEST_CASE("CallbackExec: a Deferred that is never started never runs", "[callback][executor]") {
  ThreadPool pool(2);
  for (CallbackExec executor : {CallbackExec{}, CallbackExec{pool}}) {
    Probe probe;
    {
      auto unstarted = executor.run(probe.operation(1));
      CHECK(unstarted.valid());
      auto moved = std::move(unstarted);
      CHECK_FALSE(unstarted.valid());  // NOLINT(bugprone-use-after-move): checks it
    }
    CHECK(probe.runs->load() == 0);
  }
}

TEST_CASE("CallbackExec{pool}: the call and the handler run on a pool thread, once",
          "[callback][executor]") {
  ThreadPool pool(2);
  CallbackExec executor(pool);
  Probe probe;
  std::atomic<int> calls{0};
  std::atomic<std::thread::id> handler_thread;
  Countdown done(2);
  executor.run(probe.operation(3)).then([&](Result<int> outcome) {
    if (outcome && *outcome == 3) ++calls;
    handler_thread = std::this_thread::get_id();
    done.arrive();
  });
  executor.run(probe.operation(AppError(errc::transport, "down"))).then([&](Result<int> r) {
    if (!r && r.error().code() == errc::transport) ++calls;
    done.arrive();
  });
  REQUIRE(done.wait());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // room for a second call
  CHECK(calls == 2);
  CHECK(probe.runs->load() == 2);
  CHECK(probe.thread->load() != std::this_thread::get_id());
  CHECK(handler_thread.load() != std::this_thread::get_id());
}

TEST_CASE("CallbackExec{pool, loop}: handlers run on the thread running the loop",
          "[callback][executor]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  ThreadPool pool(2);
  RunLoop loop;
  auto app = fixture.make_app(CallbackExec{pool, loop});
  const auto test_thread = std::this_thread::get_id();

  // A chain of calls, each started from the previous one's handler: all handlers run
  // here, so they may use Catch2 and plain variables.
  std::vector<std::string> steps;
  app.log_in(Credentials::email_password(email, password)).then([&](Result<User> user) {
    CHECK(std::this_thread::get_id() == test_thread);
    REQUIRE(user);
    steps.push_back("logged in");
    auto keys = app.api_keys(*user);
    keys.create("via-loop").then([&, keys](Result<ApiKey> key) {
      CHECK(std::this_thread::get_id() == test_thread);
      REQUIRE(key);
      steps.push_back("created");
      keys.create("via-loop").then([&](Result<ApiKey> again) {
        CHECK(std::this_thread::get_id() == test_thread);
        CHECK(again.error().code() == errc::api_key_already_exists);
        steps.push_back("duplicate refused");
        loop.finish();
      });
    });
  });
  CHECK(steps.empty());  // nothing completes until the loop runs
  loop.run();
  CHECK(steps == std::vector<std::string>{"logged in", "created", "duplicate refused"});
}

TEST_CASE("CallbackExec: custom post functions are used once per call and per handler",
          "[callback][executor]") {
  ThreadPool pool(2);
  std::atomic<int> run_posts{0};
  std::atomic<int> complete_posts{0};
  CallbackExec executor(
      [&](std::function<void()> job) {
        ++run_posts;
        pool.post(std::move(job));
      },
      [&](std::function<void()> job) {
        ++complete_posts;
        pool.post(std::move(job));
      });
  Probe probe;
  Countdown done(5);
  std::atomic<int> sum{0};
  for (int i = 1; i <= 5; ++i) {
    executor.run(probe.operation(i)).then([&](Result<int> r) {
      sum += r.value();
      done.arrive();
    });
  }
  REQUIRE(done.wait());
  CHECK(sum == 15);
  CHECK(run_posts == 5);
  CHECK(complete_posts == 5);
}

TEST_CASE("CallbackExec: a move-only handler", "[callback][executor]") {
  CallbackExec executor;
  Probe probe;
  int seen = 0;
  auto owned = std::make_unique<int>(40);
  executor.run(probe.operation(2)).then([owned = std::move(owned), &seen](Result<int> r) {
    seen = *owned + r.value();
  });
  CHECK(seen == 42);
}

TEST_CASE("CallbackExec: a handler that throws goes to the hook, and the executor carries on",
          "[callback][executor]") {
  ThreadPool pool(1);
  std::mutex mutex;
  std::vector<std::string> reported;
  auto hook = [&](std::exception_ptr exception) {
    try {
      std::rethrow_exception(exception);
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex);
      reported.emplace_back(e.what());
    }
  };
  Probe probe;

  SECTION("inline: the exception does not escape then()") {
    auto executor = CallbackExec{}.on_handler_exception(hook);
    CHECK_NOTHROW(executor.run(probe.operation(1)).then([](Result<int>) {
      throw std::runtime_error("handler failed");
    }));
    int after = 0;
    executor.run(probe.operation(2)).then([&](Result<int> r) { after = r.value(); });
    CHECK(after == 2);
  }
  SECTION("on a pool: the worker survives and runs the next call") {
    auto executor = CallbackExec{pool}.on_handler_exception(hook);
    executor.run(probe.operation(1)).then([](Result<int>) {
      throw std::runtime_error("handler failed");
    });
    auto next = wait_for(executor.run(probe.operation(2)));
    CHECK(next.value() == 2);
  }
  std::lock_guard lock(mutex);
  CHECK(reported == std::vector<std::string>{"handler failed"});
}

TEST_CASE("CallbackExec: every ApiKeyAuth operation through handlers", "[callback][executor]") {
  appkeys_test::FakeFixture fixture;
  const std::string owner_id = fixture.backend.add_email_user(email, password);
  ThreadPool pool(2);
  // Inline and on a pool; wait_for() starts each call with a handler and waits for it.
  for (CallbackExec executor : {CallbackExec{}, CallbackExec{pool}}) {
    auto app = fixture.make_app(executor);
    User user = wait_for(app.log_in(Credentials::email_password(email, password))).value();
    auto keys = app.api_keys(user);

    ApiKey created = wait_for(keys.create("callback-key")).value();
    CHECK(created.name == "callback-key");
    REQUIRE(created.key.has_value());
    const std::string secret(created.key->reveal());
    const std::string hex = created.id.to_hex();

    CHECK(wait_for(keys.fetch(created.id)).value().id == created.id);
    CHECK_FALSE(wait_for(keys.fetch(std::string_view(hex))).value().key.has_value());

    REQUIRE(wait_for(keys.disable(created.id)).has_value());
    CHECK(wait_for(keys.fetch(created.id)).value().disabled);
    auto refused = wait_for(app.log_in(Credentials::api_key(secret)));
    CHECK(refused.error().code() == errc::auth_error);

    REQUIRE(wait_for(keys.enable(std::string_view(hex))).has_value());
    User service = wait_for(app.log_in(Credentials::api_key(secret))).value();
    CHECK(service.id() == owner_id);
    CHECK(service.provider() == "api-key");

    auto all = wait_for(keys.fetch_all()).value();
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == created.id);

    REQUIRE(wait_for(keys.remove(created.id)).has_value());
    CHECK(wait_for(keys.fetch(created.id)).error().code() == errc::api_key_not_found);
    CHECK(wait_for(keys.remove(std::string_view("zz"))).error().code() == errc::invalid_argument);

    REQUIRE(wait_for(app.log_out(service)).has_value());
    REQUIRE(wait_for(app.log_out(user)).has_value());
    CHECK(wait_for(keys.fetch_all()).error().code() == errc::not_logged_in);
  }
}

TEST_CASE("CallbackExec: calls started from many threads, each handler runs exactly once",
          "[callback][executor][concurrency]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  ThreadPool pool(4);
  auto app = fixture.make_app(CallbackExec{pool});
  User user = wait_for(app.log_in(Credentials::email_password(email, password))).value();
  auto keys = app.api_keys(user);
  const ApiKey key = wait_for(keys.create("shared")).value();

  constexpr int threads = 6;
  constexpr int per_thread = 20;
  // One counter per call: a handler invoked twice, or never, shows up in its slot.
  std::vector<std::atomic<int>> invoked(threads * per_thread);
  std::atomic<int> wrong{0};
  Countdown done(threads * per_thread);
  std::vector<std::thread> starters;
  for (int t = 0; t < threads; ++t) {
    starters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto& slot = invoked[static_cast<std::size_t>(t * per_thread + i)];
        auto check = [&slot, &wrong, &done](bool ok) {
          if (!ok) ++wrong;
          ++slot;
          done.arrive();
        };
        if (i % 2 == 0) {
          keys.fetch(key.id).then([check, &key](Result<ApiKey> r) { check(r && r->id == key.id); });
        } else {
          keys.fetch(std::string_view("0123456789abcdef01234567")).then([check](Result<ApiKey> r) {
            check(!r && r.error().code() == errc::api_key_not_found);
          });
        }
      }
    });
  }
  for (auto& starter : starters) starter.join();
  REQUIRE(done.wait());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // room for a second call
  CHECK(wrong == 0);
  int exactly_once = 0;
  for (auto& slot : invoked) exactly_once += slot.load() == 1 ? 1 : 0;
  CHECK(exactly_once == threads * per_thread);
  CHECK(done.remaining() == 0);
}

}  // namespace callback_exec_test
