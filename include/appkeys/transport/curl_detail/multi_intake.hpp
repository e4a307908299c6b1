// appkeys — the hand-off into CurlMultiTransport's event loop: the calls, timers and
// cancellations other threads queue for it, and the wake-up that tells it they are there.
#pragma once

#include <appkeys/detail/unique_function.hpp>
#include <appkeys/transport/curl_detail/multi_call.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <stop_token>
#include <utility>
#include <vector>

namespace appkeys::curl_detail {

/// A function the loop runs on its own thread once it is due (MultiLoop::after).
using Timer = detail::UniqueFunction<void()>;
/// Timers as queued: when each one is due, and what it runs.
using QueuedTimers = std::vector<std::pair<Clock::time_point, Timer>>;

/// Everything other threads hand to the loop thread, and the only state of the loop
/// they touch: new calls and timers under one mutex, with the flag that closes the
/// intake; under a second mutex, the calls whose stop was requested (taken alone: never
/// held while taking the first, nor while a stop callback is destroyed). Adding work
/// wakes the loop's curl_multi_poll.
///
/// Thread safety: submit, add_timer, request_cancel and close may be called from any
/// thread; take, take_cancels, defer_cancel, forget_cancel and clear_cancels only by the
/// loop thread; wake_through only before the loop thread starts.
class MultiIntake {
 public:
  MultiIntake() = default;
  MultiIntake(const MultiIntake&) = delete;
  MultiIntake& operator=(const MultiIntake&) = delete;

  /// The multi handle whose curl_multi_poll to wake; null (libcurl could not be set up)
  /// takes no timer and wakes nothing.
  void wake_through(CURLM* multi) noexcept { multi_ = multi; }

  /// Queues the call that is alone in `one` and, if `stop` can be requested, arms the
  /// call's stop callback with it. False when the intake is closed: the call then stays
  /// in `one`, unarmed.
  bool submit(MultiCallList& one, std::stop_token& stop) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    wake_locked();
    MultiCall& call = one.front();
    // Armed under mutex_, so the loop cannot take (and finish, and free) the call
    // before its callback exists. The callback takes cancel_mutex_ only, so it may
    // run right here, inline, if the stop is requested meanwhile.
    if (stop.stop_possible()) call.on_stop.emplace(std::move(stop), CancelRequest{this, &call});
    calls_.splice(calls_.end(), one);
    return true;
  }

  /// Queues `fn` to run at `when`; dropped (left in `fn`) when the intake is closed.
  void add_timer(Clock::time_point when, Timer&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || multi_ == nullptr) return;  // dropped, as on shutdown
    wake_locked();
    timers_.emplace_back(when, std::move(fn));
  }

  /// Called by a call's stop callback, on whichever thread requested the stop: queues the
  /// call to be abandoned by the loop. The call is alive: the loop destroys the callback
  /// (which waits for this function to return) before it frees the call, and then takes
  /// the call's address back out of the cancels (forget_cancel).
  void request_cancel(MultiCall* call) noexcept {
    call->cancel_requested.store(true, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(cancel_mutex_);
      cancels_.push_back(call);
    }
    curl_multi_wakeup(multi_);
  }

  /// Stops intake and wakes the loop to see it; false if it was stopped already.
  bool close() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    closed_ = true;
    // Under the lock: the loop cannot see closed_, finish and clean up the multi
    // handle before this wakeup is done with it.
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
    return true;
  }

  /// Loop thread: moves every queued call to the end of `calls` and swaps the queued
  /// timers with `timers` (empty); true once the intake is closed.
  bool take(MultiCallList& calls, QueuedTimers& timers) {
    std::lock_guard<std::mutex> lock(mutex_);
    calls.splice(calls.end(), calls_);
    timers.swap(timers_);
    return closed_;
  }

  /// Loop thread: swaps the calls whose stop was requested with `cancels` (empty).
  void take_cancels(std::vector<MultiCall*>& cancels) {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    cancels.swap(cancels_);
  }

  /// Loop thread: puts a taken cancel back for a later round.
  void defer_cancel(MultiCall* call) {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    cancels_.push_back(call);
  }

  /// Loop thread: takes `call` out of the cancels not yet taken, before it is freed.
  void forget_cancel(MultiCall* call) {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    cancels_.erase(std::remove(cancels_.begin(), cancels_.end(), call), cancels_.end());
  }

  /// Loop thread, once every stop callback is gone (nothing adds to the list any more):
  /// drops the cancels not yet taken.
  void clear_cancels() {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    cancels_.clear();
  }

 private:
  /// Called with mutex_ held, before adding work: wakes the loop only when the intake
  /// is empty, since otherwise it was woken already and has not yet emptied the intake
  /// (one wakeup per batch, not per call).
  void wake_locked() {
    if (calls_.empty() && timers_.empty()) curl_multi_wakeup(multi_);
  }

  CURLM* multi_ = nullptr;  // set before the loop starts; read-only after

  std::mutex mutex_;
  bool closed_ = false;  // guarded by mutex_, as are the two below
  MultiCallList calls_;
  QueuedTimers timers_;

  std::mutex cancel_mutex_;
  std::vector<MultiCall*> cancels_;  // guarded by cancel_mutex_
};

inline void CancelRequest::operator()() const noexcept { intake->request_cancel(call); }

}  // namespace appkeys::curl_detail
