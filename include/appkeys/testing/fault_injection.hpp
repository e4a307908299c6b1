// appkeys — FaultInjectingTransport: a Transport decorator that makes the network and
// the server misbehave on cue, so a client's error handling can be tested without one.
//
//     appkeys::testing::FakeBackend backend;
//     using Faulty = appkeys::testing::FaultInjectingTransport<appkeys::testing::FakeTransport>;
//     Faulty transport{appkeys::testing::FakeTransport{backend}};
//     transport.inject(appkeys::testing::Fault::timeout_after_send()
//                          .on(appkeys::HttpMethod::post)
//                          .url_contains("/auth/api_keys"));
//     appkeys::App<Faulty, appkeys::NoThrowExec> app(config, transport);
//     // the next create reaches the server, but its answer is lost: errc::timeout
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/testing/fake.hpp>
#include <appkeys/testing/fault_injection/fault.hpp>

#include <concepts>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace appkeys::testing {

/// A Transport that passes requests to `Inner` except where a scripted Fault says
/// otherwise. Faults wait in a queue; each request takes the first fault that matches
/// it (so a fault aimed at one route lets the location and login requests through).
///
///     FaultInjectingTransport<FakeTransport> t{FakeTransport{backend}};
///     t.inject(Fault::plain_status(503).url_contains("/api_keys"));
///
/// Copies share the script and the counters, so a test can keep one copy and hand
/// another to App (which takes its transport by value) and still steer and observe it.
/// (An Inner that cannot be copied, like testing::FakeAsyncTransport, makes the
/// decorator move-only: steer it through App::transport() then.)
///
/// When Inner is also an AsyncTransport, so is the decorator: async_send applies the
/// same script, completing inline for a fault in front of the server and, for a
/// forwarding fault, damaging Inner's outcome inside Inner's completion. So the same
/// faults reach calls run by the completion driver.
///
/// Thread safety: send, inject, clear and the counters may be called from several
/// threads at once; the script is guarded by one mutex, which is not held while Inner
/// sends, so the decorator does not serialize requests. Concurrent sends are then only
/// as safe as Inner's own send.
template <Transport Inner>
class FaultInjectingTransport {
 public:
  /// Decorates `inner`, with an empty script.
  explicit FaultInjectingTransport(Inner inner)
      : inner_(std::move(inner)), state_(std::make_shared<State>()) {}

  /// Appends a fault to the script.
  void inject(Fault fault) {
    std::lock_guard lock(state_->mutex);
    state_->faults.push_back(std::move(fault));
  }
  /// Drops every fault not yet applied.
  void clear() {
    std::lock_guard lock(state_->mutex);
    state_->faults.clear();
  }
  /// Faults still waiting for a matching request.
  std::size_t pending() const {
    std::lock_guard lock(state_->mutex);
    return state_->faults.size();
  }

  /// Every call of send, faulted or not.
  std::size_t attempts() const { return read(&State::attempts); }
  /// Requests that met a fault.
  std::size_t faults_applied() const { return read(&State::faults_applied); }
  /// Requests that reached Inner (unfaulted ones and forwarding faults).
  std::size_t forwarded() const { return read(&State::forwarded); }

  /// The decorated transport.
  Inner& inner() noexcept { return inner_; }

  /// AsyncTransport (when Inner is one): starts the exchange through Inner, or completes
  /// as the first matching Fault says.
  void async_send(HttpRequest request, Completion completion) requires AsyncTransport<Inner> {
    std::optional<Fault> fault = take_fault(request);
    if (fault && !forwards_request(fault->kind())) {
      completion(fault->apply(AppError(errc::transport, "not forwarded")));
      return;
    }
    {
      std::lock_guard lock(state_->mutex);
      ++state_->forwarded;
    }
    if (!fault) {
      inner_.async_send(std::move(request), std::move(completion));
      return;
    }
    inner_.async_send(
        std::move(request),
        [fault = std::move(*fault), completion = std::move(completion)](
            Result<HttpResponse> outcome) mutable { completion(fault.apply(std::move(outcome))); });
  }

  /// The optional AsyncTransport hook, when Inner offers it: true on Inner's loop
  /// thread, where a blocking call would wait for itself.
  bool in_loop_thread() const noexcept requires requires(const Inner& inner) {
    { inner.in_loop_thread() } -> std::convertible_to<bool>;
  }
  { return inner_.in_loop_thread(); }

  /// Sends through Inner, or answers as the first matching Fault says.
  Result<HttpResponse> send(const HttpRequest& request) {
    std::optional<Fault> fault = take_fault(request);
    // A fault in front of the server answers without bothering Inner.
    if (fault && !forwards_request(fault->kind())) {
      return fault->apply(AppError(errc::transport, "not forwarded"));
    }
    {
      std::lock_guard lock(state_->mutex);
      ++state_->forwarded;
    }
    Result<HttpResponse> response = inner_.send(request);
    if (!fault) return response;
    return fault->apply(std::move(response));
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::deque<Fault> faults;  // guarded by mutex, as are the counters
    std::size_t attempts = 0;
    std::size_t faults_applied = 0;
    std::size_t forwarded = 0;
  };

  std::size_t read(std::size_t State::*counter) const {
    std::lock_guard lock(state_->mutex);
    return (*state_).*counter;
  }

  /// Counts the attempt and takes (a copy of) the first matching fault, consuming one
  /// of its hits, all under one lock so two threads never both take a one-shot fault.
  std::optional<Fault> take_fault(const HttpRequest& request) {
    std::lock_guard lock(state_->mutex);
    ++state_->attempts;
    for (auto it = state_->faults.begin(); it != state_->faults.end(); ++it) {
      if (!it->matches(request)) continue;
      Fault taken = *it;
      it->consume_one();
      if (it->remaining() <= 0) state_->faults.erase(it);
      ++state_->faults_applied;
      return taken;
    }
    return std::nullopt;
  }

  Inner inner_;
  std::shared_ptr<State> state_;
};

static_assert(Transport<FaultInjectingTransport<FakeTransport>>);
}  // namespace appkeys::testing
