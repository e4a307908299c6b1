// A behaviour-suite fixture that reaches the FakeBackend over real HTTP: a LocalServer
// on a free loopback port, and Apps whose HttplibTransport talks to it. Add
// appkeys_test::HttplibFixture to APPKEYS_BEHAVIOUR_FIXTURES to run the suite through it
// (the test target then needs `pkg-config --cflags --libs cpp-httplib`).
#pragma once

#include "support/fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/httplib.hpp>

#include <utility>

namespace appkeys_test {

/// Mirrors FakeFixture: owns the server model and makes Apps that reach it, here through
/// a LocalServer and an HttplibTransport (a new one, with its own pool, per App).
struct HttplibFixture {
  static constexpr const char* name = "httplib";
  using transport_type = appkeys::HttplibTransport;

  appkeys::testing::FakeBackend backend;
  appkeys::testing::LocalServer server{backend};  // declared after backend: stops first

  appkeys::AppConfig config() const {
    return appkeys::AppConfig{.app_id = app_id, .base_url = server.base_url()};
  }
  transport_type transport() { return transport_type{}; }

  template <class E = appkeys::SyncExec>
  appkeys::App<transport_type, E> make_app(E executor = E{}) {
    return appkeys::App<transport_type, E>(config(), transport(), std::move(executor));
  }
};

}  // namespace appkeys_test
