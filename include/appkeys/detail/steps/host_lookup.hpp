// appkeys — HostLookup: the host every request goes to (PROTOCOL.md §1), asked for
// once per App however many calls need it at the same time.
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

#include <string_view>
#include <utility>

namespace appkeys::detail::steps {

/// Outcome: the host (a view into ClientState, valid as long as it is). With
/// AppConfig::skip_location it is the base URL, and no request is made.
template <class V = void>  // (members named through dependent_t: see detail/dependent.hpp)
class BasicHostLookup {
 public:
  /// The outcome (dependent on V: see detail/dependent.hpp).
  using Host = Result<dependent_t<V, std::string_view>>;

  explicit BasicHostLookup(ClientState& client) : client_(client) {}

  Action step(Event event) {
    if (auto* joined = get_if<Joined>(&event)) {
      if (leader_abandoned(joined->outcome)) return attempt();
      if (!joined->outcome) return finish(std::move(joined->outcome).error());
      return attempt();  // resolved by the leader (or, rarely, to be asked again)
    }
    if (holds_alternative<Start>(event)) return attempt();
    Action action = exchange_->step(std::move(event));
    if (!action.is_done()) return action;
    return on_response(exchange_->take());
  }

  Host take() { return std::move(*outcome_); }

 private:
  Action attempt() {
    // Every request passes here, so a bad config fails before any I/O even for a User
    // that logged in through another App.
    if (auto ok = client_.check_config(); !ok) return finish(std::move(ok).error());
    if (client_.config().skip_location) return finish(std::string_view(client_.base_url()));
    if (auto host = client_.resolved_host<V>()) return finish(*host);
    // Reached as a dependent name, so that the flight is compiled only where this is.
    const auto& flight = dependent<V>(client_).location_flight();
    if (!flight->try_lead()) return Action::join(flight);
    lease_ = dependent_t<V, FlightLease>(flight);
    // PROTOCOL.md §1: the location request carries no headers at all.
    HttpRequest request{HttpMethod::get,
                        client_.base_url() + routes::location(client_.config().app_id),
                        {},
                        {},
                        client_.config().request_timeout};
    exchange_.emplace(std::move(request), Idempotency::idempotent, client_.config().retry);
    return exchange_->step(Start{});
  }

  Action on_response(Result<HttpResponse> response) {
    Host host = resolve(std::move(response));
    if (host) {
      client_.set_resolved_host(*host);
      host = *client_.resolved_host<V>();
      lease_.land({});
    } else {
      lease_.land(host.error());
    }
    return finish(std::move(host));
  }

  Host resolve(Result<HttpResponse> response) {
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, "location request");
    auto location = wire::parse_location<V>(response->body, response->status);
    if (!location) return std::move(location).error();
    location_text_ = std::move(location->hostname);
    return std::string_view(location_text_);
  }

  Action finish(Host outcome) {
    outcome_.emplace(std::move(outcome));
    return Action::done();
  }

  ClientState& client_;
  Slot<dependent_t<V, Exchange>> exchange_;
  dependent_t<V, FlightLease> lease_;
  std::string location_text_;
  Slot<Host> outcome_;
};
using HostLookup = BasicHostLookup<>;

}  // namespace appkeys::detail::steps
