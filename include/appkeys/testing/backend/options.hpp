// appkeys — FakeBackendOptions: how the server rules behave where PROTOCOL.md leaves a choice.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace appkeys::testing {

/// How a FakeBackend (or any backend built on backend::BasicBackend) behaves where
/// PROTOCOL.md leaves a choice.
///
/// Thread safety: a value type; a backend keeps its own copy.
struct FakeBackendOptions {
  /// Empty: serve any app id. Otherwise app-scoped routes naming another app get 404.
  std::string app_id;
  /// How long an access token is accepted (its `exp` claim).
  std::chrono::seconds access_token_lifetime{30 * 60};
  /// How long a refresh token, and so a session, is accepted.
  std::chrono::seconds refresh_token_lifetime{60 * 24 * 3600};
  /// The documented per-user limit; the next create is refused with 400.
  std::size_t max_keys_per_user = 20;
  /// Longer key names are refused with 400 InvalidParameter (PROTOCOL.md §6).
  std::size_t max_key_name_bytes = 256;
  /// Larger request bodies are refused with 413 before they are parsed.
  std::size_t max_body_bytes = 1 << 20;
  /// Live sessions kept at most; a login past it ends the oldest session (its client
  /// gets 401 and is logged out), so a long-running `appkeys serve` that a client
  /// floods with logins stays bounded. An anonymous user goes with its last session:
  /// nothing could ever log in as it again (App Services deletes them likewise).
  std::size_t max_sessions = 100'000;
  /// Entries request_log() keeps, newest last; request_count() still counts them all.
  std::size_t request_log_limit = 10'000;
  /// Failed password logins in a row one account may have before it is slowed down;
  /// 0 (the default for tests) never slows anyone. Past it, every further login for
  /// that email is refused (401 InvalidPassword) without looking at the password for a
  /// window that doubles with each failure (1 s, 2 s, 4 s, ... up to max_login_delay).
  /// A correct login outside a window clears the count. Kept in memory, per process.
  std::size_t failed_logins_before_delay = 0;
  /// The longest window failed_logins_before_delay can impose.
  std::chrono::seconds max_login_delay{15 * 60};
};

}  // namespace appkeys::testing
