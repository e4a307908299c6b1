// The server rules over the SQLite store, with FakeBackend's API: fake_backend_test.cpp
// and the behaviour suite are compiled again against it (APPKEYS_TEST_SQLITE_STORE), so
// every rule is checked against both stores by the same test code.
#pragma once

#include "server/temp_store.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/server/sqlite_store.hpp>
#include <appkeys/testing/backend/basic_backend.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/httplib.hpp>

#include <utility>

namespace appkeys_test {

namespace sqlite_rules_detail {
/// Constructed before the backend (a base listed first), destroyed after it.
struct DirFirst {
  TempStoreDir dir;
};
}  // namespace sqlite_rules_detail

/// BasicBackend<SqliteStore, HeaderCrypto> on a fresh file, built like a FakeBackend.
/// HeaderCrypto keeps password hashing fast (the rules, not scrypt, are under test here).
///
/// Thread safety: as BasicBackend.
class SqliteRulesBackend
    : private sqlite_rules_detail::DirFirst,
      public appkeys::testing::backend::BasicBackend<appkeys::server::SqliteStore,
                                                     appkeys::testing::backend::HeaderCrypto> {
 public:
  SqliteRulesBackend() : SqliteRulesBackend(appkeys::testing::FakeBackendOptions{}) {}
  explicit SqliteRulesBackend(appkeys::testing::FakeBackendOptions options)
      : BasicBackend(std::move(options), appkeys::testing::backend::HeaderCrypto{}, dir.db_path()) {
  }
  using DirFirst::dir;
};

/// FakeTransport's behaviour over any backend.
///
/// Thread safety: as FakeTransport.
template <class Backend>
class BackendTransport {
 public:
  explicit BackendTransport(Backend& backend) noexcept : backend_(&backend) {}
  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest& request) {
    if (!appkeys::testing::fake_detail::is_absolute_http_url(request.url)) {
      return appkeys::AppError(
          appkeys::errc::transport,
          "FakeTransport: the request URL is not an absolute http:// or https:// URL");
    }
    return backend_->handle(request);
  }

 private:
  Backend* backend_;
};

/// The behaviour suite's fixture: the SQLite-backed rules behind a LocalServer, reached
/// with HttplibTransport.
struct SqliteHttplibFixture {
  static constexpr const char* name = "sqlite-httplib";
  using transport_type = appkeys::HttplibTransport;

  SqliteRulesBackend backend;
  appkeys::testing::LocalServer server{backend};  // declared after backend: stops first

  appkeys::AppConfig config() const {
    return appkeys::AppConfig{.app_id = "shop-abcde", .base_url = server.base_url()};
  }
  transport_type transport() { return transport_type{}; }

  template <class E = appkeys::SyncExec>
  appkeys::App<transport_type, E> make_app(E executor = E{}) {
    return appkeys::App<transport_type, E>(config(), transport(), std::move(executor));
  }
};

}  // namespace appkeys_test
