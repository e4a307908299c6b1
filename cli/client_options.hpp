// appkeys command — the options every client command takes (where the server is, how to
// log in, how to talk to it), accepted before or after the subcommand.
#pragma once

#include <appkeys/detail/json.hpp>  // detail::wipe
#include <appkeys/retry.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace appkeys::cli {

/// What the client commands were given. The secrets (`password`, `api_key`) hold only
/// what came on the command line, and are wiped once the login has read them.
struct ClientOptions {
  std::string base_url = "https://services.cloud.mongodb.com";
  std::string app_id;
  std::string email;            // --email (else APPKEYS_EMAIL)
  std::string password;         // --password: visible in `ps`; prefer the two below
  bool password_stdin = false;  // --password-stdin
  std::string api_key;          // --api-key: visible in `ps` too
  bool api_key_stdin = false;   // --api-key-stdin
  bool json = false;
  bool skip_location = false;
  bool allow_insecure_http = false;
  std::string ca_file;  // trust this PEM CA bundle instead of the system's
  std::string ca_dir;   // trust this directory of hashed CA certificates instead
  long long timeout_ms = 30'000;
  long long connect_timeout_ms = 10'000;
  int retries = 2;
  std::string transport = "curl";

  /// The bound on each HTTP exchange.
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms); }
  /// The bound on establishing one connection.
  std::chrono::milliseconds connect_timeout() const {
    return std::chrono::milliseconds(connect_timeout_ms);
  }
  /// `--retries N`: N more attempts where a retry cannot do harm (see RetryPolicy).
  RetryPolicy retry_policy() const { return RetryPolicy::exponential_backoff(retries + 1); }
};

/// The help group of the client options; each client subcommand's --help lists it too.
inline constexpr const char* client_options_group =
    "Client options (before or after the subcommand)";

/// The options whose values are secrets, so that CLI11's copies can be wiped once read.
struct SecretOptions {
  CLI::Option* password = nullptr;  ///< --password
  CLI::Option* api_key = nullptr;   ///< --api-key
};

/// Adds the client options to `cli` (the top-level command); subcommands that
/// `fallthrough()` accept them after their name as well.
inline SecretOptions add_client_options(CLI::App& cli, ClientOptions& options) {
  const std::string group = client_options_group;
  auto add = [&](CLI::Option* option) { return option->group(group); };
  add(cli.add_option("--base-url", options.base_url, "server address")
          ->envname("APPKEYS_BASE_URL")
          ->capture_default_str());
  add(cli.add_option("--app-id", options.app_id, "client app id")->envname("APPKEYS_APP_ID"));
  auto* email = add(cli.add_option("--email", options.email,
                                   "log in with this email (env APPKEYS_EMAIL); the password "
                                   "comes from --password-stdin, APPKEYS_PASSWORD or a prompt"));
  auto* password = add(cli.add_option(
      "--password", options.password,
      "password for --email; visible to every user in `ps`: prefer --password-stdin"));
  auto* password_stdin = add(cli.add_flag("--password-stdin", options.password_stdin,
                                          "read the password from stdin (up to EOF)"));
  auto* api_key = add(cli.add_option("--api-key", options.api_key,
                                     "log in with an API key instead (env APPKEYS_API_KEY); "
                                     "visible in `ps`: prefer --api-key-stdin"));
  auto* api_key_stdin =
      add(cli.add_flag("--api-key-stdin", options.api_key_stdin, "read the API key from stdin"));
  password->excludes(password_stdin);
  api_key->excludes(api_key_stdin);
  for (auto* key_option : {api_key, api_key_stdin}) {
    for (auto* password_option : {email, password, password_stdin}) {
      key_option->excludes(password_option);
    }
  }
  add(cli.add_flag("--json", options.json, "machine-readable output"));
  add(cli.add_flag("--skip-location", options.skip_location,
                   "send requests to --base-url without asking for the app's location"));
  add(cli.add_flag("--allow-insecure-http", options.allow_insecure_http,
                   "allow plain http:// to a host that is not loopback (sends secrets in clear)"));
  add(cli.add_option("--ca-file", options.ca_file,
                     "trust the CA certificates in this PEM file instead of the system's "
                     "(e.g. a self-signed server's)")
          ->envname("APPKEYS_CA_FILE"));
  add(cli.add_option("--ca-dir", options.ca_dir,
                     "trust the CA certificates in this directory (hashed, c_rehash) instead "
                     "of the system's")
          ->envname("APPKEYS_CA_DIR"));
  add(cli.add_option("--timeout-ms", options.timeout_ms,
                     "bound on each HTTP exchange (each retry gets its own)")
          ->check(CLI::Range(1LL, 3'600'000LL))
          ->capture_default_str());
  add(cli.add_option("--connect-timeout-ms", options.connect_timeout_ms,
                     "bound on establishing each connection (TCP and TLS)")
          ->check(CLI::Range(1LL, 3'600'000LL))
          ->capture_default_str());
  add(cli.add_option("--retries", options.retries,
                     "retries after a failure that a retry cannot make worse: connection "
                     "refused, and for reads, enable, disable and delete also a timeout, "
                     "429 or 5xx (with backoff)")
          ->check(CLI::Range(0, 10))
          ->capture_default_str());
  add(cli.add_option("--transport", options.transport, "network transport")
          ->check(CLI::IsMember({"curl", "httplib"}))
          ->capture_default_str());
  return {password, api_key};
}

/// Wipes what CLI11 kept of a secret option's value and forgets it. CLI11 hands out
/// its parsed strings only as const references, but they are not const objects, so
/// writing through them is well defined.
inline void forget_option_values(CLI::Option* option) {
  if (option == nullptr) return;
  for (const std::string& value : option->results()) {
    detail::wipe(const_cast<std::string&>(value));
  }
  option->clear();
}

}  // namespace appkeys::cli
