// appkeys — Exchange: one request sent until the RetryPolicy says stop; the only place
// the retry rules (detail/retry_rules.hpp) are applied.
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/retry_rules.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/retry.hpp>

#include <cstdint>
#include <utility>

namespace appkeys::detail::steps {

/// Clears the copies of secrets a request holds (its bearer token, a body with a
/// password or a key name) before the memory is freed. A template only so that it is
/// compiled where a call is made (see detail/dependent.hpp).
template <class = void>
void wipe_request(HttpRequest& request) noexcept {
  for (auto& [name, value] : request.headers) {
    if (iequals(name, "Authorization")) wipe(value);
  }
  wipe(request.body);
}

/// Uniform in [0, 1), for backoff jitter; one generator per thread, so no lock. Jitter
/// needs spread, not secrecy: a splitmix64 sequence seeded from the clock and the
/// thread's own state address, which spares every program <random>.
inline double random_unit() {
  thread_local std::uint64_t state =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&state));
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;  // the top 53 bits: exact in a double
}

/// Sends `request`, and again after a delay while the policy allows (see RetryPolicy).
/// Outcome: the last attempt's Result<HttpResponse>; earlier_outcome_unknown() says
/// whether an attempt before it may have been processed by the server.
///
/// A template (used as Exchange) only so that it is compiled where a call is made, not in
/// every program that includes the client (see detail/dependent.hpp).
template <class V = void>
class BasicExchange {
 public:
  BasicExchange(HttpRequest request, Idempotency idempotency, const RetryPolicy& policy)
      : request_(std::move(request)), idempotency_(idempotency), policy_(policy) {}
  BasicExchange(BasicExchange&&) = default;
  BasicExchange& operator=(BasicExchange&&) = default;
  ~BasicExchange() { wipe_request(request_); }

  Action step(Event event) {
    if (auto* response = get_if<Result<HttpResponse>>(&event)) {
      return on_outcome(std::move(*response));
    }
    return send_attempt();  // Start, or TimerFired after a backoff
  }

  Result<HttpResponse> take() { return std::move(*outcome_); }
  bool earlier_outcome_unknown() const noexcept { return earlier_outcome_unknown_; }

 private:
  Action send_attempt() {
    ++attempts_;
    // The last attempt the policy allows gives the request away; earlier ones copy it.
    if (attempts_ >= policy_.max_attempts) return Action::send(std::move(request_));
    return Action::send(request_);
  }

  Action on_outcome(Result<HttpResponse> outcome) {
    auto delay = retry_delay<V>(policy_, attempts_, outcome, idempotency_, random_unit());
    if (!delay) {
      outcome_.emplace(std::move(outcome));
      return Action::done();
    }
    if (outcome_unknown(outcome)) earlier_outcome_unknown_ = true;
    if (outcome) wipe(outcome->body);
    if (delay->count() > 0) return Action::wait(*delay);
    return send_attempt();
  }

  HttpRequest request_;
  Idempotency idempotency_;
  RetryPolicy policy_;
  int attempts_ = 0;
  bool earlier_outcome_unknown_ = false;
  Slot<Result<HttpResponse>> outcome_;
};
using Exchange = BasicExchange<>;

}  // namespace appkeys::detail::steps
