// appkeys command — the exit status of every client command, one per kind of failure a
// script may want to tell apart (retry on 7, fix the command on 2, ask for new
// credentials on 3, treat 4 or 5 as "already in the wanted state").
#pragma once

#include <appkeys/error.hpp>

#include <string_view>

namespace appkeys::cli {

/// The exit statuses of the client commands (create, list, get, enable, disable,
/// delete, register). `serve` and `users` keep their own: 0, 1, 2.
enum class ExitCode : int {
  ok = 0,
  failure = 1,              ///< anything not below (a bug, an interrupted call)
  usage = 2,                ///< bad flags or arguments, found here or by the server (HTTP 400)
  credentials_refused = 3,  ///< HTTP 401/403: wrong password, disabled key, not allowed
  not_found = 4,            ///< HTTP 404: no such key (or app)
  already_exists = 5,       ///< HTTP 409: a key of that name, an account with that email
  server_error = 6,         ///< any other error answer (429, 5xx, ...) or a malformed one
  network = 7,              ///< no answer: cannot connect, timed out, TLS or certificate failure
};

/// The status a failed call exits with. Client-side codes decide first (they come
/// without an HTTP status), then the HTTP status the server answered.
inline ExitCode exit_code_for(const AppError& error) noexcept {
  switch (error.value()) {
    case errc::invalid_argument:    // a key id that is not 24 hex, an empty name
    case errc::insecure_transport:  // http:// off loopback without --allow-insecure-http
      return ExitCode::usage;
    case errc::not_logged_in:
    case errc::provider_not_allowed:  // e.g. create while logged in with an API key
      return ExitCode::credentials_refused;
    case errc::transport:
    case errc::connection_failed:
    case errc::timeout:
    case errc::tls:
      return ExitCode::network;
    case errc::response_too_large:
    case errc::malformed_response:
      return ExitCode::server_error;
    case errc::cancelled:
    case errc::shutting_down:
      return ExitCode::failure;
    default:
      break;
  }
  switch (error.http_status()) {
    case 401:
    case 403:
      return ExitCode::credentials_refused;
    case 404:
      return ExitCode::not_found;
    case 400:  // the server's own argument checks (a key name with a space, ...)
      return ExitCode::usage;
    case 409:
      return ExitCode::already_exists;
    case 0:
      return ExitCode::failure;
    default:
      return ExitCode::server_error;
  }
}

/// The table `appkeys --help` and the README show.
inline constexpr std::string_view exit_codes_help =
    "Exit status (client commands):\n"
    "  0  success\n"
    "  1  any other failure\n"
    "  2  usage error: bad or missing flags or arguments, a key id that is not 24 hex\n"
    "     characters, plain http:// to a host that is not loopback, or arguments the\n"
    "     server refused (HTTP 400: a key name with a space, a 21st key)\n"
    "  3  credentials refused (HTTP 401/403): wrong password, disabled or deleted key,\n"
    "     not allowed for this login\n"
    "  4  not found (HTTP 404): no such key, or no such app\n"
    "  5  already exists (HTTP 409): a key with that name, an account with that email\n"
    "  6  server error: any other error answer (5xx, 429, ...) or a malformed one\n"
    "  7  network or TLS failure: cannot connect, timed out, certificate not trusted\n"
    "serve and users exit 0, 1 (failed) or 2 (bad usage).\n";

}  // namespace appkeys::cli
