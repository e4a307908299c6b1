// appkeys — ClientCore: one App's shared state, its transport, and the two ways to run
// a protocol step machine over it (blocking, or by completion).
//
// Every operation is a step machine in detail/steps/; App and ApiKeyAuth build one per
// call and hand it, wrapped in a CoreOperation (detail/operation.hpp), to the Executor,
// which either runs it blocking or starts it with a completion.
#pragma once

#include <appkeys/api_key.hpp>
#include <appkeys/app_config.hpp>
#include <appkeys/concepts.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/async_drive.hpp>
#include <appkeys/detail/call_registry.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/drive.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/client_state.hpp>
#include <appkeys/detail/steps/key_calls.hpp>
#include <appkeys/detail/steps/session_calls.hpp>
#include <appkeys/error.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/result.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/user.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace appkeys::detail {

/// What App and ApiKeyAuth may be built over: a blocking Transport, an AsyncTransport,
/// or both.
template <class T>
concept AnyTransport = Transport<T> || AsyncTransport<T>;

inline AppError blocking_on_loop_thread_error() {
  return AppError(errc::invalid_argument,
                  "a blocking call (SyncExec, NoThrowExec) was made on the transport's own "
                  "event-loop thread, where it would wait for itself forever: start it with "
                  "FutureExec, CoroExec or CallbackExec, or from another thread");
}

template <AnyTransport T>
class ClientCore : public std::enable_shared_from_this<ClientCore<T>> {
 public:
  ClientCore(AppConfig config, T transport)
      : state_(std::move(config)), transport_(std::move(transport)) {}

  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;

  /// Calls still in flight when the core goes complete with errc::shutting_down
  /// (normally none: each keeps the core alive until it is over).
  ~ClientCore() { registry_.shut_down(); }

  const AppConfig& config() const noexcept { return state_.config(); }
  T& transport() noexcept { return transport_; }
  ClientState& state() noexcept { return state_; }

  /// Whether start() holds no thread while a request is in flight.
  static constexpr bool nonblocking = AsyncTransport<T>;

  /// Runs `machine` to its end on this thread. Over an AsyncTransport this starts it
  /// with a completion and waits for it (so calls made blocking and calls made by
  /// completion share one location lookup and one refresh); on the transport's own
  /// loop thread that would never return, so it fails at once instead.
  template <steps::StepMachine Machine>
  Result<typename Machine::value_type> run_blocking(Machine machine, std::stop_token stop = {}) {
    using X = typename Machine::value_type;
    if constexpr (AsyncTransport<T>) {
      if constexpr (ReportsLoopThread<T>) {
        if (transport_.in_loop_thread()) return blocking_on_loop_thread_error();
      }
      struct Latch {
        std::mutex mutex;
        std::condition_variable ready;
        Slot<Result<X>> outcome;
      };
      auto latch = std::make_shared<Latch>();
      start(
          std::move(machine),
          [latch](Result<X> outcome) {
            std::lock_guard lock(latch->mutex);
            latch->outcome.emplace(std::move(outcome));
            latch->ready.notify_all();
          },
          std::move(stop));
      std::unique_lock lock(latch->mutex);
      latch->ready.wait(lock, [&] { return latch->outcome.has_value(); });
      return std::move(*latch->outcome);
    } else {
      return drive(machine, transport_, std::move(stop));
    }
  }

  /// Starts `machine`; `completion` is called exactly once (see async_drive). Over a
  /// blocking Transport the call runs here, and completes, before start() returns.
  template <steps::StepMachine Machine>
  void start(Machine machine, CallCompletion<typename Machine::value_type> completion,
             std::stop_token stop = {}) {
    if constexpr (AsyncTransport<T>) {
      // Shared ownership keeps the transport and this state alive while the call is in
      // flight; a core that is not owned by a shared_ptr (a test's) must outlive it.
      std::shared_ptr<void> keep_alive = this->weak_from_this().lock();
      async_drive(std::move(machine), transport_, std::move(completion), std::move(keep_alive),
                  &registry_, std::move(stop));
    } else {
      completion(run_blocking(std::move(machine), std::move(stop)));
    }
  }

  /// Settles every call in flight through the completion driver with
  /// errc::shutting_down and refuses new ones; returns once no completion is running
  /// (bar the caller's own). App calls it when its last handle goes.
  void shut_down() noexcept { registry_.shut_down(); }

  // -------------------------------------------------------------------------------
  // The step machines, one per operation.

  /// `M`, as a type that depends on T: the machines (and their outcomes) are compiled
  /// only where a core makes them, not in every program that includes the client (see
  /// detail/dependent.hpp).
  template <class M>
  using StepFor = dependent_t<T, M>;

  StepFor<steps::LogIn> make_log_in(Credentials credentials) {
    return {state_, std::move(credentials)};
  }
  StepFor<steps::LogOut> make_log_out(User user) { return {state_, std::move(user)}; }
  StepFor<steps::RegisterEmail> make_register_email(std::string email, Secret password) {
    return {state_, std::move(email), std::move(password)};
  }
  StepFor<steps::FetchProfile> make_fetch_profile(User user) { return {state_, std::move(user)}; }
  StepFor<steps::CreateKey> make_create_key(User user, std::string name) {
    return {state_, std::move(user), steps::CreateKeySpec{std::move(name)}};
  }
  StepFor<steps::FetchKey> make_fetch_key(User user, steps::KeyId id) {
    return {state_, std::move(user), steps::FetchKeySpec{std::move(id)}};
  }
  StepFor<steps::FetchKeys> make_fetch_keys(User user) {
    return {state_, std::move(user), steps::FetchKeysSpec{}};
  }
  StepFor<steps::SetKeyEnabled> make_set_key_enabled(User user, steps::KeyId id, bool enable) {
    return {state_, std::move(user), steps::SetKeyEnabledSpec{std::move(id), enable}};
  }
  StepFor<steps::RemoveKey> make_remove_key(User user, steps::KeyId id) {
    return {state_, std::move(user), steps::RemoveKeySpec{std::move(id)}};
  }

  // -------------------------------------------------------------------------------
  // Each operation run blocking: for tests and tools that drive the core directly.

  Result<StepFor<User>> log_in(const Credentials& credentials) {
    return run_blocking(make_log_in(credentials));
  }
  Result<void> log_out(const User& user) { return run_blocking(make_log_out(user)); }
  Result<void> register_email(std::string_view email, const Secret& password) {
    return run_blocking(make_register_email(std::string(email), password));
  }
  Result<StepFor<wire::Profile>> fetch_profile(const User& user) {
    return run_blocking(make_fetch_profile(user));
  }
  Result<StepFor<ApiKey>> create_key(const User& user, std::string_view name) {
    return run_blocking(make_create_key(user, std::string(name)));
  }
  Result<StepFor<ApiKey>> fetch_key(const User& user, const ObjectId& id) {
    return run_blocking(make_fetch_key(user, id));
  }
  Result<StepFor<std::vector<ApiKey>>> fetch_keys(const User& user) {
    return run_blocking(make_fetch_keys(user));
  }
  Result<void> enable_key(const User& user, const ObjectId& id) {
    return run_blocking(make_set_key_enabled(user, id, true));
  }
  Result<void> disable_key(const User& user, const ObjectId& id) {
    return run_blocking(make_set_key_enabled(user, id, false));
  }
  Result<void> remove_key(const User& user, const ObjectId& id) {
    return run_blocking(make_remove_key(user, id));
  }

 private:
  /// What stands for the registry over a blocking Transport: no call is ever in flight
  /// there once its driver has returned, so there is nothing to settle (and the
  /// registry's code is not compiled into blocking-only programs).
  struct NoCallsInFlight {
    void shut_down() noexcept {}
  };

  ClientState state_;
  [[no_unique_address]] std::conditional_t<AsyncTransport<T>, CallRegistry, NoCallsInFlight>
      registry_;
  T transport_;  // declared last, destroyed first: it settles its pending exchanges
                 // while the state they step is still here
};

}  // namespace appkeys::detail
