// appkeys command — `appkeys serve`: the local server in the foreground.
#pragma once

#include <appkeys/server/service.hpp>
#include <appkeys/server/store_uri.hpp>
#include <appkeys/testing/local_server.hpp>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace appkeys::cli {

struct ServeOptions {
  std::uint16_t port = 0;
  std::string app_id;
  std::vector<std::string> users;  // EMAIL:PASSWORD
  std::size_t worker_threads = testing::LocalServer::default_worker_threads;
  std::string store{server::default_store_uri};  // --store URI
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

inline int run_serve(const ServeOptions& options) {
  const sigset_t signals = block_termination_signals();
  server::ServiceOptions service_options;
  service_options.rules.app_id = options.app_id;
  const auto service = open_store(options.store, std::move(service_options));
  if (!service) return 2;
  server::Service& backend = *service;
  for (const auto& entry : options.users) {
    const auto colon = entry.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size()) {
      std::cerr << "appkeys: error: --user takes EMAIL:PASSWORD\n";
      return 2;
    }
    backend.add_email_user(entry.substr(0, colon), entry.substr(colon + 1));
  }
  testing::LocalServer server(backend, options.port, "127.0.0.1", options.worker_threads);
  std::cout << "listening on " << server.base_url() << std::endl;
  std::cerr << "app id: " << (options.app_id.empty() ? "(any)" : options.app_id) << ", "
            << options.users.size() << " user(s), store " << backend.store_uri().to_string()
            << "; stop with Ctrl-C\n";
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "stopping (" << backend.request_count() << " requests served)\n";
  return 0;
}

}  // namespace appkeys::cli
