// appkeys — FutureExec: calls run on a bounded pool of threads; the caller gets a future.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace appkeys {
namespace detail {

/// A fixed set of worker threads and a FIFO of tasks.
///
/// Destruction lets the queued and running tasks finish (so every future handed out
/// is satisfied), then joins the workers.
///
/// Thread safety: submit may be called from any thread, including a worker.
class ThreadPool {
 public:
  explicit ThreadPool(std::size_t thread_count) {
    thread_count = std::max<std::size_t>(thread_count, 1);
    workers_.reserve(thread_count);
    for (std::size_t i = 0; i < thread_count; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  ~ThreadPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers_) {
      // A task may hold the last handle to this pool; a thread cannot join itself.
      if (worker.get_id() == std::this_thread::get_id()) {
        worker.detach();
      } else {
        worker.join();
      }
    }
  }

  void submit(std::packaged_task<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

  std::size_t thread_count() const noexcept { return workers_.size(); }

 private:
  void work() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping and drained
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::packaged_task<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace detail

/// Runs each call on a bounded pool of threads that it owns; `result<T>` is
/// std::future<T>, whose get() returns the value or throws the AppError.
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
      : pool_(std::make_shared<detail::ThreadPool>(thread_count)) {}

  /// What an operation producing `T` returns: a future of it.
  template <class T>
  using result = std::future<T>;

  /// Queues `operation` (returning Result<T>) on the pool; the future holds its value,
  /// or its AppError as the exception.
  template <class F>
  result<operation_value_t<F>> run(F&& operation) const {
    using T = operation_value_t<F>;
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    pool_->submit(std::packaged_task<void()>(
        [promise, op = std::decay_t<F>(std::forward<F>(operation))]() mutable {
          auto outcome = op();
          if (!outcome) {
            promise->set_exception(std::make_exception_ptr(std::move(outcome).error()));
          } else if constexpr (std::is_void_v<T>) {
            promise->set_value();
          } else {
            promise->set_value(std::move(outcome).value());
          }
        }));
    return future;
  }

  /// Threads in the shared pool.
  std::size_t thread_count() const noexcept { return pool_->thread_count(); }

 private:
  std::shared_ptr<detail::ThreadPool> pool_;
};

static_assert(Executor<FutureExec>);

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
