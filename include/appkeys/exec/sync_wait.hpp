// appkeys — sync_wait: runs a Task<T> to completion from plain code (main(), tests),
// blocking the calling thread or running a RunLoop on it meanwhile.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/exec/run_loop.hpp>
#include <appkeys/exec/task.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <atomic>
#include <cassert>
#include <condition_variable>
#include <coroutine>
#include <exception>
#include <mutex>
#include <type_traits>
#include <utility>

namespace appkeys {
namespace detail {

/// How sync_wait learns that the task has completed.
class SyncWaitSignal {
 public:
  virtual void notify() noexcept = 0;

 protected:
  ~SyncWaitSignal() = default;
};

/// A coroutine that awaits one task and then notifies a SyncWaitSignal. It is the
/// continuation a task resumes, so sync_wait needs no thread of its own.
struct SyncWaitDriver {
  struct promise_type {
    SyncWaitSignal* signal = nullptr;
    std::exception_ptr exception;

    SyncWaitDriver get_return_object() noexcept {
      return SyncWaitDriver{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct Notify {
        bool await_ready() const noexcept { return false; }
        // The waiting thread may destroy this frame as soon as notify() returns;
        // nothing after it touches the frame.
        void await_suspend(std::coroutine_handle<promise_type> self) const noexcept {
          self.promise().signal->notify();
        }
        void await_resume() const noexcept {}
      };
      return Notify{};
    }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { exception = std::current_exception(); }
  };

  explicit SyncWaitDriver(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
  SyncWaitDriver(SyncWaitDriver&& other) noexcept : handle(std::exchange(other.handle, {})) {}
  SyncWaitDriver& operator=(SyncWaitDriver&&) = delete;
  ~SyncWaitDriver() {
    if (handle) handle.destroy();
  }

  std::coroutine_handle<promise_type> handle;
};

template <class T>
SyncWaitDriver sync_wait_body(Task<T>& task, Slot<Result<T>>& out) {
  auto outcome = co_await std::move(task).as_result();
  out.emplace(std::move(outcome));
}

/// Blocks a thread on a mutex and a condition variable.
class SyncWaitEvent final : public SyncWaitSignal {
 public:
  void notify() noexcept override {
    // Under the lock: once it is released wait() may return and the event go away.
    std::lock_guard lock(mutex_);
    done_ = true;
    ready_.notify_all();
  }
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  void wait() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return done_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  bool done_ = false;
};

/// Ends the RunLoop::run() that drives the task.
class SyncWaitLoopSignal final : public SyncWaitSignal {
 public:
  explicit SyncWaitLoopSignal(RunLoop& loop) noexcept : loop_(loop) {}
  void notify() noexcept override {
    done_.store(true, std::memory_order_release);
    loop_.finish();  // the last touch: the waiting thread may return right after it
  }
  /// Runs the loop until the task is done; a finish() someone else asked for does not
  /// end the wait early.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  void wait() {
    do {
      loop_.run();
    } while (!done_.load(std::memory_order_acquire));
  }

 private:
  RunLoop& loop_;
  std::atomic<bool> done_{false};
};

/// Runs `task` to completion, blocking as `wait` says; the outcome as a Result.
template <class T, class Wait>
Result<T> sync_wait_impl(Task<T>& task, SyncWaitSignal& signal, Wait wait) {
  assert(task.valid() && "sync_wait on an empty or moved-from Task");
  Slot<Result<T>> out;
  SyncWaitDriver driver = sync_wait_body(task, out);
  driver.handle.promise().signal = &signal;
  driver.handle.resume();  // starts the task on this thread
  wait();
  if (driver.handle.promise().exception) std::rethrow_exception(driver.handle.promise().exception);
  return std::move(*out);
}

}  // namespace detail

/// Runs `task` to completion on the calling thread and returns its value, or throws
/// its failure (an AppError for a failed call). For main(), tests and other code that
/// is not a coroutine. The task runs here; if its calls run on a pool, this thread
/// waits for them. A task whose calls resume on a RunLoop needs the overload below
/// (nobody else would run that loop).
template <class T>
T sync_wait(Task<T> task) {
  detail::SyncWaitEvent event;
  auto outcome = detail::sync_wait_impl(task, event, [&event] { event.wait(); });
  if constexpr (std::is_void_v<T>) {
    outcome.value();
  } else {
    return std::move(outcome).value();
  }
}

/// As sync_wait(Task), but the calling thread runs `loop` while it waits: the way to
/// drive a task whose calls resume on `loop` (`CoroExec{pool, loop}`), so every line of
/// the coroutine outside the blocking calls runs on this thread.
template <class T>
T sync_wait(Task<T> task, RunLoop& loop) {
  detail::SyncWaitLoopSignal signal(loop);
  auto outcome = detail::sync_wait_impl(task, signal, [&signal] { signal.wait(); });
  if constexpr (std::is_void_v<T>) {
    outcome.value();
  } else {
    return std::move(outcome).value();
  }
}

/// sync_wait(task.as_result()): as sync_wait(Task), but a failed call comes back as a
/// Result instead of being thrown.
template <class T>
Result<T> sync_wait(ResultAwaitable<T> awaitable) {
  Task<T> task = std::move(awaitable).release();
  detail::SyncWaitEvent event;
  return detail::sync_wait_impl(task, event, [&event] { event.wait(); });
}

template <class T>
Result<T> sync_wait(ResultAwaitable<T> awaitable, RunLoop& loop) {
  Task<T> task = std::move(awaitable).release();
  detail::SyncWaitLoopSignal signal(loop);
  return detail::sync_wait_impl(task, signal, [&signal] { signal.wait(); });
}

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
