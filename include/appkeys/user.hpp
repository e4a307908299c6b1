// appkeys — User: a shared handle to one login session.
#pragma once

#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/steps/flight.hpp>
#include <appkeys/secret.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace appkeys {

/// One identity linked to a user, as the profile lists it.
///
/// Thread safety: a value type; distinct objects are independent.
struct UserIdentity {
  std::string id;             ///< The identity's id at its provider.
  std::string provider_type;  ///< "local-userpass", "anon-user", "api-key", ...
  friend bool operator==(const UserIdentity&, const UserIdentity&) = default;
};

namespace detail {

/// The session behind a User. Tokens change (refresh, log out) while handles are
/// shared across threads, so they sit behind a mutex; the rest is fixed at login.
struct UserState {
  /// A template only so that it (with its Flight) is compiled where a session is made,
  /// not in every program that includes User (see detail/dependent.hpp).
  template <class V = void>
  UserState(std::string owner_, std::string id_, std::string provider_, std::string device_id_,
            Secret access, Secret refresh)
      : owner(std::move(owner_)),
        id(std::move(id_)),
        provider(std::move(provider_)),
        device_id(std::move(device_id_)),
        access_token(std::move(access)),
        refresh_token(std::move(refresh)),
        refresh_flight(share_new<dependent_t<V, steps::Flight>>()) {}

  /// ClientState::owner_key() of the App that logged this session in (its server and
  /// app id): the only kind of App its tokens may be sent through (ClientState::check_user).
  const std::string owner;
  const std::string id;
  const std::string provider;
  const std::string device_id;

  mutable std::mutex mutex;
  Secret access_token;                   // guarded by mutex
  Secret refresh_token;                  // guarded by mutex; empty once logged out
  std::vector<UserIdentity> identities;  // guarded by mutex

  /// The access-token refresh in flight, shared by every call of this session that
  /// needs one at the same time (one POST /auth/session, however many calls wait).
  const std::shared_ptr<steps::Flight> refresh_flight;

  bool logged_in() const {
    std::lock_guard lock(mutex);
    return !refresh_token.empty();
  }
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  Secret current_access_token() const {
    std::lock_guard lock(mutex);
    return access_token;
  }
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  Secret current_refresh_token() const {
    std::lock_guard lock(mutex);
    return refresh_token;
  }
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  void set_access_token(Secret token) {
    std::lock_guard lock(mutex);
    if (!refresh_token.empty()) access_token = std::move(token);
  }
  /// Forgets both tokens: the session is over for every handle that shares it.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  void clear_tokens() {
    Secret access, refresh;  // destroyed (and wiped) after the lock is released
    std::lock_guard lock(mutex);
    access.swap(access_token);
    refresh.swap(refresh_token);
  }
};

struct UserAccess;

}  // namespace detail

/// A cheap, shared handle to one login session. Copies share the session: log out
/// through one and every copy sees is_logged_in() == false. Tokens stay inside as
/// Secrets; printing a User shows its id and provider only.
///
/// A default-constructed User has no session (is_logged_in() is false).
///
/// A User belongs to the app that logged it in, named by AppConfig::base_url and
/// AppConfig::app_id: any App of that app may use it (copies, and Apps with another
/// executor or transport for the same base URL and app id), and a call that passes it to
/// an App of another base URL or app id fails with errc::invalid_argument before any
/// I/O, so its tokens never reach another server.
///
/// Thread safety: every member function may be called concurrently on copies of the
/// same User, and on the same object.
class User {
 public:
  User() = default;
  /// A handle to `state`; App makes these at login (for the library's own use).
  explicit User(std::shared_ptr<detail::UserState> state) : state_(std::move(state)) {}

  /// The user's id (24 hex characters); the key owner's id for an API-key login.
  const std::string& id() const noexcept { return state_ ? state_->id : empty(); }
  /// "local-userpass", "anon-user" or "api-key": how this session logged in.
  const std::string& provider() const noexcept { return state_ ? state_->provider : empty(); }
  /// The device id the server assigned at login ("" if it sent none).
  const std::string& device_id() const noexcept { return state_ ? state_->device_id : empty(); }
  /// False once logged out (through any copy), or after a refresh-token request got
  /// a 401, or for a default-constructed User.
  bool is_logged_in() const { return state_ && state_->logged_in(); }
  /// The identities the profile listed at login.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  std::vector<UserIdentity> identities() const {
    if (!state_) return {};
    std::lock_guard lock(state_->mutex);
    return state_->identities;
  }

  /// Same session (not merely the same user id).
  friend bool operator==(const User& a, const User& b) noexcept { return a.state_ == b.state_; }

  friend std::ostream& operator<<(std::ostream& out, const User& user) {
    return out << "User{id=" << user.id() << ", provider=" << user.provider()
               << ", logged_in=" << (user.is_logged_in() ? "true" : "false") << '}';
  }

 private:
  friend struct detail::UserAccess;

  static const std::string& empty() noexcept {
    static const std::string value;
    return value;
  }

  std::shared_ptr<detail::UserState> state_;
};

namespace detail {

/// The protocol layer's way to a User's session (and so its tokens), kept out of
/// User's public interface.
struct UserAccess {
  static const std::shared_ptr<UserState>& state(const User& user) noexcept { return user.state_; }
};

/// The session behind `user`; null for a default-constructed User.
inline const std::shared_ptr<UserState>& user_state(const User& user) noexcept {
  return UserAccess::state(user);
}

}  // namespace detail

}  // namespace appkeys
