// appkeys — timers for the completion driver's retry backoff: the transport's own
// (`t.async_after(delay, fn)`, when it has one) or one small thread the library owns,
// shared by every call of every App. Never a sleeping thread per call.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/unique_function.hpp>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace appkeys::detail {

/// The optional AsyncTransport hook: `t.async_after(delay, fn)` calls `fn()` once, on
/// the transport's thread, after `delay` (or at once, from its destructor, if it is
/// destroyed first). A transport with an event loop can offer it so backoff needs no
/// thread of the library's.
template <class T>
concept HasAsyncAfter = requires(T& t, std::chrono::milliseconds delay, UniqueFunction<void()> fn) {
  t.async_after(delay, std::move(fn));
};

/// One thread running timed jobs in deadline order, started on first use.
///
/// Thread safety: after() may be called from any thread, including from a job.
///
/// A template (used as TimerThread), its members' types named through dependent_t, only
/// so that a program that never schedules a retry does not compile it: see
/// detail/dependent.hpp.
template <class V = void>
class BasicTimerThread {
 public:
  /// The process-wide instance.
  static BasicTimerThread& shared() {
    static BasicTimerThread instance;
    return instance;
  }

  BasicTimerThread() = default;
  BasicTimerThread(const BasicTimerThread&) = delete;
  BasicTimerThread& operator=(const BasicTimerThread&) = delete;

  /// Jobs still waiting are destroyed without running (at exit: no call waits on them
  /// any more; the driver settles a call whose state is destroyed).
  ~BasicTimerThread() {
    Jobs dropped;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      dropped.swap(jobs_);
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  /// Runs `job` on the timer thread once `delay` has passed.
  void after(std::chrono::milliseconds delay, UniqueFunction<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // at exit: dropped, as above
      jobs_.emplace(Clock::now() + delay, std::move(job));
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    wake_.notify_all();
  }

 private:
  using Clock = std::chrono::steady_clock;
  using Deadline = Clock::time_point;
  using Jobs = std::multimap<dependent_t<V, Deadline>, UniqueFunction<void()>>;

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (jobs_.empty()) {
        wake_.wait(lock);
        continue;
      }
      auto first = jobs_.begin();
      if (first->first > Clock::now()) {
        wake_.wait_until(lock, first->first);
        continue;
      }
      UniqueFunction<void()> job = std::move(first->second);
      jobs_.erase(first);
      lock.unlock();
      job();  // the driver's jobs do not throw
      job = {};
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  Jobs jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

using TimerThread = BasicTimerThread<>;

/// Calls `job` once `delay` has passed: on the transport's timer if it has one.
template <class T>
void schedule_after(T& transport, std::chrono::milliseconds delay, UniqueFunction<void()> job) {
  if constexpr (HasAsyncAfter<T>) {
    transport.async_after(delay, std::move(job));
  } else {
    dependent_t<T, TimerThread>::shared().after(delay, std::move(job));
  }
}

}  // namespace appkeys::detail
