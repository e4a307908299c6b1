// appkeys — settling a call exactly once, whichever comes first: its outcome, its
// cancellation, or the shutdown of its App.
#pragma once

#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/unique_function.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
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
  std::atomic<dependent_t<X, std::thread::id>> completer_{};  // see detail/dependent.hpp
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
/// A template (its members' types named through dependent_t) only so that programs
/// without an AsyncTransport do not compile it: see detail/dependent.hpp.
///
/// Thread safety: every member may be called concurrently.
template <class V = void>
class BasicCallRegistry {
 public:
  /// Where a registered call sits: its slot.
  using Entry = std::size_t;
  using Target = dependent_t<V, ShutdownTarget>;

  /// Registers `call`; false once shut_down() has begun (the caller then settles the
  /// call with errc::shutting_down itself).
  bool add(std::weak_ptr<Target> call, Entry& entry) {
    std::lock_guard lock(mutex_);
    if (closing_) return false;
    if (free_.empty()) {
      // Room in free_ for every slot first (growing as a vector does), so that remove(),
      // which cannot fail, never has to allocate.
      if (free_.capacity() < calls_.size() + 1) {
        free_.reserve(std::max<std::size_t>(2 * calls_.size(), 16));
      }
      calls_.push_back(std::move(call));
      entry = calls_.size() - 1;
    } else {
      entry = free_.back();
      free_.pop_back();
      calls_[entry] = std::move(call);
    }
    ++size_;
    return true;
  }

  void remove(Entry entry) noexcept {
    std::lock_guard lock(mutex_);
    calls_[entry].reset();
    free_.push_back(entry);  // within the capacity add() reserved
    --size_;
  }

  /// Refuses new calls, then settles every call in flight (errc::shutting_down, unless
  /// its real outcome got there first) and returns once no completion is running
  /// except, possibly, the one this thread is inside.
  void shut_down() noexcept {
    std::vector<std::shared_ptr<Target>> live;
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      live.reserve(size_);
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
    return size_;
  }

 private:
  // The calls sit in slots of one vector, in place of a std::list's nodes: a removed
  // call's slot is reused by the next call, and <list> costs every program that
  // includes the client about 0.7% of nlohmann/json's compile time.
  mutable std::mutex mutex_;
  bool closing_ = false;
  std::vector<std::weak_ptr<Target>> calls_;  // empty slots: expired weak_ptrs
  std::vector<Entry> free_;                   // the empty slots of calls_
  std::size_t size_ = 0;                      // slots in use
};

using CallRegistry = BasicCallRegistry<>;

}  // namespace appkeys::detail
