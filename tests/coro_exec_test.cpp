// Task<T>, sync_wait, RunLoop and CoroExec: laziness, frame lifetimes, errors, where
// each part of a call runs, and every ApiKeyAuth operation through `co_await`.
//
// Catch2 assertions are not thread-safe: code that runs on pool threads only records
// what it saw, and the test thread checks afterwards.
#include "support/detached.hpp"
#include "support/fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace coro_exec_test {

using appkeys::ApiKey;
using appkeys::AppError;
using appkeys::CoroExec;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::Result;
using appkeys::RunLoop;
using appkeys::sync_wait;
using appkeys::Task;
using appkeys::ThreadPool;
using appkeys::User;

namespace {

constexpr const char* email = "coro@example.com";
constexpr const char* password = "coro password";

Task<int> forty_two() { co_return 42; }
Task<void> nothing() { co_return; }
Task<int> doubled(Task<int> inner) { co_return 2 * co_await std::move(inner); }
Task<int> throws_runtime_error() {
  throw std::runtime_error("from the coroutine body");
  co_return 0;
}

/// An operation that counts its runs and notes the thread it ran on.
struct Probe {
  std::shared_ptr<std::atomic<int>> runs = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<std::thread::id>> thread =
      std::make_shared<std::atomic<std::thread::id>>();

  auto operation(int value) const {
    return [runs = runs, thread = thread, value] {
      ++*runs;
      thread->store(std::this_thread::get_id());
      return Result<int>(value);
    };
  }
};

bool is_not_found(const AppError& error) { return error.code() == errc::api_key_not_found; }

}  // namespace

TEST_CASE("Task: values, void, nesting and exceptions", "[coro][task]") {
  CHECK(sync_wait(forty_two()) == 42);
  sync_wait(nothing());
  CHECK(sync_wait(doubled(doubled(forty_two()))) == 168);
  CHECK_THROWS_WITH(sync_wait(throws_runtime_error()), "from the coroutine body");

  // as_result() turns only AppError into a Result; other exceptions still propagate.
  auto wrapped = [](Task<int> inner) -> Task<bool> {
    auto outcome = co_await std::move(inner).as_result();
    co_return outcome.has_value();
  };
  CHECK(sync_wait(wrapped(forty_two())));
  CHECK_THROWS_AS(sync_wait(wrapped(throws_runtime_error())), std::runtime_error);

  Result<int> direct = sync_wait(forty_two().as_result());
  REQUIRE(direct.has_value());
  CHECK(*direct == 42);
}

TEST_CASE("Task: lazy, move-only, and a task never awaited never runs and frees its frame",
          "[coro][task]") {
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<Task<int>>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<Task<int>>);

  auto resource = std::make_shared<int>(7);
  std::atomic<int> ran{0};
  {
    auto task = [](std::shared_ptr<int> held, std::atomic<int>& counter) -> Task<int> {
      ++counter;
      co_return *held;
    }(resource, ran);
    CHECK(resource.use_count() == 2);  // the frame holds its parameter
    CHECK(task.valid());
    CHECK_FALSE(task.done());
    Task<int> moved = std::move(task);
    CHECK_FALSE(task.valid());  // NOLINT(bugprone-use-after-move): checks the moved-from state
    CHECK(moved.valid());
  }
  CHECK(ran == 0);
  CHECK(resource.use_count() == 1);  // the frame is gone

  Task<int> later;
  CHECK_FALSE(later.valid());
  later = forty_two();
  CHECK(sync_wait(std::move(later)) == 42);
}

TEST_CASE("Task: a long chain of tasks that complete inline does not grow the stack",
          "[coro][task]") {
  // Without symmetric transfer each inline completion would nest a resume() inside the
  // previous one and this loop would overflow the stack.
  auto sum = []() -> Task<long> {
    long total = 0;
    for (int i = 0; i < 1'000'000; ++i) total += co_await forty_two();
    co_return total;
  };
  CHECK(sync_wait(sum()) == 42'000'000L);
}

TEST_CASE("RunLoop: FIFO, run_one, finish, and posts from other threads", "[coro][run_loop]") {
  RunLoop loop;
  std::vector<int> order;
  CHECK_FALSE(loop.run_one());
  loop.post([&] { order.push_back(1); });
  loop.post([&] { order.push_back(2); });
  CHECK(loop.pending() == 2);
  CHECK(loop.run_one());
  CHECK(order == std::vector<int>{1});

  // finish() before run(): run() drains what is queued and returns.
  loop.finish();
  loop.run();
  CHECK(order == std::vector<int>{1, 2});

  // The loop can run again; jobs from other threads run on this one.
  const auto here = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        loop.post([&] {
          if (std::this_thread::get_id() != here) ++elsewhere;
          order.push_back(0);
        });
      }
    });
  }
  for (auto& poster : posters) poster.join();
  loop.post([&] { loop.finish(); });
  loop.run();
  CHECK(order.size() == 202);
  CHECK(elsewhere == 0);
}

TEST_CASE("CoroExec satisfies Executor, and its calls are Tasks", "[coro][executor]") {
  STATIC_REQUIRE(appkeys::Executor<CoroExec>);
  STATIC_REQUIRE(std::is_same_v<CoroExec::result<ApiKey>, Task<ApiKey>>);
  STATIC_REQUIRE(std::is_same_v<CoroExec::result<void>, Task<void>>);
  using Keys = appkeys::ApiKeyAuth<appkeys::testing::FakeTransport, CoroExec>;
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<Keys&>().create("x")), Task<ApiKey>>);
}

TEST_CASE("CoroExec: a call that is never awaited sends nothing", "[coro][executor]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  ThreadPool pool(2);
  for (CoroExec executor : {CoroExec{}, CoroExec{pool}}) {
    auto app = fixture.make_app(executor);
    User user = sync_wait(app.log_in(Credentials::email_password(email, password)));
    const auto before = fixture.backend.request_count();
    {
      auto never = app.api_keys(user).create("never");
      auto never_either = app.log_in(Credentials::anonymous());
    }
    Probe probe;
    { auto unstarted = executor.run(probe.operation(1)); }
    CHECK(probe.runs->load() == 0);
    CHECK(fixture.backend.request_count() == before);
    CHECK(sync_wait(app.api_keys(user).fetch_all()).empty());
  }
}

TEST_CASE("CoroExec{}: the call runs inline, on the awaiting thread", "[coro][executor]") {
  Probe probe;
  CoroExec executor;
  CHECK(sync_wait(executor.run(probe.operation(5))) == 5);
  CHECK(probe.runs->load() == 1);
  CHECK(probe.thread->load() == std::this_thread::get_id());
}

TEST_CASE("CoroExec{pool}: the call runs on the pool, and the coroutine continues there",
          "[coro][executor]") {
  ThreadPool pool(2);
  CoroExec executor(pool);
  Probe probe;
  const auto test_thread = std::this_thread::get_id();
  std::thread::id continued_on;
  auto body = [&]() -> Task<int> {
    int value = co_await executor.run(probe.operation(9));
    continued_on = std::this_thread::get_id();
    co_return value;
  };
  CHECK(sync_wait(body()) == 9);
  CHECK(probe.runs->load() == 1);
  CHECK(probe.thread->load() != test_thread);
  CHECK(continued_on == probe.thread->load());
}

TEST_CASE(
    "CoroExec{pool, loop}: calls run on the pool, the coroutine resumes on the thread "
    "running the loop",
    "[coro][executor]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  ThreadPool pool(3);
  RunLoop loop;
  auto app = fixture.make_app(CoroExec{pool, loop});
  const auto test_thread = std::this_thread::get_id();
  std::vector<std::thread::id> resumed_on;  // only touched by the test thread

  auto scenario = [&]() -> Task<std::size_t> {
    User user = co_await app.log_in(Credentials::email_password(email, password));
    resumed_on.push_back(std::this_thread::get_id());
    auto keys = app.api_keys(user);
    ApiKey key = co_await keys.create("looped");
    resumed_on.push_back(std::this_thread::get_id());
    co_await keys.disable(key.id);
    resumed_on.push_back(std::this_thread::get_id());
    auto refused = co_await keys.create("looped").as_result();
    resumed_on.push_back(std::this_thread::get_id());
    CHECK(refused.error().code() == errc::api_key_already_exists);
    co_return (co_await keys.fetch_all()).size();
  };
  CHECK(sync_wait(scenario(), loop) == 1);
  CHECK(resumed_on.size() == 4);
  CHECK(std::all_of(resumed_on.begin(), resumed_on.end(),
                    [&](std::thread::id id) { return id == test_thread; }));

  // A failure also arrives on the loop's thread, thrown from sync_wait.
  CHECK_THROWS_AS(sync_wait(app.log_in(Credentials::email_password(email, "wrong")), loop),
                  AppError);
}

TEST_CASE("CoroExec: every ApiKeyAuth operation through co_await", "[coro][executor]") {
  appkeys_test::FakeFixture fixture;
  const std::string owner_id = fixture.backend.add_email_user(email, password);
  ThreadPool pool(2);
  // The same scenario inline and on a pool. On the pool the coroutine runs on worker
  // threads, so it records named outcomes and the test thread checks them after
  // sync_wait (which orders the writes before the reads).
  for (CoroExec executor : {CoroExec{}, CoroExec{pool}}) {
    auto app = fixture.make_app(executor);
    std::vector<std::pair<std::string, bool>> seen;
    auto scenario = [&]() -> Task<void> {
      User user = co_await app.log_in(Credentials::email_password(email, password));
      auto keys = app.api_keys(user);

      ApiKey created = co_await keys.create("coro-key");
      seen.emplace_back("create",
                        created.name == "coro-key" && !created.disabled && created.key.has_value());
      const std::string secret(created.key.value().reveal());
      const std::string hex = created.id.to_hex();

      ApiKey fetched = co_await keys.fetch(created.id);
      seen.emplace_back("fetch", fetched.id == created.id && !fetched.key.has_value());
      ApiKey by_hex = co_await keys.fetch(std::string_view(hex));
      seen.emplace_back("fetch by hex", by_hex.id == created.id);

      co_await keys.disable(created.id);
      seen.emplace_back("disable", (co_await keys.fetch(created.id)).disabled);
      auto refused = co_await app.log_in(Credentials::api_key(secret)).as_result();
      seen.emplace_back("disabled key refused",
                        !refused && refused.error().code() == errc::auth_error);

      co_await keys.enable(std::string_view(hex));
      seen.emplace_back("enable", !(co_await keys.fetch(created.id)).disabled);
      User service = co_await app.log_in(Credentials::api_key(secret));
      seen.emplace_back("log in with key",
                        service.id() == owner_id && service.provider() == "api-key");

      std::vector<ApiKey> all = co_await keys.fetch_all();
      seen.emplace_back("fetch_all", all.size() == 1 && all[0].id == created.id);

      co_await keys.remove(created.id);
      auto gone = co_await keys.fetch(created.id).as_result();
      seen.emplace_back("remove", !gone && is_not_found(gone.error()));
      bool threw_not_found = false;
      try {
        co_await keys.remove(created.id);
      } catch (const AppError& error) {
        threw_not_found = is_not_found(error);
      }
      seen.emplace_back("failure thrown as AppError", threw_not_found);

      auto bad_id = co_await keys.fetch(std::string_view("not-an-id")).as_result();
      seen.emplace_back("client-side check",
                        !bad_id && bad_id.error().code() == errc::invalid_argument);

      co_await app.log_out(service);
      co_await app.log_out(user);
      auto logged_out = co_await keys.fetch_all().as_result();
      seen.emplace_back("log out", !logged_out && logged_out.error().code() == errc::not_logged_in);
    };
    sync_wait(scenario());
    REQUIRE(seen.size() == 12);
    for (const auto& [what, ok] : seen) {
      INFO(what);
      CHECK(ok);
    }
  }
}

TEST_CASE("CoroExec: many tasks in flight at once on a pool, resumed on the caller's loop",
          "[coro][executor][concurrency]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  ThreadPool pool(4);
  RunLoop loop;
  auto app = fixture.make_app(CoroExec{pool, loop});
  User user = sync_wait(app.log_in(Credentials::email_password(email, password)), loop);
  auto keys = app.api_keys(user);

  constexpr std::size_t count = 16;
  const auto test_thread = std::this_thread::get_id();
  // Touched only by the handlers, which run on the loop's thread: this one.
  std::size_t finished = 0;
  std::set<appkeys::ObjectId> ids;
  int off_thread = 0;
  int failures = 0;
  for (std::size_t i = 0; i < count; ++i) {
    appkeys_test::start_detached(keys.create("many-" + std::to_string(i)), [&](Result<ApiKey> key) {
      if (std::this_thread::get_id() != test_thread) ++off_thread;
      if (key) {
        ids.insert(key->id);
      } else {
        ++failures;
      }
      if (++finished == count) loop.finish();
    });
  }
  loop.run();
  CHECK(finished == count);
  CHECK(failures == 0);
  CHECK(off_thread == 0);
  CHECK(ids.size() == count);
  CHECK(sync_wait(keys.fetch_all(), loop).size() == count);
}

TEST_CASE("CoroExec: tasks from many threads at once, each driven by sync_wait",
          "[coro][executor][concurrency]") {
  appkeys_test::FakeFixture fixture;
  fixture.backend.add_email_user(email, password);
  ThreadPool pool(3);
  auto app = fixture.make_app(CoroExec{pool});
  User user = sync_wait(app.log_in(Credentials::email_password(email, password)));
  auto keys = app.api_keys(user);
  const ApiKey key = sync_wait(keys.create("shared"));

  std::atomic<int> ok{0};
  std::atomic<int> not_found{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (sync_wait(keys.fetch(key.id)).id == key.id) ++ok;
        try {
          sync_wait(keys.fetch(std::string_view("0123456789abcdef01234567")));
        } catch (const AppError& error) {
          if (is_not_found(error)) ++not_found;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(ok == 60);
  CHECK(not_found == 60);
}

}  // namespace coro_exec_test
