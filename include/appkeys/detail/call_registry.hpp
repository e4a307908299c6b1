// appkeys — settling a call exactly once, whichever comes first: its outcome, its
// cancellation, or the shutdown of its App.
#pragma once

#include <appkeys/detail/unique_function.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace appkeys::detail {

/// A call's completion, called at most once. The first settle() wins; the others do
/// nothing. One atomic decides, so an outcome racing a cancellation cannot call twice.
///
/// Thread safety: every member may be called concurrently.
template <class X>
class SettleOnce {
 public:
  explicit SettleOnce(UniqueFunction<void(Result<X>)> completion) noexcept
      : completion_(std::move(completion)) {}
  SettleOnce(const SettleOnce&) = delete;
  SettleOnce& operator=(const SettleOnce&) = delete;

  /// Whether the completion has been called (or is being called).
  bool settled() const noexcept { return state_.load(std::memory_order_acquire) != pending; }

  /// Calls the completion with `outcome` unless it was called already; whether it was
  /// this call that did. The completion is destroyed before settle() is marked done,
  /// so whatever it owned (a handler, the last handle to an App) is gone by then.
  bool settle(Result<X> outcome) noexcept {
    int expected = pending;
    if (!state_.compare_exchange_strong(expected, completing, std::memory_order_acq_rel)) {
      return false;
    }
    completer_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    {
      auto completion = std::move(completion_);
      completion(std::move(outcome));  // executors' completions do not throw
    }
    state_.store(done, std::memory_order_release);
    state_.notify_all();
    return true;
  }

  /// Returns once the completion has returned, unless it is running on this very thread
  /// (a handler that destroys its own App).
  void wait_settled() const noexcept {
    if (state_.load(std::memory_order_acquire) == completing &&
        completer_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      return;
    }
    for (int state = state_.load(std::memory_order_acquire); state == completing;
         state = state_.load(std::memory_order_acquire)) {
      state_.wait(completing, std::memory_order_acquire);
    }
  }

 private:
  static constexpr int pending = 0;
  static constexpr int completing = 1;
  static constexpr int done = 2;

  std::atomic<int> state_{pending};
  std::atomic<std::thread::id> completer_{};
  UniqueFunction<void(Result<X>)> completion_;
};

/// A call in flight that its App can settle at shutdown.
class ShutdownTarget {
 public:
  /// Settles the call with errc::shutting_down, or waits until its completion, which
  /// another thread is running, has returned.
  virtual void shut_down() noexcept = 0;

 protected:
  ~ShutdownTarget() = default;
};

inline AppError shutting_down_error() {
  return AppError(errc::shutting_down, "the App was destroyed with the call in flight");
}

/// The calls in flight through one App's completion driver.
///
/// A template only so that programs without an AsyncTransport do not compile it.
///
/// Thread safety: every member may be called concurrently.
template <class = void>
class BasicCallRegistry {
 public:
  using Entry = std::list<std::weak_ptr<ShutdownTarget>>::iterator;

  /// Registers `call`; false once shut_down() has begun (the caller then settles the
  /// call with errc::shutting_down itself).
  bool add(std::weak_ptr<ShutdownTarget> call, Entry& entry) {
    std::lock_guard lock(mutex_);
    if (closing_) return false;
    entry = calls_.insert(calls_.end(), std::move(call));
    return true;
  }

  void remove(Entry entry) noexcept {
    std::lock_guard lock(mutex_);
    calls_.erase(entry);
  }

  /// Refuses new calls, then settles every call in flight (errc::shutting_down, unless
  /// its real outcome got there first) and returns once no completion is running
  /// except, possibly, the one this thread is inside.
  void shut_down() noexcept {
    std::vector<std::shared_ptr<ShutdownTarget>> live;
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      live.reserve(calls_.size());
      for (auto& call : calls_) {
        if (auto strong = call.lock()) live.push_back(std::move(strong));
      }
    }
    for (auto& call : live) call->shut_down();
  }

  bool closing() const {
    std::lock_guard lock(mutex_);
    return closing_;
  }

  /// Calls in flight (for tests).
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return calls_.size();
  }

 private:
  mutable std::mutex mutex_;
  bool closing_ = false;
  std::list<std::weak_ptr<ShutdownTarget>> calls_;
};

using CallRegistry = BasicCallRegistry<>;

}  // namespace appkeys::detail
