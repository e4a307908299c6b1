// appkeys — the blocking driver: runs a step machine to its end on the calling thread
// with Transport::send. The only place in the library that sleeps (retry backoff).
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/detail/steps/exchange.hpp>
#include <appkeys/detail/steps/flight.hpp>
#include <appkeys/detail/transport_call.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <utility>

namespace appkeys::detail {

/// Blocks until `flight` lands (a call on another thread leads it); its outcome. A
/// template, as the next one, only so that it is compiled where the blocking driver is
/// (its types dependent for the same reason: see detail/dependent.hpp).
template <class V = void>
Result<void> wait_for_flight(const std::shared_ptr<dependent_t<V, steps::Flight>>& flight) {
  struct Landing {
    std::mutex mutex;
    std::condition_variable landed;
    Slot<dependent_t<V, Result<void>>> outcome;
  };
  auto landing = share_new<Landing>();
  if (auto now = flight->join([landing](Result<void> outcome) {
        std::lock_guard lock(landing->mutex);
        landing->outcome.emplace(std::move(outcome));
        landing->landed.notify_all();
      })) {
    return std::move(*now);
  }
  std::unique_lock lock(landing->mutex);
  landing->landed.wait(lock, [&] { return landing->outcome.has_value(); });
  return std::move(*landing->outcome);
}

/// Sleeps for `delay`, or less if `stop` is requested meanwhile; whether it was. A plain
/// condition variable woken by a stop callback: std::condition_variable_any's
/// stop_token wait compiles to several times more code.
template <class = void>
bool sleep_unless_stopped(std::chrono::milliseconds delay, const std::stop_token& stop) {
  std::mutex mutex;
  std::condition_variable woken;
  std::stop_callback on_stop(stop, [&] {
    std::lock_guard lock(mutex);
    woken.notify_all();
  });
  std::unique_lock lock(mutex);
  woken.wait_for(lock, delay, [&] { return stop.stop_requested(); });
  return stop.stop_requested();
}

inline AppError cancelled_error() { return AppError(errc::cancelled, "the call was cancelled"); }

/// Runs `machine` to its end: each `send` through `transport.send`, each `wait` as a
/// sleep, each `join` as a wait on the flight. `stop` is checked before every request
/// and after every sleep (a request in progress is not interrupted): once it is
/// requested the call ends with errc::cancelled.
template <steps::StepMachine Machine, Transport T>
Result<typename Machine::value_type> drive(Machine& machine, T& transport,
                                           std::stop_token stop = {}) {
  steps::Action action = machine.step(steps::Start{steps::WallClock::now()});
  for (;;) {
    switch (action.kind) {
      case steps::Action::Kind::send: {
        if (stop.stop_requested()) return cancelled_error();
        Result<HttpResponse> outcome = guarded_send(transport, action.request);
        steps::wipe_request(action.request);
        action = machine.step(std::move(outcome));
        break;
      }
      case steps::Action::Kind::wait:
        if (sleep_unless_stopped(action.delay, stop)) return cancelled_error();
        action = machine.step(steps::TimerFired{});
        break;
      case steps::Action::Kind::join:
        action = machine.step(steps::Joined{wait_for_flight<T>(action.flight)});
        break;
      case steps::Action::Kind::done:
        return machine.take_result();
    }
  }
}

}  // namespace appkeys::detail
