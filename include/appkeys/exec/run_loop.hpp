// appkeys — RunLoop: a queue of jobs that the thread calling run() works through.
#pragma once

#include <appkeys/detail/job_queue.hpp>
#include <appkeys/exec/job.hpp>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <type_traits>
#include <utility>

namespace appkeys {

/// A job queue drained by whichever thread calls run(), in the spirit of stdexec's
/// run_loop. It is how a call "comes back" to the caller's thread: give it to CoroExec
/// as the place to resume (`CoroExec{pool, loop}`) or to CallbackExec as the place to
/// complete, and drive it from the thread that owns the state the coroutines or
/// handlers touch (main(), a UI thread, a test):
///
///     appkeys::ThreadPool pool(4);
///     appkeys::RunLoop loop;
///     auto app = fixture.make_app(appkeys::CoroExec{pool, loop});
///     appkeys::sync_wait(work(app), loop);  // runs the loop until work() is done
///
/// or by hand: `loop.run()` returns once finish() has been called and every job posted
/// before it has run; the loop can then be run again. run_one() never blocks.
///
/// A job that throws propagates out of run() or run_one() (the queue stays intact);
/// the executors post only jobs that cannot throw. Jobs still queued when the loop is
/// destroyed are destroyed without running.
///
/// Thread safety: post and finish may be called from any thread; run and run_one from
/// one thread at a time.
///
/// Its members are templates only so that they are compiled where a loop is used, not
/// in every program that includes the client (see detail/dependent.hpp).
class RunLoop {
 public:
  RunLoop() = default;
  RunLoop(const RunLoop&) = delete;
  RunLoop& operator=(const RunLoop&) = delete;

  /// Queues `job` (any move-only `void()` callable) for the thread running the loop.
  template <class F>
    requires(std::is_invocable_r_v<void, std::decay_t<F>&>)
  void post(F&& job) {
    detail::UniqueFunction<void()> erased(std::forward<F>(job));
    // Notified under the lock: the moment the lock is released a run() may return and
    // its caller destroy the loop, so nothing here may touch it afterwards.
    std::lock_guard lock(mutex_);
    jobs_.push(std::move(erased));
    ready_.notify_one();
  }

  /// Runs jobs as they arrive, blocking while the queue is empty, until finish() has
  /// been called and the queue is drained; then clears the finish request and returns.
  template <class = void>
  void run() {
    for (;;) {
      detail::UniqueFunction<void()> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return finishing_ || !jobs_.empty(); });
        if (jobs_.empty()) {
          finishing_ = false;
          return;
        }
        job = jobs_.pop();
      }
      job();
    }
  }

  /// Runs the first queued job, if any; returns whether one ran. Never blocks.
  template <class = void>
  bool run_one() {
    detail::UniqueFunction<void()> job;
    {
      std::lock_guard lock(mutex_);
      if (jobs_.empty()) return false;
      job = jobs_.pop();
    }
    job();
    return true;
  }

  /// Asks run() to return once the queue is empty.
  template <class = void>
  void finish() {
    std::lock_guard lock(mutex_);  // notified under the lock, as in post()
    finishing_ = true;
    ready_.notify_all();
  }

  /// Jobs waiting to run.
  template <class = void>
  std::size_t pending() const {
    std::lock_guard lock(mutex_);
    return jobs_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  detail::JobQueue<detail::UniqueFunction<void()>> jobs_;
  bool finishing_ = false;
};

}  // namespace appkeys
