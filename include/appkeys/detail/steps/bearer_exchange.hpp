// appkeys — requests authenticated with one of the session's tokens, and the 401 rules
// of PROTOCOL.md §5, written once:
// - access token: refreshed first if it is about to expire; a 401 refreshes it and
//   retries once;
// - refresh token (every API-key call): a 401 is final and logs the session out locally.
//
// Compiled only where used: each step machine here is a class template with an unused
// parameter (`BasicX<>`, named `X` by an alias), so that its member functions, and the
// JSON parsing and error mapping they call, are instantiated only in translation units
// that run the operation, not in every one that includes <appkeys/appkeys.hpp>.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/jwt.hpp>
#include <appkeys/detail/retry_rules.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/detail/steps/client_state.hpp>
#include <appkeys/detail/steps/exchange.hpp>
#include <appkeys/detail/steps/token_refresh.hpp>
#include <appkeys/user.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace appkeys::detail::steps {

/// A token within this margin of its `exp` is refreshed before use, so a request does
/// not race the expiry on its way to the server.
inline constexpr std::chrono::seconds access_token_expiry_margin{10};

template <class V = void>
inline bool is_expiring(const Secret& access_token, WallClock::time_point now) {
  auto expiry = jwt_expiry<V>(access_token.reveal());
  return expiry && *expiry <= now + access_token_expiry_margin;
}

/// What both exchanges share: one request, `method path` with `body`, sent to `host`
/// with a bearer token, and its outcome once done.
template <class = void>
class BasicBearerRequest {
 public:
  /// The outcome (any status), once step() returned done.
  Result<HttpResponse> take() { return std::move(*outcome_); }

 protected:
  BasicBearerRequest(ClientState& client, UserState& user, std::string_view host, HttpMethod method,
                     std::string path, std::string body)
      : client_(client),
        user_(user),
        host_(host),
        method_(method),
        path_(std::move(path)),
        body_(std::move(body)) {}

  /// The request, authenticated with `token`.
  HttpRequest request_with(const Secret& token) const {
    return client_.make_request(method_, join_url(host_, path_), body_, token.reveal());
  }

  /// Ends with errc::not_logged_in: the session has no token left.
  Action logged_out() {
    return finish(AppError(errc::not_logged_in, "user " + user_.id + " is logged out"));
  }

  Action finish(Result<HttpResponse> outcome) {
    outcome_.emplace(std::move(outcome));
    return Action::done();
  }

  /// The host every request of this exchange goes to.
  std::string_view host() const noexcept { return host_; }

  ClientState& client_;
  UserState& user_;

 private:
  std::string_view host_;
  HttpMethod method_;
  std::string path_;
  std::string body_;
  Slot<Result<HttpResponse>> outcome_;
};
using BearerRequest = BasicBearerRequest<>;

/// Outcome: the response (any status) to `method path` sent with the access token.
template <class V = void>  // (members named through dependent_t: see detail/dependent.hpp)
class BasicAccessTokenExchange : public dependent_t<V, BearerRequest> {
  using Base = dependent_t<V, BearerRequest>;  // see detail/dependent.hpp

 public:
  BasicAccessTokenExchange(ClientState& client, UserState& user, std::string_view host,
                           HttpMethod method, std::string path, std::string body = {})
      : Base(client, user, host, method, std::move(path), std::move(body)) {}

  Action step(Event event) {
    if (auto* start = get_if<Start>(&event)) {
      if (is_expiring<V>(this->user_.current_access_token(), start->now)) return refresh();
      return send();
    }
    if (phase_ == Phase::refreshing) {
      Action action = refresh_->step(std::move(event));
      if (!action.is_done()) return action;
      if (auto refreshed = refresh_->take(); !refreshed)
        return this->finish(std::move(refreshed).error());
      return send();
    }
    Action action = exchange_->step(std::move(event));
    if (!action.is_done()) return action;
    Result<HttpResponse> response = exchange_->take();
    if (!response || response->status != 401 || retried_) return this->finish(std::move(response));
    // PROTOCOL.md §5: refresh the access token and retry once. A call whose 401 arrives
    // after another call refreshed the token retries with that token, without a
    // refresh of its own: many calls meeting one expiry make one refresh.
    retried_ = true;
    Secret current = this->user_.current_access_token();
    if (!current.empty() && current.reveal() != sent_token_.reveal()) return send();
    return refresh();
  }

 private:
  enum class Phase { sending, refreshing };

  Action refresh() {
    phase_ = Phase::refreshing;
    refresh_.emplace(this->client_, this->user_, this->host());
    return refresh_->step(Start{});
  }

  Action send() {
    phase_ = Phase::sending;
    sent_token_ = this->user_.current_access_token();
    if (sent_token_.empty()) return this->logged_out();
    exchange_.emplace(this->request_with(sent_token_), Idempotency::idempotent,
                      this->client_.config().retry);
    return exchange_->step(Start{});
  }

  Phase phase_ = Phase::sending;
  bool retried_ = false;
  Secret sent_token_;
  Slot<dependent_t<V, TokenRefresh>> refresh_;
  Slot<dependent_t<V, Exchange>> exchange_;
};
using AccessTokenExchange = BasicAccessTokenExchange<>;

/// Outcome: the response (any status) to `method path` sent with the refresh token;
/// earlier_outcome_unknown() as for Exchange.
template <class V = void>  // (members named through dependent_t: see detail/dependent.hpp)
class BasicRefreshTokenExchange : public dependent_t<V, BearerRequest> {
  using Base = dependent_t<V, BearerRequest>;  // see detail/dependent.hpp

 public:
  BasicRefreshTokenExchange(ClientState& client, UserState& user, std::string_view host,
                            HttpMethod method, std::string path, Idempotency idempotency,
                            std::string body = {})
      : Base(client, user, host, method, std::move(path), std::move(body)),
        idempotency_(idempotency) {}

  Action step(Event event) {
    if (holds_alternative<Start>(event)) {
      Secret refresh = this->user_.current_refresh_token();
      if (refresh.empty()) return this->logged_out();
      exchange_.emplace(this->request_with(refresh), idempotency_, this->client_.config().retry);
      return exchange_->step(std::move(event));
    }
    Action action = exchange_->step(std::move(event));
    if (!action.is_done()) return action;
    Result<HttpResponse> response = exchange_->take();
    // PROTOCOL.md §5: a 401 on a refresh-token request ends the session locally; no
    // retry, since no other token could succeed.
    if (response && response->status == 401) this->user_.clear_tokens();
    return this->finish(std::move(response));
  }

  bool earlier_outcome_unknown() const noexcept {
    return exchange_ && exchange_->earlier_outcome_unknown();
  }

 private:
  Idempotency idempotency_;
  Slot<dependent_t<V, Exchange>> exchange_;
};
using RefreshTokenExchange = BasicRefreshTokenExchange<>;

}  // namespace appkeys::detail::steps
