// appkeys command — `appkeys serve`: the local server in the foreground.
#pragma once

#include "serve_support.hpp"

#include <appkeys/server/service.hpp>
#include <appkeys/server/store_uri.hpp>
#include <appkeys/testing/local_server.hpp>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace appkeys::cli {

struct ServeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string app_id;
  std::vector<std::string> users;  // EMAIL:PASSWORD
  std::size_t worker_threads = testing::LocalServer::default_worker_threads;
  std::string tls_cert;
  std::string tls_key;
  bool allow_insecure_http = false;
  bool log = false;
  long long delay_ms = 0;
  std::string store{server::default_store_uri};  // --store URI
  std::vector<std::string> cors_origins;         // --cors-origin ORIGIN (repeatable)
};

/// The service over the store `uri` names, or nullptr after printing why not (a bad
/// URI, a file that is not an appkeys store, a schema from a newer appkeys).
inline std::unique_ptr<server::Service> open_store(const std::string& uri,
                                                   server::ServiceOptions options = {}) {
  try {
    return server::open_service(server::parse_store_uri(uri), std::move(options));
  } catch (const std::exception& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return nullptr;
  }
}

/// How long a stop may take, beyond the configured delay, before the process exits
/// without waiting (httplib's own read and write timeouts, 5 s, fit in it).
inline constexpr std::chrono::seconds stop_bound{10};

/// Blocks SIGINT and SIGTERM in every thread (call before any thread starts) so that
/// the main thread can wait for them with sigwait and shut the server down cleanly.
inline sigset_t block_termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

/// The flags that make no server, with the message to print; nothing when they are fine.
inline std::optional<std::string> serve_usage_error(const ServeOptions& options) {
  for (const auto& entry : options.users) {
    if (!split_user(entry)) return "--user takes EMAIL:PASSWORD";
  }
  if (options.host.empty()) return "--host needs an address";
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return "--tls-cert and --tls-key go together: give both or neither";
  }
  if (options.tls_cert.empty() && !options.allow_insecure_http && !is_loopback_host(options.host)) {
    return "refusing to serve plain HTTP on " + options.host +
           ", which is not a loopback address: passwords, tokens and key values would cross "
           "the network in clear. Give --tls-cert FILE --tls-key FILE, or "
           "--allow-insecure-http to accept that risk";
  }
  return std::nullopt;
}

/// Makes sure each EMAIL:PASSWORD user exists with that password: a new email is added,
/// an existing one keeps its id, keys and sessions and gets the password given, so the
/// same flags are safe on every start.
template <class Backend>
void ensure_users(Backend& backend, const std::vector<std::string>& users) {
  for (const auto& entry : users) {
    auto user = split_user(entry);
    backend.add_email_user(user->first, user->second);  // the rules' "ensure" semantics
  }
}

inline int run_serve(ServeOptions options) {
  options.host = unbracketed(options.host);
  if (auto error = serve_usage_error(options)) {
    std::cerr << "appkeys: error: " << *error << '\n';
    return 2;
  }
  const sigset_t signals = block_termination_signals();
  server::ServiceOptions service_options;
  service_options.rules.app_id = options.app_id;
  const auto service = open_store(options.store, std::move(service_options));
  if (!service) return 2;
  server::Service& backend = *service;
  ensure_users(backend, options.users);
  testing::LocalServerOptions server_options{
      .host = options.host,
      .port = options.port,
      .worker_threads = options.worker_threads,
      .delay = std::chrono::milliseconds(options.delay_ms),
      .tls_cert_file = options.tls_cert,
      .tls_key_file = options.tls_key,
      .access_log = options.log ? stderr_access_log() : nullptr,
      .cors_origins = options.cors_origins};
  std::optional<testing::LocalServer> server;
  try {
    server.emplace(backend, std::move(server_options));
  } catch (const AppError& error) {
    std::string message = error.what();
    if (message.starts_with("LocalServer: ")) message.erase(0, 13);
    std::cerr << "appkeys: error: " << message << '\n';
    return error.code() == errc::connection_failed ? 1 : 2;
  }
  std::cout << "listening on " << server->base_url() << std::endl;
  std::cerr << "app id: " << (options.app_id.empty() ? "(any)" : options.app_id) << ", "
            << options.users.size() << " user(s), store " << backend.store_uri().to_string()
            << "; stop with Ctrl-C\n";
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "stopping: finishing the requests in flight\n";
  {
    StopWatchdog watchdog(signals, stop_bound + std::chrono::milliseconds(options.delay_ms));
    server.reset();  // stops accepting, then waits for the requests in flight
    watchdog.finished();
  }
  std::cerr << "stopped (" << backend.request_count() << " requests served)\n";
  return 0;
}

}  // namespace appkeys::cli
