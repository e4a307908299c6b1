// appkeys command — `appkeys serve`: the local server in the foreground.
#pragma once

#include <appkeys/testing/fake.hpp>
#include <appkeys/testing/local_server.hpp>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace appkeys::cli {

struct ServeOptions {
  std::uint16_t port = 0;
  std::string app_id;
  std::vector<std::string> users;  // EMAIL:PASSWORD
  std::size_t worker_threads = testing::LocalServer::default_worker_threads;
};

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
  testing::FakeBackend backend(testing::FakeBackendOptions{.app_id = options.app_id});
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
            << options.users.size() << " user(s); stop with Ctrl-C\n";
  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "stopping (" << backend.request_count() << " requests served)\n";
  return 0;
}

}  // namespace appkeys::cli
