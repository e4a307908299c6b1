// What the behaviour suite's HTTP fixtures share: a backend served over real HTTP by a
// LocalServer on a free loopback port, and Apps that reach it through transport T (a new
// transport per App, with its own connections, as an App built by a user with a
// default-constructed transport would). Plain http:// needs no allow_insecure_http
// here: the server is on 127.0.0.1.
//
// Needs cpp-httplib (the LocalServer): `pkg-config --cflags --libs cpp-httplib`.
#pragma once

#include "support/fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>

#include <utility>

namespace appkeys_test {

/// Reaches a `Backend` (the in-memory FakeBackend unless said otherwise) over HTTP on a
/// loopback port, through T.
template <class T, class Backend = appkeys::testing::FakeBackend>
struct LoopbackFixture {
  using transport_type = T;

  Backend backend;
  // Declared after the backend: it serves it, so it must stop first.
  appkeys::testing::LocalServer server{backend};

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
