// appkeys — which failures may be retried, and after how long (see RetryPolicy).
//
// Pure functions, so every rule is testable without a clock or a server. Those that use
// std::optional or <cmath> are templates only so that they are compiled where
// a call is made, not in every program that includes the client (see detail/dependent.hpp).
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/retry.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

namespace appkeys::detail {

enum class Idempotency { idempotent, non_idempotent };

/// Statuses that say "not now" rather than "no".
constexpr bool is_transient_status(int status) noexcept {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/// True when the request may have been processed by the server even though the caller
/// got no usable answer: a timeout or a dropped connection after sending, or a
/// transient 5xx. A refused connection never reached it.
template <class = void>
bool outcome_unknown(const Result<HttpResponse>& outcome) noexcept {
  if (!outcome) {
    const errc code = outcome.error().value();
    return code == errc::timeout || code == errc::transport;
  }
  return outcome->status >= 500;
}

/// Retry-After in delay-seconds form; HTTP-date and anything else is ignored.
template <class V = void>
std::optional<dependent_t<V, std::chrono::milliseconds>> retry_after(const Headers& headers) {
  auto value = header_value<V>(headers, "Retry-After");
  if (!value) return std::nullopt;
  std::string_view text = *value;
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  // delay-seconds = 1*DIGIT (RFC 9110 §10.2.3): no sign, no fraction. A day at most;
  // the loop stops there, so no length of digits can overflow.
  constexpr long long longest = 24 * 3600;
  if (text.empty()) return std::nullopt;
  long long seconds = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
    if (seconds > longest) return std::nullopt;
  }
  return std::chrono::milliseconds(seconds * 1000);
}

/// How long to wait before attempt number `attempts_done + 1`, or nullopt to stop and
/// return `outcome`. `random01` is uniform in [0, 1).
template <class V = void>
std::optional<dependent_t<V, std::chrono::milliseconds>> retry_delay(
    const RetryPolicy& policy, int attempts_done, const Result<HttpResponse>& outcome,
    Idempotency idempotency, double random01) {
  if (attempts_done >= policy.max_attempts) return std::nullopt;
  bool retryable = false;
  if (!outcome) {
    const errc code = outcome.error().value();
    // A refused connection proves the request never left: safe for every request.
    retryable =
        code == errc::connection_failed || (idempotency == Idempotency::idempotent &&
                                            (code == errc::timeout || code == errc::transport));
  } else {
    retryable = idempotency == Idempotency::idempotent && is_transient_status(outcome->status);
  }
  if (!retryable) return std::nullopt;

  if (outcome) {
    if (auto after = retry_after<V>(outcome->headers)) {
      if (*after > policy.max_retry_after) return std::nullopt;
      return *after;
    }
  }
  const double base = static_cast<double>(policy.initial_backoff.count()) *
                      std::pow(std::max(policy.multiplier, 1.0), attempts_done - 1);
  const double capped = std::min(base, static_cast<double>(policy.max_backoff.count()));
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  const double delay = capped * (1.0 - jitter * std::clamp(random01, 0.0, 1.0));
  return std::chrono::milliseconds(static_cast<long long>(std::max(delay, 0.0)));
}

}  // namespace appkeys::detail
