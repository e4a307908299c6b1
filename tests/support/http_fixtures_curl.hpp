// The behaviour suite's fixtures for the libcurl transports: the same FakeBackend as
// FakeFixture, reached over real HTTP through a LocalServer on 127.0.0.1 and libcurl's
// easy interface (CurlFixture) or its multi interface on an event loop
// (CurlMultiFixture, run blocking here: SyncExec and the other blocking-style executors
// call its send()). To run the suite through one, add it to APPKEYS_BEHAVIOUR_FIXTURES.
//
// Needs libcurl and cpp-httplib: `pkg-config --cflags --libs cpp-httplib libcurl`.
#pragma once

#include "fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/curl_multi.hpp>

#include <utility>

namespace appkeys_test {

/// Reaches the backend over HTTP on a loopback port, through CurlTransport. Plain
/// http:// is fine here without allow_insecure_http: the server is on 127.0.0.1.
struct CurlFixture {
  static constexpr const char* name = "curl";
  using transport_type = appkeys::CurlTransport;

  appkeys::testing::FakeBackend backend;
  // Declared after the backend: it serves it, so it must stop first.
  appkeys::testing::LocalServer server{backend};

  appkeys::AppConfig config() const {
    return appkeys::AppConfig{.app_id = app_id, .base_url = server.base_url()};
  }
  // Each App gets its own transport (its own pool of kept-alive connections), as an
  // App built by a user with a default-constructed CurlTransport would.
  transport_type transport() { return transport_type{}; }

  template <class E = appkeys::SyncExec>
  appkeys::App<transport_type, E> make_app(E executor = E{}) {
    return appkeys::App<transport_type, E>(config(), transport(), std::move(executor));
  }
};

/// Reaches the backend over HTTP on a loopback port, through CurlMultiTransport: every
/// call goes through its event loop (send() is async_send plus a wait).
struct CurlMultiFixture {
  static constexpr const char* name = "curl_multi";
  using transport_type = appkeys::CurlMultiTransport;

  appkeys::testing::FakeBackend backend;
  // Declared after the backend: it serves it, so it must stop first.
  appkeys::testing::LocalServer server{backend};

  appkeys::AppConfig config() const {
    return appkeys::AppConfig{.app_id = app_id, .base_url = server.base_url()};
  }
  // Each App gets its own transport (its own loop thread and connections).
  transport_type transport() { return transport_type{}; }

  template <class E = appkeys::SyncExec>
  appkeys::App<transport_type, E> make_app(E executor = E{}) {
    return appkeys::App<transport_type, E>(config(), transport(), std::move(executor));
  }
};

}  // namespace appkeys_test
