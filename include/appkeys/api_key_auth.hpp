// appkeys — ApiKeyAuth: one user's API keys (create, fetch, list, enable, disable, delete).
#pragma once

#include <appkeys/api_key.hpp>
#include <appkeys/concepts.hpp>
#include <appkeys/detail/client_core.hpp>
#include <appkeys/detail/operation.hpp>
#include <appkeys/exec/sync.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/result.hpp>
#include <appkeys/user.hpp>

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appkeys {

/// The user API keys of one logged-in user, as the Node SDK's `user.apiKeys`.
/// Obtained from App::api_keys(user). Every call authenticates with the user's refresh
/// token; a 401 logs the user out locally (every copy of the User sees it).
///
/// What each call returns is the Executor's choice: with SyncExec a value (failures
/// throw AppError), with NoThrowExec a Result<...>, with FutureExec a std::future<...>.
///
/// Client-side checks fail before any I/O: a logged-out user (errc::not_logged_in), an
/// empty name (errc::invalid_argument), a create by an anonymous or API-key session
/// (errc::provider_not_allowed), an id that is not 24 hex characters
/// (errc::invalid_argument).
///
/// Cancellation: `keys.with_stop_token(token)` is a copy whose calls end with
/// errc::cancelled once `token` is stopped (see App).
///
/// Thread safety: a cheap handle; copies share the App's transport. Any member may be
/// called from several threads at once.
template <Transport T, Executor E = SyncExec>
class ApiKeyAuth {
 public:
  /// What a call producing `X` returns: the Executor's choice.
  template <class X>
  using result = typename E::template result<X>;

  /// Made by App::api_keys(user), which is how to get one.
  ApiKeyAuth(std::shared_ptr<detail::ClientCore<T>> core, User user, E executor)
      : core_(std::move(core)), user_(std::move(user)), executor_(std::move(executor)) {}

  /// Creates an enabled key named `name` (ASCII letters, digits, '_' and '-'). The
  /// returned ApiKey's `key` holds the secret value: this is the only time it is seen.
  result<ApiKey> create(std::string_view name) const {
    return run(core_->make_create_key(user_, std::string(name)));
  }

  /// One key, without its value.
  result<ApiKey> fetch(const ObjectId& id) const { return run(core_->make_fetch_key(user_, id)); }
  /// As fetch(ObjectId), for an id held as text; text that is not 24 hex characters is
  /// errc::invalid_argument, so nothing can be injected into the URL.
  result<ApiKey> fetch(std::string_view id_hex) const {
    return run(core_->make_fetch_key(user_, ObjectId::from_hex(id_hex)));
  }

  /// Every key of the user, in creation order, without values.
  result<std::vector<ApiKey>> fetch_all() const { return run(core_->make_fetch_keys(user_)); }

  /// Enables the key: it can log in again. Enabling an enabled key changes nothing.
  result<void> enable(const ObjectId& id) const {
    return run(core_->make_set_key_enabled(user_, id, true));
  }
  /// As enable(const ObjectId&), for an id held as text (see fetch(std::string_view)).
  result<void> enable(std::string_view id_hex) const {
    return run(core_->make_set_key_enabled(user_, ObjectId::from_hex(id_hex), true));
  }

  /// Disables the key: logging in with it fails (errc::auth_error) until it is enabled.
  /// Disabling a disabled key changes nothing.
  result<void> disable(const ObjectId& id) const {
    return run(core_->make_set_key_enabled(user_, id, false));
  }
  /// As disable(const ObjectId&), for an id held as text (see fetch(std::string_view)).
  result<void> disable(std::string_view id_hex) const {
    return run(core_->make_set_key_enabled(user_, ObjectId::from_hex(id_hex), false));
  }

  /// Deletes the key for good (the SDK's `delete`, a keyword in C++).
  result<void> remove(const ObjectId& id) const { return run(core_->make_remove_key(user_, id)); }
  /// As remove(const ObjectId&), for an id held as text (see fetch(std::string_view)).
  result<void> remove(std::string_view id_hex) const {
    return run(core_->make_remove_key(user_, ObjectId::from_hex(id_hex)));
  }

  /// A copy of this handle whose calls end with errc::cancelled once `token` is stopped.
  ApiKeyAuth with_stop_token(std::stop_token token) const {
    ApiKeyAuth copy = *this;
    copy.stop_ = std::move(token);
    return copy;
  }

  /// The user whose keys these are.
  const User& user() const noexcept { return user_; }

 private:
  /// Hands the call to the executor; a bad id fails in the executor's own way (throw,
  /// Result or future) without any I/O, as the step machine checks it first.
  template <class Machine>
  auto run(Machine machine) const {
    return executor_.run(detail::make_operation(*core_, std::move(machine), stop_));
  }

  std::shared_ptr<detail::ClientCore<T>> core_;
  User user_;
  mutable E executor_;
  std::stop_token stop_;
};

}  // namespace appkeys
