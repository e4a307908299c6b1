// appkeys — App: one App Services app, reached through a Transport, run by an Executor.
#pragma once

#include <appkeys/api_key_auth.hpp>
#include <appkeys/app_config.hpp>
#include <appkeys/concepts.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/client_core.hpp>
#include <appkeys/detail/core_owner.hpp>
#include <appkeys/detail/operation.hpp>
#include <appkeys/exec/no_throw.hpp>
#include <appkeys/exec/sync.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/user.hpp>

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys {

/// The client of one app: logs users in and out and hands out their ApiKeyAuth.
///
/// `T` moves the bytes (HttplibTransport, CurlTransport, CurlMultiTransport,
/// testing::FakeTransport or your own Transport, which may also be an AsyncTransport); `E` decides
/// how a call runs and what it returns (SyncExec: the value, throwing AppError; NoThrowExec:
/// Result<...>; FutureExec: std::future<...>; CoroExec: Task<...>; CallbackExec:
/// Deferred<...>). Over an AsyncTransport, FutureExec, CoroExec and CallbackExec hold
/// no thread while a call is in flight.
///
///     appkeys::App<appkeys::CurlTransport> app({.app_id = "shop-abcde"});
///     appkeys::User user = app.log_in(appkeys::Credentials::email_password(email, pw));
///
/// Cancellation: `app.with_stop_token(token)` is a copy whose calls end with
/// errc::cancelled once `token` is stopped (at once for a call in flight through the
/// completion driver; before its next request for a call running blocking).
///
/// Shutdown: when the last App and ApiKeyAuth handle of one app is destroyed, every call
/// still in flight through the completion driver completes before the destructor returns
/// (errc::shutting_down unless its answer came first) and no handler of theirs runs
/// afterwards; the calls keep the transport alive until their requests are over.
///
/// Thread safety: App is a cheap handle (copies share the transport, the resolved
/// location and the executor). Any member may be called from several threads at once,
/// provided the Transport allows concurrent send() (every shipped transport does).
template <Transport T, Executor E = SyncExec>
class App {
 public:
  /// What a call producing `X` returns: the Executor's choice.
  template <class X>
  using result = typename E::template result<X>;
  using transport_type = T;  ///< The Transport policy.
  using executor_type = E;   ///< The Executor policy.

  /// The client of `config.app_id`; no I/O happens until the first call (which asks for
  /// the app's location unless `config.skip_location`).
  explicit App(AppConfig config, T transport = T{}, E executor = E{})
      : core_(detail::make_owned_core(std::move(config), std::move(transport))),
        executor_(std::move(executor)) {}

  /// Logs in; each call starts a new, independent session. With API-key credentials
  /// the User is the key's owner (same id()) with provider() == "api-key".
  result<User> log_in(Credentials credentials) {
    return run(core_->make_log_in(std::move(credentials)));
  }

  /// Ends the user's session on the server and forgets its tokens in every copy of
  /// `user`. Local log-out happens even if the server cannot be reached.
  result<void> log_out(User& user) { return run(core_->make_log_out(user)); }

  /// Registers a new email/password user (the Node SDK's
  /// `app.emailPasswordAuth.registerUser`).
  result<void> register_email(std::string_view email, std::string_view password) {
    return run(core_->make_register_email(std::string(email), Secret(password)));
  }

  /// The API keys of `user`. Cheap: no I/O happens until a call is made.
  ApiKeyAuth<T, E> api_keys(const User& user) const {
    return ApiKeyAuth<T, E>(core_, user, executor_).with_stop_token(stop_);
  }

  /// A copy of this App whose calls (and whose api_keys() handles' calls) end with
  /// errc::cancelled once `token` is stopped; see the class comment.
  App with_stop_token(std::stop_token token) const {
    App copy = *this;
    copy.stop_ = std::move(token);
    return copy;
  }

  /// The configuration given at construction.
  const AppConfig& config() const noexcept { return core_->config(); }
  /// The transport, shared by every copy of this App and its ApiKeyAuth handles.
  T& transport() noexcept { return core_->transport(); }
  /// This App's executor.
  E& executor() noexcept { return executor_; }

 private:
  template <class Machine>
  auto run(Machine machine) {
    return executor_.run(detail::make_operation(*core_, std::move(machine), stop_));
  }

  std::shared_ptr<detail::ClientCore<T>> core_;
  E executor_;
  std::stop_token stop_;
};

/// spdlog-style shorthands for common policy pairs.
template <Transport T>
using NoThrowApp = App<T, NoThrowExec>;

}  // namespace appkeys
