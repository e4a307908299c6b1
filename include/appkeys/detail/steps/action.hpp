// appkeys — the vocabulary of the protocol's step machines (sans-I/O, as h11 and
// quinn-proto): what a machine asks its driver to do, and what the driver feeds back.
//
// A step machine is an object with
//
//     using value_type = X;
//     Action step(Event event);          // feed one event, get the next request
//     Result<X> take_result();           // once step() has returned Action::done()
//
// The first event is Start (carrying the wall-clock time, the only clock a machine
// sees); after that the driver feeds exactly the event the last Action asked for: the
// transport's outcome after `send`, TimerFired after `wait`, Joined after `join`. A
// machine never touches a socket, a thread or a clock of its own, and holds no lock
// across a step, so one machine runs unchanged under the blocking driver (drive.hpp)
// and the completion driver (async_drive.hpp), and unit tests can drive it by hand.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/flight_fwd.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys::detail::steps {

/// The clock whose time a machine is given (JWT `exp` claims are wall-clock times).
using WallClock = std::chrono::system_clock;

/// The first event: the machine may read `now` to decide whether a token has expired.
struct Start {
  WallClock::time_point now{};
};
/// The delay a `wait` action asked for has passed.
struct TimerFired {};
/// The single-flight request a `join` action waited for has ended with `outcome`.
/// errc::cancelled means its leader gave up (was cancelled or destroyed): try again.
struct Joined {
  Result<void> outcome{};
};

/// One input to a step machine: Start, TimerFired, Joined, or the transport's outcome
/// of a `send` (a Result<HttpResponse>); read it with get_if<E>() or holds_alternative<E>().
///
/// Not a std::variant: at -O0 a variant of these four emitted about 450 functions in
/// every program that makes calls (its visitation tables and special members for each
/// alternative), and the machines only ever ask "is it this one?".
///
/// The constructors are templates only so that they are compiled where a machine runs,
/// not in every program that includes the client (see detail/dependent.hpp).
class Event {
 public:
  template <class = void>
  Event(Start start) noexcept : kind_(Kind::start), start_(start) {}
  template <class = void>
  Event(Result<HttpResponse> response) : kind_(Kind::response) {
    response_.emplace(std::move(response));
  }
  template <class = void>
  Event(TimerFired) noexcept : kind_(Kind::timer_fired) {}
  template <class = void>
  Event(Joined joined) : kind_(Kind::joined), joined_(std::move(joined)) {}

  /// The event as an `E`, or nullptr if it is another kind.
  template <class E>
  E* get_if() noexcept {
    if constexpr (std::is_same_v<E, Start>) {
      return kind_ == Kind::start ? &start_ : nullptr;
    } else if constexpr (std::is_same_v<E, Result<HttpResponse>>) {
      return kind_ == Kind::response ? &*response_ : nullptr;
    } else if constexpr (std::is_same_v<E, TimerFired>) {
      return kind_ == Kind::timer_fired ? &timer_fired_ : nullptr;
    } else {
      static_assert(std::is_same_v<E, Joined>,
                    "an Event is Start, a response, TimerFired or Joined");
      return kind_ == Kind::joined ? &joined_ : nullptr;
    }
  }

 private:
  enum class Kind { start, response, timer_fired, joined };

  Kind kind_;
  Start start_{};
  Slot<Result<HttpResponse>> response_{};
  TimerFired timer_fired_{};
  Joined joined_{};
};

/// `event` as an `E`, or nullptr: std::get_if's spelling.
template <class E>
E* get_if(Event* event) noexcept {
  return event->get_if<E>();
}

/// Whether `event` is an `E`: std::holds_alternative's spelling.
template <class E>
bool holds_alternative(Event& event) noexcept {
  return event.get_if<E>() != nullptr;
}

/// What a step machine asks of its driver.
struct Action {
  enum class Kind {
    send,  ///< Send `request`; feed back its Result<HttpResponse>.
    wait,  ///< Wait `delay` (retry backoff); feed back TimerFired.
    join,  ///< Wait until `flight` lands (another call is doing this request); feed back Joined.
    done,  ///< Finished: take_result() holds the outcome.
  };

  Kind kind = Kind::done;
  HttpRequest request{};
  std::chrono::milliseconds delay{0};
  std::shared_ptr<Flight> flight{};

  // The factories are templates only so that they are compiled where a machine runs,
  // not in every program that includes the client (see detail/dependent.hpp).
  template <class = void>
  static Action send(HttpRequest request) {
    Action action;
    action.kind = Kind::send;
    action.request = std::move(request);
    return action;
  }
  template <class = void>
  static Action wait(std::chrono::milliseconds delay) {
    Action action;
    action.kind = Kind::wait;
    action.delay = delay;
    return action;
  }
  template <class = void>
  static Action join(std::shared_ptr<Flight> flight) {
    Action action;
    action.kind = Kind::join;
    action.flight = std::move(flight);
    return action;
  }
  template <class = void>
  static Action done() {
    return Action{};
  }

  bool is_done() const noexcept { return kind == Kind::done; }
};

/// The interface both drivers run (see the top of this file).
template <class M>
concept StepMachine = requires(M& machine, Event event) {
  typename M::value_type;
  { machine.step(std::move(event)) } -> std::same_as<Action>;
  { machine.take_result() } -> std::same_as<Result<typename M::value_type>>;
};

/// A machine that is finished before it starts: a call refused before any I/O.
template <class X>
class Ready {
 public:
  using value_type = X;
  explicit Ready(Result<X> outcome) : outcome_(std::move(outcome)) {}
  Action step(Event) { return Action::done(); }
  Result<X> take_result() { return std::move(outcome_); }

 private:
  Result<X> outcome_;
};

}  // namespace appkeys::detail::steps
