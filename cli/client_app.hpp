// appkeys command — the App a client command talks through, built from the client
// options (transport, TLS trust, timeouts, retries), and the exit status of its failure.
#pragma once

#include "client_options.hpp"
#include "exit_codes.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>

#include <iostream>

namespace appkeys::cli {

/// The configuration every client command's App gets.
inline AppConfig client_app_config(const ClientOptions& options) {
  return AppConfig{.app_id = options.app_id,
                   .base_url = options.base_url,
                   .request_timeout = options.timeout(),
                   .skip_location = options.skip_location,
                   .retry = options.retry_policy()};
}

/// Calls `work(app)` with an App over the transport `options` names, and returns the
/// exit status: 0, or the one exit_code_for() gives the AppError it threw, after one
/// line on stderr (an AppError's message never holds a secret).
template <class Work>
int with_client_app(const ClientOptions& options, Work&& work) {
  try {
    if (options.transport == "httplib") {
      App<HttplibTransport> app(client_app_config(options),
                                HttplibTransport(HttplibTransportOptions{
                                    .connect_timeout = options.connect_timeout(),
                                    .ca_file = options.ca_file,
                                    .ca_dir = options.ca_dir,
                                    .allow_insecure_http = options.allow_insecure_http}));
      work(app);
    } else {
      App<CurlTransport> app(
          client_app_config(options),
          CurlTransport(CurlTransportOptions{.connect_timeout = options.connect_timeout(),
                                             .ca_file = options.ca_file,
                                             .ca_dir = options.ca_dir,
                                             .allow_insecure_http = options.allow_insecure_http}));
      work(app);
    }
  } catch (const AppError& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return static_cast<int>(exit_code_for(error));
  }
  return static_cast<int>(ExitCode::ok);
}

}  // namespace appkeys::cli
