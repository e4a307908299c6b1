// appkeys — FutureExec: calls run on a bounded pool of threads; the caller gets a future.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/exec/guarded.hpp>
#include <appkeys/exec/thread_pool.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace appkeys {
namespace detail {

/// Settles `promise` with `outcome`: its value, or its AppError as the exception.
template <class T>
void settle(std::promise<T>& promise, Result<T>&& outcome) {
  if (!outcome) {
    promise.set_exception(std::make_exception_ptr(std::move(outcome).error()));
  } else if constexpr (std::is_void_v<T>) {
    promise.set_value();
  } else {
    promise.set_value(std::move(outcome).value());
  }
}

/// What every copy of a FutureExec shares: its pool, started by the first call that
/// needs it (never, over an AsyncTransport), and the flag that tells queued calls the
/// pool is going away. A template over the pool type (used as FuturePool) only so that
/// it is compiled where a FutureExec is made: see detail/dependent.hpp.
template <class Pool>
struct BasicFuturePool {
  explicit BasicFuturePool(std::size_t count) : thread_count(std::max<std::size_t>(count, 1)) {}
  BasicFuturePool(const BasicFuturePool&) = delete;
  BasicFuturePool& operator=(const BasicFuturePool&) = delete;

  // Set before the pool's destructor drains the queue. Each job owns a share of it, as
  // a job may run after this object is gone (on a worker detached by the destructor).
  ~BasicFuturePool() {
    closing->store(true, std::memory_order_release);
    pool.reset();  // explicitly here: while `closing` is still set
  }

  /// The pool, started on first use.
  Pool& started() {
    std::call_once(start_once, [this] {
      pool = std::make_unique<Pool>(thread_count);
      started_flag.store(true, std::memory_order_release);
    });
    return *pool;
  }

  /// Threads running now: 0 until a call needed the pool.
  std::size_t running_threads() const noexcept {
    return started_flag.load(std::memory_order_acquire) ? thread_count : 0;
  }

  const std::size_t thread_count;
  using Flag = dependent_t<Pool, std::atomic<bool>>;
  std::shared_ptr<Flag> closing = share_new<Flag>(false);
  std::once_flag start_once;
  std::atomic<bool> started_flag{false};
  std::unique_ptr<Pool> pool;
};

using FuturePool = BasicFuturePool<ThreadPool>;

}  // namespace detail

/// Runs each call on a bounded pool of threads that it owns; `result<T>` is
/// std::future<T>, whose get() returns the value or throws the AppError.
///
/// Over an AsyncTransport (CurlMultiTransport, testing::FakeAsyncTransport) no thread is
/// held while a call is in flight: the call is started at once and the transport's
/// thread fulfils the future when it completes. The pool's threads start with the first
/// call that needs them, so over an AsyncTransport they never start. Do not wait on
/// such a future from inside a completion running on the transport's thread.
///
/// Copies share one pool, which lives until the last copy (App and each ApiKeyAuth
/// hold one) is destroyed. Keep a copy (the App) alive until the futures you care about
/// are ready. Destroying the last copy:
/// - lets the calls already running finish, and waits for them (unless it runs on one
///   of the pool's own threads: see ThreadPool);
/// - completes every call not yet started with AppError(errc::shutting_down) without
///   running it, so the destructor waits for the running calls only, not the queue.
///
/// An operation that throws settles its future with an AppError (errc::transport, or the
/// AppError it threw) instead of ending the program.
///
/// Thread safety: run may be called from any number of threads at once.
class FutureExec {
 public:
  /// Threads in the pool when none is given.
  static constexpr std::size_t default_thread_count = 8;

  /// A pool of `thread_count` threads (at least one), started by the first call that
  /// runs on it.
  template <class Pool = detail::FuturePool>  // a template: compiled only where used
  explicit FutureExec(std::size_t thread_count = default_thread_count)
      : shared_(detail::share_new<Pool>(thread_count)) {}

  /// What an operation producing `T` returns: a future of it.
  template <class T>
  using result = std::future<T>;

  /// Queues `operation` (returning Result<T>) on the pool; the future holds its value,
  /// or its AppError as the exception (errc::shutting_down if the executor was
  /// destroyed before the call started).
  template <class F>
  result<operation_value_t<F>> run(F&& operation) const {
    using T = operation_value_t<F>;
    std::promise<T> promise;
    auto future = promise.get_future();
    if constexpr (detail::NonblockingOperation<std::decay_t<F>>) {
      // Over an AsyncTransport: no pool thread is held; the transport's thread settles
      // the promise when the call completes.
      std::decay_t<F> op(std::forward<F>(operation));
      op.start([promise = std::move(promise)](Result<T> outcome) mutable {
        detail::settle(promise, std::move(outcome));
      });
    } else {
      // The pool takes move-only jobs, so the promise moves in with the operation.
      // (shared_ is reached as a dependent name so that the pool is compiled only here.)
      auto& shared = *detail::dependent<F>(shared_);
      shared.started().post([promise = std::move(promise), closing = shared.closing,
                             op = std::decay_t<F>(std::forward<F>(operation))]() mutable {
        if (closing->load(std::memory_order_acquire)) {
          detail::settle(promise, Result<T>(AppError(errc::shutting_down,
                                                     "the executor was destroyed before the "
                                                     "call started")));
          return;
        }
        detail::settle(promise, detail::run_guarded<T>(op));
      });
    }
    return future;
  }

  /// Threads in the shared pool once started (at least one). (This and
  /// running_thread_count() are templates only so that they and the pool are compiled
  /// where they are used: see detail/dependent.hpp.)
  template <class V = void>
  std::size_t thread_count() const noexcept {
    return detail::dependent<V>(shared_)->thread_count;
  }

  /// Threads the shared pool runs now: 0 until a call needed the pool (always 0 over an
  /// AsyncTransport), then thread_count().
  template <class V = void>
  std::size_t running_thread_count() const noexcept {
    return detail::dependent<V>(shared_)->running_threads();
  }

 private:
  std::shared_ptr<detail::FuturePool> shared_;
};

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
