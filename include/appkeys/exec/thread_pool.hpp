// appkeys — ThreadPool: a fixed set of worker threads and a FIFO of jobs.
#pragma once

#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/job_queue.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/exec/job.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace appkeys {

/// A fixed set of worker threads taking jobs from one FIFO. FutureExec owns one; give
/// one to CoroExec or CallbackExec (`CoroExec{pool}`) to run blocking calls off the
/// caller's thread.
///
/// Destruction lets the queued and running jobs finish (so every call in flight
/// completes, and a job may still post more), then joins the workers. A job may hold
/// the last owner of its own pool: when the destructor runs on one of the workers, that
/// worker is detached instead of joined (a thread cannot join itself); it finishes its
/// job, runs whatever is still queued and exits, and the queue it uses lives until then.
/// A job that throws ends the program, as an exception leaving a std::thread does: the
/// executors post only jobs that cannot throw.
///
/// Thread safety: post may be called from any thread, including a worker.
///
/// A template over its job type (used as ThreadPool) only so that a program that never
/// starts a pool does not compile one; its members' types are named through
/// dependent_t for the same reason (see detail/dependent.hpp).
template <class Job>
class BasicThreadPool {
 public:
  /// Starts `thread_count` worker threads (at least one).
  explicit BasicThreadPool(std::size_t thread_count) : state_(detail::share_new<State>()) {
    thread_count = std::max<std::size_t>(thread_count, 1);
    workers_.reserve(thread_count);
    for (std::size_t i = 0; i < thread_count; ++i) {
      // Each worker owns a share of the queue, never a pointer to the pool: a detached
      // worker outlives the ThreadPool object.
      workers_.emplace_back([state = state_] { work(*state); });
    }
  }

  BasicThreadPool(const BasicThreadPool&) = delete;
  BasicThreadPool& operator=(const BasicThreadPool&) = delete;

  ~BasicThreadPool() {
    {
      std::lock_guard lock(state_->mutex);
      state_->stopping = true;
    }
    state_->ready.notify_all();
    for (auto& worker : workers_) {
      // A job may hold the last handle to this pool; a thread cannot join itself.
      if (worker.get_id() == std::this_thread::get_id()) {
        worker.detach();
      } else {
        worker.join();
      }
    }
  }

  /// Queues `job` (any move-only `void()` callable) for a worker.
  template <class F>
    requires(std::is_invocable_r_v<void, std::decay_t<F>&>)
  void post(F&& job) {
    Job erased(std::forward<F>(job));
    // Notified under the lock, as RunLoop does: once the lock is released the job may
    // run and its caller destroy the pool, so nothing here may touch it afterwards.
    std::lock_guard lock(state_->mutex);
    state_->jobs.push(std::move(erased));
    state_->ready.notify_one();
  }

  /// How many worker threads it runs.
  std::size_t thread_count() const noexcept { return workers_.size(); }

 private:
  /// What the workers share: owned jointly by the pool and every worker.
  struct State {
    detail::dependent_t<Job, std::mutex> mutex;
    detail::dependent_t<Job, std::condition_variable> ready;
    detail::JobQueue<Job> jobs;
    bool stopping = false;
  };

  static void work(State& state) {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(state.mutex);
        state.ready.wait(lock, [&state] { return state.stopping || !state.jobs.empty(); });
        if (state.jobs.empty()) return;  // stopping and drained
        job = state.jobs.pop();
      }
      job();
    }
  }

  std::shared_ptr<State> state_;
  std::vector<detail::dependent_t<Job, std::thread>> workers_;
};

/// The pool: its jobs are move-only `void()` callables.
using ThreadPool = BasicThreadPool<detail::UniqueFunction<void()>>;

}  // namespace appkeys
