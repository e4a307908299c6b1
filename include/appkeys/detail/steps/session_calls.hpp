// appkeys — the session calls (PROTOCOL.md §4) as step machines: log in (and its
// profile request), register, log out, and the profile read on its own.
//
// Compiled only where used: each step machine here is a class template with an unused
// parameter (`BasicX<>`, named `X` by an alias), so that its member functions, and the
// JSON parsing and error mapping they call, are instantiated only in translation units
// that run the operation, not in every one that includes <appkeys/appkeys.hpp>.
#pragma once

#include <appkeys/credentials.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/error_mapping.hpp>
#include <appkeys/detail/retry_rules.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/detail/steps/bearer_exchange.hpp>
#include <appkeys/detail/steps/client_state.hpp>
#include <appkeys/detail/steps/exchange.hpp>
#include <appkeys/detail/steps/host_lookup.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/detail/wire_requests.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/user.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys::detail::steps {

/// Reads the profile's answer (a 401 was already dealt with by AccessTokenExchange).
template <class V = void>  // dependent: compiled only where used (detail/dependent.hpp)
inline Result<dependent_t<V, wire::Profile>> read_profile(
    dependent_t<V, Result<HttpResponse>> response) {
  if (!response) return std::move(response).error();
  if (!is_success(response->status)) return error_from_response(*response, "profile request");
  return wire::parse_profile<V>(response->body, response->status);
}

/// GET /auth/profile with the access token.
template <class V = void>  // (members named through dependent_t: see detail/dependent.hpp)
class BasicFetchProfile {
 public:
  using value_type = wire::Profile;
  /// What the call ends with (dependent on V: see detail/dependent.hpp).
  using Outcome = Result<dependent_t<V, value_type>>;

  BasicFetchProfile(ClientState& client, User user)
      : client_(client), user_(std::move(user)), host_(client) {}

  Action step(Event event) {
    if (auto* start = get_if<Start>(&event)) {
      now_ = start->now;
      if (auto ok = client_.check_user(user_); !ok) return finish(std::move(ok).error());
    }
    if (!call_) {
      Action action = host_.step(std::move(event));
      if (!action.is_done()) return action;
      auto host = host_.take();
      if (!host) return finish(std::move(host).error());
      call_.emplace(client_, *user_state(user_), *host, HttpMethod::get, routes::profile());
      event = Start{now_};
    }
    Action action = call_->step(std::move(event));
    if (!action.is_done()) return action;
    return finish(read_profile<V>(call_->take()));
  }

  Outcome take_result() { return std::move(*outcome_); }

 private:
  Action finish(Outcome outcome) {
    outcome_.emplace(std::move(outcome));
    return Action::done();
  }

  ClientState& client_;
  User user_;
  WallClock::time_point now_{};
  dependent_t<V, HostLookup> host_;
  Slot<dependent_t<V, AccessTokenExchange>> call_;
  Slot<Outcome> outcome_;
};
using FetchProfile = BasicFetchProfile<>;

/// Logs in, then reads the profile: like the official SDKs, a login is complete once
/// the profile has been read (it proves the access token works and lists identities).
/// When the profile request fails, the session the server just opened is closed there
/// too (one DELETE /auth/session with its refresh token, no retry) before the call
/// fails with the profile's error: nobody will ever hold a handle to that session.
template <class V = void>  // (members named through dependent_t: see detail/dependent.hpp)
class BasicLogIn {
 public:
  using value_type = User;
  /// What the call ends with (dependent on V: see detail/dependent.hpp).
  using Outcome = Result<dependent_t<V, value_type>>;

  BasicLogIn(ClientState& client, Credentials credentials)
      : client_(client), credentials_(std::move(credentials)), host_(client) {}

  Action step(Event event) {
    switch (phase_) {
      case Phase::checks: {
        if (const Start* start = get_if<Start>(&event)) now_ = start->now;  // always, first
        if (auto ok = client_.check_config(); !ok) return finish(std::move(ok).error());
        if (auto ok = check_credentials(credentials_); !ok) return finish(std::move(ok).error());
        phase_ = Phase::host;
        [[fallthrough]];
      }
      case Phase::host: {
        Action action = host_.step(std::move(event));
        if (!action.is_done()) return action;
        auto host = host_.take();
        if (!host) return finish(std::move(host).error());
        host_view_ = *host;
        phase_ = Phase::login;
        device_id_ = client_.current_device_id();
        login_.emplace(client_.make_request(
                           HttpMethod::post,
                           join_url(host_view_, routes::login(client_.config().app_id,
                                                              credentials_.provider_name())),
                           wire::login_body(credentials_,
                                            wire::device_json(client_.config().device,
                                                              client_.config().app_id, device_id_)),
                           {}),
                       Idempotency::non_idempotent, client_.config().retry);
        event = Start{now_};
        [[fallthrough]];
      }
      case Phase::login: {
        Action action = login_->step(std::move(event));
        if (!action.is_done()) return action;
        if (auto ok = on_login(login_->take()); !ok) return finish(std::move(ok).error());
        phase_ = Phase::profile;
        profile_.emplace(client_, *state_, host_view_, HttpMethod::get, routes::profile());
        event = Start{now_};
        [[fallthrough]];
      }
      case Phase::profile: {
        Action action = profile_->step(std::move(event));
        if (!action.is_done()) return action;
        auto profile = read_profile<V>(profile_->take());
        if (!profile) return close_session(std::move(profile).error());
        {
          std::lock_guard lock(state_->mutex);
          state_->identities = std::move(profile->identities);
        }
        return finish(User(state_));
      }
      case Phase::logout: {
        Action action = logout_->step(std::move(event));
        if (!action.is_done()) return action;
        // Whatever the server answered, the login failed for the profile's reason.
        return finish(std::move(*failure_));
      }
    }
    return Action::done();
  }

  Outcome take_result() { return std::move(*outcome_); }

 private:
  enum class Phase { checks, host, login, profile, logout };

  /// Forgets the new session's tokens, asks the server to end it, and fails with
  /// `error` once it has answered.
  Action close_session(AppError error) {
    const Secret refresh = state_->current_refresh_token();
    state_->clear_tokens();
    if (refresh.empty()) return finish(std::move(error));  // a refresh 401 ended it already
    failure_.emplace(std::move(error));
    phase_ = Phase::logout;
    RetryPolicy once = client_.config().retry;
    once.max_attempts = 1;  // the caller is waiting for the login's failure
    logout_.emplace(client_.make_request(HttpMethod::del, join_url(host_view_, routes::session()),
                                         {}, refresh.reveal()),
                    Idempotency::idempotent, once);
    return logout_->step(Start{now_});
  }

  Result<void> on_login(dependent_t<V, Result<HttpResponse>> response) {
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, "log in");
    auto login = wire::parse_login_response<V>(response->body, response->status);
    wipe(response->body);
    if (!login) return std::move(login).error();
    if (!login->device_id.empty()) client_.remember_device_id(login->device_id);
    state_ = share_new<UserState>(client_.owner_key(), login->user_id,
                                  std::string(credentials_.provider_name()),
                                  login->device_id.empty() ? device_id_ : login->device_id,
                                  std::move(login->access_token), std::move(login->refresh_token));
    return {};
  }

  Action finish(Outcome outcome) {
    outcome_.emplace(std::move(outcome));
    return Action::done();
  }

  ClientState& client_;
  Credentials credentials_;
  Phase phase_ = Phase::checks;
  WallClock::time_point now_{};
  dependent_t<V, HostLookup> host_;
  std::string_view host_view_;
  std::string device_id_;
  Slot<dependent_t<V, Exchange>> login_;
  std::shared_ptr<UserState> state_;
  Slot<dependent_t<V, AccessTokenExchange>> profile_;
  Slot<dependent_t<V, Exchange>> logout_;
  Slot<dependent_t<V, AppError>> failure_;
  Slot<Outcome> outcome_;
};
using LogIn = BasicLogIn<>;

/// What register and log out share: the host, then one request whose 2xx body is
/// ignored; the outcome is success or the error the answer carries.
template <class V = void>  // (members named through dependent_t: see detail/dependent.hpp)
class BasicHostThenRequest {
 public:
  using value_type = void;

  Result<void> take_result() { return std::move(*outcome_); }

 protected:
  explicit BasicHostThenRequest(ClientState& client) : client_(client), host_(client) {}

  /// Steps the host lookup, then the request `make(host)` returns (with its
  /// idempotency), and reads its answer for `context` ("register user").
  template <class MakeRequest>
  Action host_then_request(Event event, Idempotency idempotency, std::string_view context,
                           MakeRequest make) {
    if (!exchange_) {
      Action action = host_.step(std::move(event));
      if (!action.is_done()) return action;
      auto host = host_.take();
      if (!host) return finish(std::move(host).error());
      exchange_.emplace(make(*host), idempotency, client_.config().retry);
      event = Start{};
    }
    Action action = exchange_->step(std::move(event));
    if (!action.is_done()) return action;
    return finish(expect_success(exchange_->take(), context));
  }

  Action finish(Result<void> outcome) {
    outcome_.emplace(std::move(outcome));
    return Action::done();
  }

  ClientState& client_;

 private:
  dependent_t<V, HostLookup> host_;
  Slot<dependent_t<V, Exchange>> exchange_;
  Slot<dependent_t<V, Result<void>>> outcome_;
};
using HostThenRequest = BasicHostThenRequest<>;

/// Registers an email/password user (the local-userpass provider).
template <class V = void>
class BasicRegisterEmail : public dependent_t<V, HostThenRequest> {
  using Base = dependent_t<V, HostThenRequest>;  // see detail/dependent.hpp

 public:
  BasicRegisterEmail(ClientState& client, std::string email, Secret password)
      : Base(client), email_(std::move(email)), password_(std::move(password)) {}

  Action step(Event event) {
    if (holds_alternative<Start>(event)) {
      if (auto ok = this->client_.check_config(); !ok) return this->finish(std::move(ok).error());
      if (email_.empty())
        return this->finish(AppError(errc::invalid_argument, "email must not be empty"));
      if (password_.empty()) {
        return this->finish(AppError(errc::invalid_argument, "password must not be empty"));
      }
    }
    return this->host_then_request(
        std::move(event), Idempotency::non_idempotent, "register user",
        [this](std::string_view host) {
          return this->client_.make_request(
              HttpMethod::post,
              join_url(host, routes::register_email(this->client_.config().app_id)),
              wire::register_body(email_, password_.reveal()), {});
        });
  }

 private:
  std::string email_;
  Secret password_;
};
using RegisterEmail = BasicRegisterEmail<>;

/// Ends the session on the server and forgets its tokens locally. The local log-out
/// happens first and even when the server cannot be reached, as in the official SDKs;
/// logging out a user that is already logged out succeeds and sends nothing.
template <class V = void>
class BasicLogOut : public dependent_t<V, HostThenRequest> {
  using Base = dependent_t<V, HostThenRequest>;  // see detail/dependent.hpp

 public:
  BasicLogOut(ClientState& client, User user) : Base(client), user_(std::move(user)) {}

  Action step(Event event) {
    if (holds_alternative<Start>(event)) {
      const auto& state = user_state(user_);
      if (!state) return this->finish({});
      // Another App's user: refused before its tokens are read, let alone sent.
      if (state->owner != this->client_.owner_key())
        return this->finish(this->client_.check_user(user_));
      refresh_ = state->current_refresh_token();
      state->clear_tokens();
      if (refresh_.empty()) return this->finish({});
    }
    return this->host_then_request(
        std::move(event), Idempotency::idempotent, "log out", [this](std::string_view host) {
          auto request = this->client_.make_request(
              HttpMethod::del, join_url(host, routes::session()), {}, refresh_.reveal());
          refresh_ = Secret();  // kept only in the request now
          return request;
        });
  }

 private:
  User user_;
  Secret refresh_;
};
using LogOut = BasicLogOut<>;

}  // namespace appkeys::detail::steps
