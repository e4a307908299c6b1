// appkeys — RetryPolicy: whether and how a failed request is tried again.
#pragma once

#include <appkeys/detail/chrono.hpp>

namespace appkeys {

/// Bounded exponential backoff with jitter, honouring Retry-After, applied only where a
/// retry cannot do harm (google-cloud-cpp's retry + idempotency policies in one value):
///
/// - idempotent requests (location, profile, fetch, fetch_all, enable, disable, delete,
///   log out) are retried after a connection failure, a timeout, a dropped connection,
///   or an HTTP 429, 500, 502, 503 or 504;
/// - requests that are not idempotent (create, log in, refresh, register) are retried
///   only when the request provably never reached the server: the connection could not
///   be made (errc::connection_failed). So a key is never created twice.
///
/// A delete whose earlier attempt may have reached the server (it timed out or got a
/// 5xx) and whose retry answers 404 APIKeyNotFound has succeeded: the earlier attempt
/// deleted the key.
///
/// The default is no retry (max_attempts = 1), as in the official SDKs.
///
/// Thread safety: a value type; distinct objects are independent.
struct RetryPolicy {
  /// Attempts in all, the first included; 1 means no retry.
  int max_attempts = 1;
  /// Delay before the first retry; each later one is `multiplier` times longer, capped
  /// at max_backoff.
  std::chrono::milliseconds initial_backoff{100};
  /// The longest delay between two attempts.
  std::chrono::milliseconds max_backoff{5'000};
  /// How much longer each delay is than the one before.
  double multiplier = 2.0;
  /// Fraction of each delay that is random: a delay d becomes uniform in
  /// [d * (1 - jitter), d], so clients that failed together do not retry together.
  double jitter = 0.5;
  /// A Retry-After (seconds) up to this long replaces the backoff delay; a longer one
  /// ends the retries and returns the 429/503 to the caller.
  std::chrono::milliseconds max_retry_after{30'000};

  /// No retry: every request is sent once (the default).
  static RetryPolicy none() { return {}; }
  /// Up to `attempts` attempts in all, with the default delays above.
  static RetryPolicy exponential_backoff(int attempts = 4) {
    RetryPolicy policy;
    policy.max_attempts = attempts;
    return policy;
  }
};

}  // namespace appkeys
