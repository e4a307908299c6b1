// appkeys — FutureExec: calls run on a bounded pool of threads; the caller gets a future.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/exec/thread_pool.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <cstddef>
#include <exception>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys {
namespace detail {

/// Stores a call's outcome in its promise: the value, or the AppError as the exception.
template <class T>
void fulfil(std::promise<T>& promise, Result<T> outcome) {
  if (!outcome) {
    promise.set_exception(std::make_exception_ptr(std::move(outcome).error()));
  } else if constexpr (std::is_void_v<T>) {
    promise.set_value();
  } else {
    promise.set_value(std::move(outcome).value());
  }
}

}  // namespace detail

/// Runs each call on a bounded pool of threads that it owns; `result<T>` is
/// std::future<T>, whose get() returns the value or throws the AppError.
///
/// Over an AsyncTransport (CurlMultiTransport, testing::FakeAsyncTransport) no thread is
/// held while a call is in flight: the call is started at once and the transport's
/// thread fulfils the future when it completes (the pool stays idle). Do not wait on
/// such a future from inside a completion running on the transport's thread.
///
/// Copies share one pool, which lives until the last copy (App and each ApiKeyAuth
/// hold one) is destroyed; destruction waits for calls in flight.
///
/// Thread safety: run may be called from any number of threads at once.
class FutureExec {
 public:
  /// Threads in the pool when none is given.
  static constexpr std::size_t default_thread_count = 8;

  /// Starts a pool of `thread_count` threads (at least one).
  explicit FutureExec(std::size_t thread_count = default_thread_count)
      : pool_(std::make_shared<ThreadPool>(thread_count)) {}

  /// What an operation producing `T` returns: a future of it.
  template <class T>
  using result = std::future<T>;

  /// Queues `operation` (returning Result<T>) on the pool; the future holds its value,
  /// or its AppError as the exception.
  template <class F>
  result<operation_value_t<F>> run(F&& operation) const {
    using T = operation_value_t<F>;
    std::promise<T> promise;
    auto future = promise.get_future();
    if constexpr (detail::NonblockingOperation<std::decay_t<F>>) {
      // Over an AsyncTransport: no pool thread is held; the transport's thread fulfils
      // the promise when the call completes.
      std::decay_t<F> op(std::forward<F>(operation));
      op.start([promise = std::move(promise)](Result<T> outcome) mutable {
        detail::fulfil(promise, std::move(outcome));
      });
    } else {
      // The pool takes move-only jobs, so the promise moves in with the operation.
      pool_->post([promise = std::move(promise),
                   op = std::decay_t<F>(std::forward<F>(operation))]() mutable {
        detail::fulfil(promise, op());
      });
    }
    return future;
  }

  /// Threads in the shared pool.
  std::size_t thread_count() const noexcept { return pool_->thread_count(); }

 private:
  std::shared_ptr<ThreadPool> pool_;
};

static_assert(Executor<FutureExec>);

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
