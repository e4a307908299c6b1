// appkeys — Flight: one request shared by every call that needs it at the same time
// (the location lookup, a user's access-token refresh).
//
// The first call to need it leads: it sends the request, stores what it learnt (the
// hostname, the new token) where every call reads it, and lands the flight with the
// outcome. Calls that need it meanwhile join: they hand the driver a continuation and
// hold no thread and no lock until the leader lands. Nothing here does I/O.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/detail/steps/flight_fwd.hpp>
#include <appkeys/detail/unique_function.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace appkeys::detail::steps {

/// Thread safety: every member may be called concurrently. Waiters run on the thread
/// that lands the flight, outside the lock, so a waiter may lead the next flight.
///
/// A template over its outcome type (used as Flight, whose Outcome is Result<void>) only
/// so that its members, and the containers they use, are compiled where a call is made,
/// not in every program that includes User: see detail/dependent.hpp.
template <class Outcome>
class BasicFlight {
 public:
  /// Called once, with the leader's outcome.
  using Waiter = UniqueFunction<void(Outcome)>;

  /// Whether the caller now leads (no flight was in the air); a leader must land().
  bool try_lead() {
    std::lock_guard lock(mutex_);
    if (in_air_) return false;
    in_air_ = true;
    return true;
  }

  /// Queues `waiter` for the flight in the air and returns nullopt; if the flight has
  /// landed meanwhile, returns its outcome instead and drops `waiter` unrun.
  std::optional<Outcome> join(Waiter waiter) {
    std::lock_guard lock(mutex_);
    if (!in_air_) return last_outcome_;
    waiters_.push_back(std::move(waiter));
    return std::nullopt;
  }

  /// Ends the flight: every waiter queued so far is called with `outcome`.
  void land(Outcome outcome) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mutex_);
      in_air_ = false;
      last_outcome_ = outcome;
      waiters.swap(waiters_);
    }
    for (auto& waiter : waiters) waiter(outcome);
  }

  /// Whether a leader is in the air (for tests).
  bool in_air() const {
    std::lock_guard lock(mutex_);
    return in_air_;
  }

 private:
  mutable std::mutex mutex_;
  bool in_air_ = false;
  Outcome last_outcome_{};
  std::vector<Waiter> waiters_;
};

/// The leader's duty to land, as an RAII handle: a leader that is destroyed without
/// landing (its call was cancelled, or shut down) lands with errc::cancelled, which
/// tells the waiters to try again rather than fail. A template over the flight type (used
/// as FlightLease) for the same reason as BasicFlight.
template <class FlightType>
class BasicFlightLease {
 public:
  BasicFlightLease() = default;
  explicit BasicFlightLease(std::shared_ptr<FlightType> flight) noexcept
      : flight_(std::move(flight)) {}
  BasicFlightLease(BasicFlightLease&& other) noexcept
      : flight_(std::exchange(other.flight_, nullptr)) {}
  BasicFlightLease& operator=(BasicFlightLease&& other) noexcept {
    if (this != &other) {
      abandon();
      flight_ = std::exchange(other.flight_, nullptr);
    }
    return *this;
  }
  BasicFlightLease(const BasicFlightLease&) = delete;
  BasicFlightLease& operator=(const BasicFlightLease&) = delete;
  ~BasicFlightLease() { abandon(); }

  explicit operator bool() const noexcept { return flight_ != nullptr; }

  void land(Result<void> outcome) {
    if (auto flight = std::exchange(flight_, nullptr)) flight->land(std::move(outcome));
  }

 private:
  void abandon() noexcept {
    if (!flight_) return;
#if APPKEYS_HAS_EXCEPTIONS
    try {
      land(AppError(errc::cancelled, "the shared request this call waited for was abandoned"));
    } catch (...) {
      // Out of memory while waking waiters: nothing better can be done from here.
    }
#else
    land(AppError(errc::cancelled, "the shared request this call waited for was abandoned"));
#endif
  }

  std::shared_ptr<FlightType> flight_;
};
using FlightLease = BasicFlightLease<Flight>;

/// Whether a Joined outcome means "the leader gave up: try again".
inline bool leader_abandoned(const Result<void>& outcome) noexcept {
  return !outcome && outcome.error().value() == errc::cancelled;
}

}  // namespace appkeys::detail::steps
