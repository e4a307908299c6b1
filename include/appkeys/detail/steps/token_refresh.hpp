// appkeys — TokenRefresh: a new access token for one session (POST /auth/session with
// the refresh token), one request however many of the session's calls need it at once.
//
// Compiled only where used: each step machine here is a class template with an unused
// parameter (`BasicX<>`, named `X` by an alias), so that its member functions, and the
// JSON parsing and error mapping they call, are instantiated only in translation units
// that run the operation, not in every one that includes <appkeys/appkeys.hpp>.
#pragma once

#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/error_mapping.hpp>
#include <appkeys/detail/retry_rules.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/detail/steps/client_state.hpp>
#include <appkeys/detail/steps/exchange.hpp>
#include <appkeys/detail/steps/flight.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/user.hpp>

#include <string_view>
#include <utility>

namespace appkeys::detail::steps {

/// Outcome: success once the session holds a new access token. A 401 ends the session
/// locally (PROTOCOL.md §5: no other token could succeed).
template <class V = void>  // (members named through dependent_t: see detail/dependent.hpp)
class BasicTokenRefresh {
 public:
  BasicTokenRefresh(ClientState& client, UserState& user, std::string_view host)
      : client_(client), user_(user), host_(host) {}

  Action step(Event event) {
    if (auto* joined = get_if<Joined>(&event)) {
      if (leader_abandoned(joined->outcome)) return attempt();
      return finish(std::move(joined->outcome));
    }
    if (holds_alternative<Start>(event)) return attempt();
    Action action = exchange_->step(std::move(event));
    if (!action.is_done()) return action;
    Result<void> outcome = on_response(exchange_->take());
    lease_.land(outcome);
    return finish(std::move(outcome));
  }

  Result<void> take() { return std::move(*outcome_); }

 private:
  Action attempt() {
    // Reached as a dependent name, so that the flight is compiled only where this is.
    const auto& flight = dependent<V>(user_).refresh_flight;
    if (!flight->try_lead()) return Action::join(flight);
    lease_ = dependent_t<V, FlightLease>(flight);
    Secret refresh = user_.current_refresh_token();
    if (refresh.empty()) {
      Result<void> gone = AppError(errc::not_logged_in, "user " + user_.id + " is logged out");
      lease_.land(gone);
      return finish(std::move(gone));
    }
    exchange_.emplace(client_.make_request(HttpMethod::post, join_url(host_, routes::session()), {},
                                           refresh.reveal()),
                      Idempotency::non_idempotent, client_.config().retry);
    return exchange_->step(Start{});
  }

  Result<void> on_response(Result<HttpResponse> response) {
    constexpr std::string_view context = "access token refresh";
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) {
      if (response->status == 401) user_.clear_tokens();
      return error_from_response(*response, context);
    }
    auto token = wire::parse_refresh_response<V>(response->body, response->status);
    wipe(response->body);
    if (!token) return std::move(token).error();
    user_.set_access_token(std::move(token).value());
    return {};
  }

  Action finish(Result<void> outcome) {
    outcome_.emplace(std::move(outcome));
    return Action::done();
  }

  ClientState& client_;
  UserState& user_;
  std::string_view host_;
  Slot<dependent_t<V, Exchange>> exchange_;
  dependent_t<V, FlightLease> lease_;
  Slot<dependent_t<V, Result<void>>> outcome_;
};
using TokenRefresh = BasicTokenRefresh<>;

}  // namespace appkeys::detail::steps
