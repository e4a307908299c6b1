// appkeys — the completion driver: runs a step machine over AsyncTransport::async_send,
// holding no thread while a request is in flight. Each event (a response, a timer, a
// landed flight) steps the machine on the thread that delivered it, then the driver
// returns: the call lives on the heap, kept alive by whoever will deliver its next event.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/call_registry.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/detail/steps/flight.hpp>
#include <appkeys/detail/timer.hpp>
#include <appkeys/detail/transport_call.hpp>
#include <appkeys/detail/unique_function.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#include <atomic>
#include <concepts>
#include <memory>
#include <stop_token>
#include <utility>

namespace appkeys::detail {

/// The optional AsyncTransport hook `t.in_loop_thread()`: true on the transport's own
/// event-loop thread, where a blocking call would wait for itself.
template <class T>
concept ReportsLoopThread = requires(const T& t) {
  { t.in_loop_thread() } -> std::convertible_to<bool>;
};

/// The optional AsyncTransport hook `t.shut_down()`: what the destructor does, done
/// early (see concepts.hpp).
template <class T>
concept ShutsDownEarly = requires(T& t) {
  t.shut_down();
};

/// Whether the calling thread is `transport`'s own loop thread (false for a transport
/// that does not say).
template <class T>
bool on_loop_thread(const T& transport) noexcept {
  if constexpr (ReportsLoopThread<T>) {
    return transport.in_loop_thread();
  } else {
    return false;
  }
}

/// Drops `owner`, the last reference to whatever owns `transport`, somewhere other than
/// the transport's own loop thread when it is on it: a transport's destructor joins that
/// thread, which cannot join itself. The shared timer thread drops it instead.
template <class T>
void release_off_loop(std::shared_ptr<void>& owner, const T& transport) {
  if constexpr (ReportsLoopThread<T>) {  // else no timer thread is compiled in, or started
    if (owner && owner.use_count() == 1 && on_loop_thread(transport)) {
      dependent_t<T, TimerThread>::shared().after(
          std::chrono::milliseconds(0), [last = std::move(owner)]() mutable { last.reset(); });
    }
  }
  owner.reset();
}

/// The optional AsyncTransport hook `t.async_send(r, c, stop)`: the transport abandons
/// the exchange (and frees its connection) once `stop` is requested.
template <class T>
concept CancellableTransport = requires(T& t, HttpRequest r, Completion c, std::stop_token s) {
  t.async_send(std::move(r), std::move(c), std::move(s));
};

/// Sends through `transport`, handing it `stop` when it can abandon an exchange.
template <AsyncTransport T>
void send_stoppable(T& transport, HttpRequest request, Completion completion,
                    const std::stop_token& stop) {
  if constexpr (CancellableTransport<T>) {
    if (stop.stop_possible()) {
      transport.async_send(std::move(request), std::move(completion), stop);
      return;
    }
  }
  transport.async_send(std::move(request), std::move(completion));
}

inline AppError cancelled_call_error() {
  return AppError(errc::cancelled, "the call was cancelled");
}

/// What a call's completion receives.
template <class X>
using CallCompletion = UniqueFunction<void(Result<X>)>;

/// One call in flight through the completion driver.
template <steps::StepMachine Machine, AsyncTransport T>
class AsyncRun final : public ShutdownTarget,
                       public std::enable_shared_from_this<AsyncRun<Machine, T>> {
 public:
  using value_type = typename Machine::value_type;

  AsyncRun(std::shared_ptr<void> keep_alive, T& transport, CallRegistry* registry, Machine machine,
           CallCompletion<value_type> completion)
      : keep_alive_(std::move(keep_alive)),
        transport_(&transport),
        registry_(registry),
        machine_(std::move(machine)),
        slot_(std::move(completion)) {}

  AsyncRun(const AsyncRun&) = delete;
  AsyncRun& operator=(const AsyncRun&) = delete;

  /// A call whose state is destroyed before it settled (a transport that dropped a
  /// completion, a timer dropped at exit) still completes, exactly once.
  ~AsyncRun() {
    on_stop_.reset();
    if (registered_) registry_->remove(entry_);
    machine_.reset();  // a flight this call led lands before the completion runs
    slot_.settle(shutting_down_error());
    release_off_loop(keep_alive_, *transport_);
  }

  /// Registers the call, arms its cancellation and takes the first step.
  static void start(std::shared_ptr<AsyncRun> self, std::stop_token stop) {
    if (self->registry_ != nullptr) {
      if (!self->registry_->add(self, self->entry_)) {
        self->slot_.settle(shutting_down_error());
        return;
      }
      self->registered_ = true;
    }
    if (stop.stop_possible()) {
      self->stop_ = stop;  // handed to a transport that can abandon its exchange
      // Runs at once if the stop was already requested.
      self->on_stop_.emplace(std::move(stop), Canceller{std::weak_ptr<AsyncRun>(self)});
    }
    self->advance(steps::Start{steps::WallClock::now()});
  }

  void shut_down() noexcept override {
    if (!slot_.settle(shutting_down_error())) slot_.wait_settled();
  }

 private:
  struct Canceller {
    std::weak_ptr<AsyncRun> run;
    void operator()() const noexcept {
      if (auto self = run.lock()) self->slot_.settle(cancelled_call_error());
    }
  };

  /// Feeds `event` to the machine and carries out what it asks, until it waits for
  /// something outside this thread. Events for one call never overlap: each is
  /// delivered by whoever the previous action handed the continuation to.
  void advance(steps::Event event) noexcept {
    for (;;) {
      // A stop request reaches the transport's own hook (which abandons the exchange)
      // and this call's Canceller in no set order. The transport's errc::cancelled must
      // never be fed to the machine: a flight this call leads would land with it, and
      // its waiters, which were not cancelled, would fail with it.
      if (stop_.stop_requested()) slot_.settle(cancelled_call_error());
      if (slot_.settled()) {
        // Cancelled or shut down: this late event is dropped, and so is the machine
        // (a flight it led lands, so that its waiters try again).
        machine_.reset();
        return;
      }
      steps::Action action = step(std::move(event));
      switch (action.kind) {
        case steps::Action::Kind::done:
          finish();
          return;
        case steps::Action::Kind::send:
          send(std::move(action.request));
          return;
        case steps::Action::Kind::wait:
          schedule_after(*transport_, action.delay,
                         [self = this->shared_from_this()] { self->advance(steps::TimerFired{}); });
          return;
        case steps::Action::Kind::join: {
          // Held as a dependent type, so that the flight is compiled only where this is.
          std::shared_ptr<dependent_t<T, steps::Flight>> flight = std::move(action.flight);
          auto landed = flight->join([self = this->shared_from_this()](Result<void> outcome) {
            self->advance(steps::Joined{std::move(outcome)});
          });
          if (!landed) return;
          event = steps::Joined{std::move(*landed)};
          continue;
        }
      }
    }
  }

  steps::Action step(steps::Event event) noexcept {
#if APPKEYS_HAS_EXCEPTIONS
    try {
      return machine_->step(std::move(event));
    } catch (...) {  // std::bad_alloc: end this call, not the transport's thread
      failure_.emplace(AppError(errc::transport, "the call failed with an internal error"));
      return steps::Action::done();
    }
#else
    return machine_->step(std::move(event));
#endif
  }

  void finish() noexcept {
    if (failure_) {
      slot_.settle(std::move(*failure_));
    } else {
      slot_.settle(machine_->take_result());
    }
    machine_.reset();
  }

  void send(HttpRequest request) noexcept {
    awaiting_response_.store(true, std::memory_order_relaxed);
    auto answer = [self = this->shared_from_this()](Result<HttpResponse> outcome) {
      if (self->awaiting_response_.exchange(false, std::memory_order_acq_rel)) {
        self->advance(std::move(outcome));
      }
    };
#if APPKEYS_HAS_EXCEPTIONS
    try {
      send_stoppable(*transport_, std::move(request), Completion(std::move(answer)), stop_);
    } catch (...) {
      // The transport refused by throwing (it should complete with an error instead);
      // unless it also called the completion, the call ends here.
      if (awaiting_response_.exchange(false, std::memory_order_acq_rel)) {
        advance(Result<HttpResponse>(transport_threw()));
      }
    }
#else
    send_stoppable(*transport_, std::move(request), Completion(std::move(answer)), stop_);
#endif
  }

  // Declared first, destroyed last: the core (and its transport) outlives the rest.
  std::shared_ptr<void> keep_alive_;
  T* transport_;
  dependent_t<T, CallRegistry>* registry_;  // dependent: see detail/dependent.hpp
  typename dependent_t<T, CallRegistry>::Entry entry_{};
  bool registered_ = false;
  Slot<Machine> machine_;
  Slot<dependent_t<T, AppError>> failure_;
  std::atomic<bool> awaiting_response_{false};
  SettleOnce<value_type> slot_;
  std::stop_token stop_;
  Slot<std::stop_callback<Canceller>> on_stop_;
};

/// Starts `machine` over `transport` and returns at once; `completion` is called
/// exactly once: with the outcome, with errc::cancelled once `stop` is requested, or
/// with errc::shutting_down when `registry` shuts down first. It runs on whichever
/// thread delivered the last event (usually the transport's), or inline.
///
/// `keep_alive` is held until the call is over (the App's core, which owns
/// `transport` and `registry`).
template <steps::StepMachine Machine, AsyncTransport T>
void async_drive(Machine machine, T& transport,
                 CallCompletion<typename Machine::value_type> completion,
                 std::shared_ptr<void> keep_alive = {}, CallRegistry* registry = nullptr,
                 std::stop_token stop = {}) {
  auto run = std::make_shared<AsyncRun<Machine, T>>(std::move(keep_alive), transport, registry,
                                                    std::move(machine), std::move(completion));
  AsyncRun<Machine, T>::start(std::move(run), std::move(stop));
}

}  // namespace appkeys::detail
