// The in-memory fixture of the behaviour suite. Each fixture owns a FakeBackend (the
// server model) and makes Apps that reach it through one transport; the suite is written
// once against this interface and instantiated for every fixture in
// APPKEYS_BEHAVIOUR_FIXTURES (support/all_fixtures.hpp).
#pragma once

#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>

#include <string>
#include <utility>

namespace appkeys_test {

inline constexpr const char* app_id = "shop-abcde";

/// A fixture whose Apps reach an in-memory backend through transport T, built from
/// the backend itself (FakeTransport, testing::FakeAsyncTransport).
template <class T>
struct InMemoryFixture {
  using transport_type = T;

  appkeys::testing::FakeBackend backend;

  appkeys::AppConfig config() const { return appkeys::AppConfig{.app_id = app_id}; }
  transport_type transport() { return transport_type{backend}; }

  template <class E = appkeys::SyncExec>
  appkeys::App<transport_type, E> make_app(E executor = E{}) {
    return appkeys::App<transport_type, E>(config(), transport(), std::move(executor));
  }
};

/// Reaches the backend in memory, with HTTP-shaped requests (FakeTransport).
struct FakeFixture : InMemoryFixture<appkeys::testing::FakeTransport> {
  static constexpr const char* name = "fake";
};

}  // namespace appkeys_test
