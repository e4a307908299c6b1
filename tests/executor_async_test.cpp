// Each executor over an AsyncTransport: no thread held per call in flight, where
// handlers and coroutines resume, when_all, cancellation and shutdown through the
// public API. Counts and outcomes only; the 60 s bounds only stop a hang.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>

#include "support/catch_printers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace executor_async_test {

namespace {

using appkeys::ApiKey;
using appkeys::AppConfig;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::Result;
using appkeys::testing::FakeAsyncTransport;
using appkeys::testing::FakeBackend;

constexpr const char* kEmail = "exec-async@example.com";
constexpr const char* kPassword = "exec async password";
constexpr auto kHangBound = std::chrono::seconds(60);

AppConfig config() { return AppConfig{.app_id = "shop-abcde"}; }

template <class E>
using AsyncApp = appkeys::App<FakeAsyncTransport, E>;

/// Logs in through a blocking App sharing the same backend: the session works for
/// every App of the app id.
appkeys::User log_in(FakeBackend& backend) {
  appkeys::App<appkeys::testing::FakeTransport> app(config(),
                                                    appkeys::testing::FakeTransport(backend));
  return app.log_in(Credentials::email_password(kEmail, kPassword));
}

/// Waits (bounded) until `transport` holds `n` requests unanswered.
bool wait_queued(const FakeAsyncTransport& transport, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + kHangBound;
  while (transport.queued() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

class Counter {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangBound, [&] { return count_ >= n; });
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t count_ = 0;
};

}  // namespace

TEST_CASE("FutureExec over an AsyncTransport holds no pool thread per call", "[exec_async]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  AsyncApp<appkeys::FutureExec> app(config(), FakeAsyncTransport(backend), appkeys::FutureExec(1));
  auto keys = app.api_keys(user);
  auto key = keys.create("future").get();
  app.transport().pause();
  constexpr std::size_t calls = 1'000;
  std::vector<std::future<ApiKey>> futures;
  futures.reserve(calls);
  for (std::size_t i = 0; i < calls; ++i) futures.push_back(keys.fetch(key.id));
  // One pool thread, yet every call is in flight at once.
  CHECK(app.transport().queued() == calls);
  app.transport().resume();
  std::size_t right = 0;
  for (auto& future : futures) {
    REQUIRE(future.wait_for(kHangBound) == std::future_status::ready);
    if (future.get().name == "future") ++right;
  }
  CHECK(right == calls);
  CHECK_THROWS_AS(keys.fetch("0123456789abcdef01234567").get(), appkeys::AppError);
}

namespace {
/// Threads of this process now (Linux: one entry per thread in /proc/self/task).
std::size_t process_threads() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}
}  // namespace

TEST_CASE("FutureExec over an AsyncTransport never starts its pool", "[exec_async][lazy_pool]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  FakeAsyncTransport transport(backend);
  const std::size_t threads_before = process_threads();
  appkeys::FutureExec executor;  // the default: 8 threads, were it started
  CHECK(executor.thread_count() == appkeys::FutureExec::default_thread_count);
  AsyncApp<appkeys::FutureExec> app(config(), std::move(transport), executor);
  auto keys = app.api_keys(user);
  auto key = keys.create("lazy").get();
  std::vector<std::future<ApiKey>> futures;
  for (int i = 0; i < 100; ++i) futures.push_back(keys.fetch(key.id));
  for (auto& future : futures) {
    REQUIRE(future.wait_for(kHangBound) == std::future_status::ready);
    CHECK(future.get().name == "lazy");
  }
  CHECK(executor.running_thread_count() == 0);  // copies share the pool: the App's too
  // Not one pool thread appeared (a shared timer thread may have).
  CHECK(process_threads() < threads_before + appkeys::FutureExec::default_thread_count);
}

TEST_CASE("FutureExec over a blocking transport starts its pool with the first call",
          "[exec_async][lazy_pool]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  appkeys::FutureExec executor(3);
  CHECK(executor.running_thread_count() == 0);
  appkeys::App<appkeys::testing::FakeTransport, appkeys::FutureExec> app(
      config(), appkeys::testing::FakeTransport(backend), executor);
  CHECK(executor.running_thread_count() == 0);
  auto user = app.log_in(Credentials::email_password(kEmail, kPassword)).get();
  CHECK(user.is_logged_in());
  CHECK(executor.running_thread_count() == 3);
}

TEST_CASE("CallbackExec{} runs handlers on the transport's thread; they may start calls",
          "[exec_async]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  AsyncApp<appkeys::CallbackExec> app(config(), FakeAsyncTransport(backend));
  auto keys = app.api_keys(user);
  std::atomic<int> on_loop{0};
  std::atomic<int> ok{0};
  Counter done;
  constexpr int chains = 10;
  constexpr int depth = 20;
  auto& transport = app.transport();
  struct Chain {
    static void next(appkeys::ApiKeyAuth<FakeAsyncTransport, appkeys::CallbackExec> keys,
                     int remaining, FakeAsyncTransport& transport, std::atomic<int>& on_loop,
                     std::atomic<int>& ok, Counter& done) {
      keys.fetch_all().then([=, &transport, &on_loop, &ok, &done](auto all) {
        if (transport.in_loop_thread()) ++on_loop;
        if (all) ++ok;
        if (remaining > 1) {
          next(keys, remaining - 1, transport, on_loop, ok, done);
        } else {
          done.add();
        }
      });
    }
  };
  for (int i = 0; i < chains; ++i) Chain::next(keys, depth, transport, on_loop, ok, done);
  REQUIRE(done.wait_for(chains));
  CHECK(ok == chains * depth);
  CHECK(on_loop == chains * depth);
}

TEST_CASE("CallbackExec{loop, loop} brings handlers back to the loop's thread", "[exec_async]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  appkeys::RunLoop loop;
  AsyncApp<appkeys::CallbackExec> app(config(), FakeAsyncTransport(backend),
                                      appkeys::CallbackExec(loop, loop));
  const auto this_thread = std::this_thread::get_id();
  int handled = 0;
  bool on_this_thread = true;
  constexpr int calls = 50;
  for (int i = 0; i < calls; ++i) {
    app.api_keys(user).fetch_all().then([&](auto all) {
      on_this_thread = on_this_thread && std::this_thread::get_id() == this_thread;
      if (all && ++handled == calls) loop.finish();
    });
  }
  loop.run();
  CHECK(handled == calls);
  CHECK(on_this_thread);
}

TEST_CASE("when_all runs CoroExec calls concurrently over an AsyncTransport", "[exec_async]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  AsyncApp<appkeys::CoroExec> app(config(), FakeAsyncTransport(backend));
  auto keys = app.api_keys(user);
  auto key = appkeys::sync_wait(keys.create("coro"));
  constexpr std::size_t calls = 200;
  std::vector<appkeys::Task<ApiKey>> tasks;
  for (std::size_t i = 0; i < calls; ++i) tasks.push_back(keys.fetch(key.id));
  tasks.push_back(keys.fetch("0123456789abcdef01234567"));  // fails: not found
  app.transport().pause();
  std::thread releaser([&] {
    CHECK(wait_queued(app.transport(), calls + 1));  // all in flight at once
    app.transport().resume();
  });
  auto outcomes = appkeys::sync_wait(appkeys::when_all(std::move(tasks)));
  releaser.join();
  REQUIRE(outcomes.size() == calls + 1);
  std::size_t right = 0;
  for (std::size_t i = 0; i < calls; ++i) {
    if (outcomes[i] && outcomes[i]->name == "coro") ++right;
  }
  CHECK(right == calls);
  REQUIRE_FALSE(outcomes.back());
  CHECK(outcomes.back().error().value() == errc::api_key_not_found);
}

TEST_CASE("when_all: empty, void tasks, and inline tasks", "[exec_async]") {
  CHECK(appkeys::sync_wait(appkeys::when_all(std::vector<appkeys::Task<int>>{})).empty());
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  appkeys::App<appkeys::testing::FakeTransport, appkeys::CoroExec> app(
      config(), appkeys::testing::FakeTransport(backend));
  auto keys = app.api_keys(user);
  auto key = appkeys::sync_wait(keys.create("inline"));
  std::vector<appkeys::Task<void>> tasks;
  tasks.push_back(keys.disable(key.id));
  tasks.push_back(keys.enable(key.id));
  tasks.push_back(keys.remove("zz"));
  auto outcomes = appkeys::sync_wait(appkeys::when_all(std::move(tasks)));
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0].has_value());
  CHECK(outcomes[1].has_value());
  CHECK(outcomes[2].error().value() == errc::invalid_argument);
}

TEST_CASE("CoroExec{} resumes the coroutine on the transport's thread", "[exec_async]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  AsyncApp<appkeys::CoroExec> app(config(), FakeAsyncTransport(backend));
  auto keys = app.api_keys(user);
  auto body = [&]() -> appkeys::Task<bool> {
    auto all = co_await keys.fetch_all();
    co_return app.transport().in_loop_thread() && all.empty();
  };
  // An answer that arrives before the coroutine has suspended lets it go on where it is
  // (the awaiting thread, see StartAwaiter); hold the answer back until the request is
  // queued and the awaiting thread has had ample time to suspend, so the coroutine can
  // only continue on the transport's thread.
  app.transport().pause();
  std::jthread releaser([&app] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (app.transport().queued() == 0 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    app.transport().resume();
  });
  CHECK(appkeys::sync_wait(body()));
}

TEST_CASE("a stop token cancels a call started through CallbackExec", "[exec_async][cancel]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  std::optional<FakeAsyncTransport::Remote> remote;
  {
    AsyncApp<appkeys::CallbackExec> app(config(), FakeAsyncTransport(backend));
    remote.emplace(app.transport().remote());
    std::stop_source stop;
    app.transport().pause();
    std::promise<Result<std::vector<ApiKey>>> outcome;
    app.api_keys(user).with_stop_token(stop.get_token()).fetch_all().then([&](auto all) {
      outcome.set_value(std::move(all));
    });
    REQUIRE(wait_queued(app.transport(), 1));
    stop.request_stop();
    auto future = outcome.get_future();
    REQUIRE(future.wait_for(kHangBound) == std::future_status::ready);
    auto all = future.get();
    REQUIRE_FALSE(all);
    CHECK(all.error().value() == errc::cancelled);
    app.transport().resume();
  }
  // The App's destructor shut the transport down, the cancelled request with it.
  CHECK(remote->finished());
}

TEST_CASE("destroying the App settles every handler once, and none runs after",
          "[exec_async][shutdown]") {
  FakeBackend backend;
  backend.add_email_user(kEmail, kPassword);
  auto user = log_in(backend);
  std::atomic<int> handled{0};
  std::atomic<int> shutting_down{0};
  std::atomic<bool> destroyed{false};
  std::atomic<int> late{0};
  constexpr int calls = 500;
  std::vector<std::future<ApiKey>> futures;
  std::vector<FakeAsyncTransport::Remote> remotes;
  {
    AsyncApp<appkeys::CallbackExec> app(config(), FakeAsyncTransport(backend));
    AsyncApp<appkeys::FutureExec> future_app(config(), FakeAsyncTransport(backend),
                                             appkeys::FutureExec(1));
    remotes.push_back(app.transport().remote());
    remotes.push_back(future_app.transport().remote());
    app.transport().pause();
    future_app.transport().pause();
    for (int i = 0; i < calls; ++i) {
      app.api_keys(user).fetch_all().then([&](auto all) {
        if (destroyed) ++late;
        ++handled;
        if (!all && all.error().value() == errc::shutting_down) ++shutting_down;
      });
      futures.push_back(future_app.api_keys(user).fetch("0123456789abcdef01234567"));
    }
  }
  destroyed = true;
  CHECK(handled == calls);
  CHECK(shutting_down == calls);
  CHECK(late == 0);
  for (auto& future : futures) {
    REQUIRE(future.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    try {
      future.get();
      FAIL("a call of a destroyed App succeeded");
    } catch (const appkeys::AppError& error) {
      CHECK(error.code() == errc::shutting_down);
    }
  }
  // The requests still hold their transports; answered, the transports go.
  for (auto& remote : remotes) {
    remote.resume();
    const auto deadline = std::chrono::steady_clock::now() + kHangBound;
    while (!remote.finished() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    CHECK(remote.finished());
  }
  CHECK(handled == calls);
}

}  // namespace executor_async_test
