// The behaviour suite through CoroExec and CallbackExec.
//
// The suite calls the API in three styles: blocking (`ApiKey k = keys.create("x")`, the
// default SyncExec), Result-returning (`make_app(NoThrowExec{})`) and future-returning
// (`make_app(FutureExec{4})`). An ExecutorFixture keeps every line of it as written:
// make_app(R) builds an App whose executor is `Blocking<E, R>`, an adapter with R's
// result types that drives each call through E's own machinery (Task frames and
// sync_wait for CoroExec, Deferred and handlers for CallbackExec) and waits for it.
// So the whole suite checks that values, errors, logged-out users and concurrent
// calls cross each executor intact.
//
// Which combinations run, and why: the executor is orthogonal to the transport, and
// each extra fixture re-instantiates the whole suite (compile time on 2 cores), so each
// executor runs over the in-memory fake with its calls on a pool (threads, hops and
// frame lifetimes, under the sanitizers too) and over one real HTTP transport with its
// calls inline (the zero-thread default, and blocking network I/O inside a coroutine or
// a then()). The RunLoop set-ups are covered by coro_exec_test.cpp and
// callback_exec_test.cpp.
#pragma once

#include "support/detached.hpp"
#include "support/fixtures.hpp"
#include "support/http_fixtures_curl.hpp"
#include "support/http_fixtures_httplib.hpp"

#include <appkeys/appkeys.hpp>

#include <exception>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys_test {

// ---------------------------------------------------------------------------------
// Waiting for an executor's result: one adapter per executor

template <class E>
struct Await;

template <>
struct Await<appkeys::CoroExec> {
  template <class T>
  static appkeys::Result<T> wait(appkeys::Task<T> task) {
    return appkeys::sync_wait(std::move(task).as_result());
  }
  template <class T, class Handler>
  static void deliver(appkeys::Task<T> task, Handler handler) {
    start_detached(std::move(task), std::move(handler));
  }
};

template <>
struct Await<appkeys::CallbackExec> {
  template <class T>
  static appkeys::Result<T> wait(appkeys::Deferred<T> call) {
    std::promise<appkeys::Result<T>> promise;
    auto future = promise.get_future();
    std::move(call).then([promise = std::move(promise)](appkeys::Result<T> outcome) mutable {
      promise.set_value(std::move(outcome));
    });
    return future.get();
  }
  template <class T, class Handler>
  static void deliver(appkeys::Deferred<T> call, Handler handler) {
    std::move(call).then(std::move(handler));
  }
};

template <>
struct Await<appkeys::FutureExec> {
  template <class T>
  static appkeys::Result<T> wait(std::future<T> future) {
    try {
      if constexpr (std::is_void_v<T>) {
        future.get();
        return {};
      } else {
        return future.get();
      }
    } catch (const appkeys::AppError& error) {
      return error;
    }
  }
};

// ---------------------------------------------------------------------------------
// Blocking<E, Style>: E's machinery, Style's result types

template <class E, class Style>
struct Blocking;

/// As SyncExec: the value, or the AppError thrown.
template <class E>
struct Blocking<E, appkeys::SyncExec> {
  E executor;
  template <class T>
  using result = T;
  template <class F>
  result<appkeys::operation_value_t<F>> run(F&& operation) const {
    auto outcome = Await<E>::wait(executor.run(std::forward<F>(operation)));
    if constexpr (std::is_void_v<appkeys::operation_value_t<F>>) {
      outcome.value();
    } else {
      return std::move(outcome).value();
    }
  }
};

/// As NoThrowExec: the Result.
template <class E>
struct Blocking<E, appkeys::NoThrowExec> {
  E executor;
  template <class T>
  using result = appkeys::Result<T>;
  template <class F>
  result<appkeys::operation_value_t<F>> run(F&& operation) const {
    return Await<E>::wait(executor.run(std::forward<F>(operation)));
  }
};

/// As FutureExec: a std::future, fulfilled by E's completion (a detached coroutine or a
/// handler), so calls really are in flight together when E runs them on a pool.
template <class E>
struct Blocking<E, appkeys::FutureExec> {
  E executor;
  template <class T>
  using result = std::future<T>;
  template <class F>
  result<appkeys::operation_value_t<F>> run(F&& operation) const {
    using T = appkeys::operation_value_t<F>;
    std::promise<T> promise;
    auto future = promise.get_future();
    Await<E>::deliver(executor.run(std::forward<F>(operation)),
                      [promise = std::move(promise)](appkeys::Result<T> outcome) mutable {
                        appkeys::detail::settle(promise, std::move(outcome));
                      });
    return future;
  }
};

/// FutureExec as itself: its own futures.
template <>
struct Blocking<appkeys::FutureExec, appkeys::FutureExec> {
  appkeys::FutureExec executor;
  template <class T>
  using result = std::future<T>;
  template <class F>
  result<appkeys::operation_value_t<F>> run(F&& operation) const {
    return executor.run(std::forward<F>(operation));
  }
};

static_assert(appkeys::Executor<Blocking<appkeys::CoroExec, appkeys::SyncExec>>);
static_assert(appkeys::Executor<Blocking<appkeys::CoroExec, appkeys::NoThrowExec>>);
static_assert(appkeys::Executor<Blocking<appkeys::CoroExec, appkeys::FutureExec>>);
static_assert(appkeys::Executor<Blocking<appkeys::CallbackExec, appkeys::SyncExec>>);
static_assert(appkeys::Executor<Blocking<appkeys::CallbackExec, appkeys::NoThrowExec>>);
static_assert(appkeys::Executor<Blocking<appkeys::CallbackExec, appkeys::FutureExec>>);

// ---------------------------------------------------------------------------------
// How each fixture builds its executor

/// Calls run inline, on the test's thread: no threads at all.
template <class E>
struct Inline {
  static constexpr const char* name = "inline";
  E make() { return E{}; }
};

/// Calls run (and complete) on a pool of 4 threads the fixture owns.
template <class E>
struct OnPool {
  static constexpr const char* name = "pool";
  appkeys::ThreadPool pool{4};
  E make() { return E{pool}; }
};

/// A behaviour-suite fixture: Base's backend and transport, E's executor.
template <class Base, template <class> class Placement, class E>
struct ExecutorFixture : Base {
  using typename Base::transport_type;

  // Declared after Base's backend and server, so destroyed first: the pool finishes
  // every call in flight while the server is still up.
  Placement<E> placement;

  template <class Style = appkeys::SyncExec>
  appkeys::App<transport_type, Blocking<E, Style>> make_app(Style = Style{}) {
    return Base::make_app(Blocking<E, Style>{placement.make()});
  }
};

using CoroOnPoolFake = ExecutorFixture<FakeFixture, OnPool, appkeys::CoroExec>;
using CoroInlineHttplib = ExecutorFixture<HttplibFixture, Inline, appkeys::CoroExec>;
using CallbackOnPoolFake = ExecutorFixture<FakeFixture, OnPool, appkeys::CallbackExec>;
using CallbackInlineCurl = ExecutorFixture<CurlFixture, Inline, appkeys::CallbackExec>;

}  // namespace appkeys_test

#define APPKEYS_EXECUTOR_FIXTURES                                                                  \
  appkeys_test::CoroOnPoolFake, appkeys_test::CoroInlineHttplib, appkeys_test::CallbackOnPoolFake, \
      appkeys_test::CallbackInlineCurl
