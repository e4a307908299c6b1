// A behaviour-suite fixture that reaches the FakeBackend over real HTTP: a LocalServer
// on a free loopback port, and Apps whose HttplibTransport talks to it. Add
// appkeys_test::HttplibFixture to APPKEYS_BEHAVIOUR_FIXTURES to run the suite through it
// (the test target then needs `pkg-config --cflags --libs cpp-httplib`).
#pragma once

#include "support/loopback_fixture.hpp"

#include <appkeys/transport/httplib.hpp>

namespace appkeys_test {

/// Mirrors FakeFixture: owns the server model and makes Apps that reach it, here through
/// a LocalServer and an HttplibTransport (a new one, with its own pool, per App).
struct HttplibFixture : LoopbackFixture<appkeys::HttplibTransport> {
  static constexpr const char* name = "httplib";
};

}  // namespace appkeys_test
