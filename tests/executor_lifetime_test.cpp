// Executors at their edges: a pool released by one of its own jobs, an operation that
// throws, and FutureExec destroyed with calls still queued (issue 10, item 7).
//
// Catch2 assertions are not thread-safe: jobs on pool threads only record what they
// saw, and the test thread checks afterwards. Every wait is bounded (60 s) so a call
// that is never settled fails the test instead of hanging it.
#include <appkeys/appkeys.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace executor_lifetime_test {

using appkeys::AppError;
using appkeys::CallbackExec;
using appkeys::errc;
using appkeys::FutureExec;
using appkeys::Result;
using appkeys::ThreadPool;

namespace {

constexpr auto bound = std::chrono::seconds(60);

/// Text an exception carries that must never reach an AppError: it stands for a
/// token or key value that a throwing component might quote.
constexpr const char* secret_text = "secret-token-4f1d";

template <class T>
bool ready(const std::future<T>& future) {
  return future.wait_for(bound) == std::future_status::ready;
}

/// The code of the AppError a settled future throws, or nullopt when it holds a value.
template <class T>
std::optional<errc> error_code_of(std::future<T>& future) {
  try {
    future.get();
    return std::nullopt;
  } catch (const AppError& error) {
    return error.value();
  }
}

}  // namespace

TEST_CASE("ThreadPool: its last owner released inside one of its own jobs", "[executor][pool]") {
  // Run under ASan: before the fix the worker went back to the freed pool's queue.
  auto pool = std::make_shared<ThreadPool>(1);
  std::promise<void> owner_dropped;
  auto owner_dropped_future = owner_dropped.get_future();
  std::promise<void> queued_job_ran;
  auto queued_job_ran_future = queued_job_ran.get_future();

  pool->post([last = pool, dropped = std::move(owner_dropped_future)]() mutable {
    dropped.wait();
    last.reset();  // the pool's destructor runs here, on its own worker
  });
  pool->post([ran = std::move(queued_job_ran)]() mutable { ran.set_value(); });
  pool.reset();
  owner_dropped.set_value();

  // The job queued behind still runs: a pool runs every job it accepted.
  CHECK(ready(queued_job_ran_future));
}

TEST_CASE("FutureExec: its last copy released inside one of its own calls", "[executor][future]") {
  std::optional<FutureExec> executor{std::in_place, 2};
  std::promise<void> owner_dropped;
  auto owner_dropped_future = owner_dropped.get_future().share();

  auto releasing =
      executor->run([last = std::optional<FutureExec>(*executor), owner_dropped_future]() mutable {
        owner_dropped_future.wait();
        last.reset();  // the pool's destructor runs here, on its own worker
        return Result<int>(7);
      });
  executor.reset();
  owner_dropped.set_value();

  REQUIRE(ready(releasing));
  CHECK(releasing.get() == 7);
}

TEST_CASE(
    "FutureExec: destroyed with calls queued, running calls finish and the others "
    "complete with shutting_down",
    "[executor][future]") {
  // One thread: the first call holds it, the rest wait in the queue. The first call
  // holds the last copy of the executor and releases it, so the destruction certainly
  // begins while the others are still queued.
  constexpr int queued_count = 16;
  std::optional<FutureExec> executor{std::in_place, 1};
  std::promise<void> owner_dropped;
  auto owner_dropped_future = owner_dropped.get_future().share();
  std::atomic<int> queued_ran{0};

  auto running =
      executor->run([last = std::optional<FutureExec>(*executor), owner_dropped_future]() mutable {
        owner_dropped_future.wait();
        last.reset();
        return Result<std::string>("finished");
      });
  std::vector<std::future<int>> queued;
  for (int i = 0; i < queued_count; ++i) {
    queued.push_back(executor->run([&queued_ran, i] {
      ++queued_ran;
      return Result<int>(i);
    }));
  }
  std::future<void> queued_void = executor->run([&queued_ran] {
    ++queued_ran;
    return Result<void>();
  });
  executor.reset();
  owner_dropped.set_value();

  REQUIRE(ready(running));
  CHECK(running.get() == "finished");
  for (auto& future : queued) {
    REQUIRE(ready(future));
    CHECK(error_code_of(future) == errc::shutting_down);
  }
  REQUIRE(ready(queued_void));
  CHECK(error_code_of(queued_void) == errc::shutting_down);
  CHECK(queued_ran == 0);
}

TEST_CASE("FutureExec: an operation that throws settles its future with an AppError",
          "[executor][future]") {
  FutureExec executor(1);

  SECTION("a std::exception: its text is not kept") {
    auto future = executor.run([]() -> Result<int> { throw std::runtime_error(secret_text); });
    REQUIRE(ready(future));
    try {
      future.get();
      FAIL("the future held a value");
    } catch (const AppError& error) {
      CHECK(error.code() == errc::transport);
      CHECK(std::string(error.what()).find(secret_text) == std::string::npos);
      CHECK(error.message().find(secret_text) == std::string::npos);
    }
  }
  SECTION("anything else thrown") {
    auto future = executor.run([]() -> Result<void> { throw 42; });
    REQUIRE(ready(future));
    CHECK(error_code_of(future) == errc::transport);
  }
  SECTION("an AppError thrown is delivered as it is") {
    auto future = executor.run(
        []() -> Result<int> { throw AppError(errc::invalid_argument, "thrown on purpose"); });
    REQUIRE(ready(future));
    CHECK(error_code_of(future) == errc::invalid_argument);
  }
  // The pool survives: the next call runs.
  auto next = executor.run([] { return Result<int>(5); });
  REQUIRE(ready(next));
  CHECK(next.get() == 5);
}

TEST_CASE("CallbackExec: an operation that throws reaches the handler once, as an error",
          "[callback][executor]") {
  ThreadPool pool(1);
  auto run_case = [](const CallbackExec& executor) {
    std::atomic<int> calls{0};
    std::promise<Result<int>> outcome;
    auto outcome_future = outcome.get_future();
    executor.run([]() -> Result<int> { throw std::runtime_error(secret_text); })
        .then([&calls, &outcome](Result<int> result) {
          if (++calls == 1) outcome.set_value(std::move(result));
        });
    REQUIRE(ready(outcome_future));
    Result<int> result = outcome_future.get();
    REQUIRE_FALSE(result);
    CHECK(result.error().code() == errc::transport);
    CHECK(result.error().message().find(secret_text) == std::string::npos);

    // Something else thrown, and the executor carries on.
    std::promise<Result<int>> other;
    auto other_future = other.get_future();
    executor.run([]() -> Result<int> { throw 42; }).then([&other](Result<int> result) {
      other.set_value(std::move(result));
    });
    REQUIRE(ready(other_future));
    CHECK(other_future.get().error().code() == errc::transport);
    CHECK(calls == 1);
  };

  SECTION("inline") { run_case(CallbackExec{}); }
  SECTION("on a pool") { run_case(CallbackExec{pool}); }
  SECTION("on a pool, completed on another") {
    ThreadPool completions(1);
    run_case(CallbackExec{pool, completions});
  }
}

}  // namespace executor_lifetime_test
