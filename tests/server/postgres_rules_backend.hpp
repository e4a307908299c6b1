// The server rules over the PostgreSQL store, with FakeBackend's API: fake_backend_test.cpp
// and the behaviour suite are compiled again against it (APPKEYS_TEST_POSTGRES_STORE), so
// every rule is checked against the memory, SQLite and PostgreSQL stores by one test code.
#pragma once

#include "server/sqlite_rules_backend.hpp"  // BackendTransport
#include "server/temp_pg_schema.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/server/postgres_store.hpp>
#include <appkeys/testing/backend/basic_backend.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/httplib.hpp>

#include <utility>

namespace appkeys_test {

namespace postgres_rules_detail {
/// Constructed before the backend (a base listed first), destroyed after it.
struct SchemaFirst {
  TempPgSchema schema;
};
}  // namespace postgres_rules_detail

/// BasicBackend<PostgresStore, HeaderCrypto> in a fresh schema, built like a FakeBackend.
///
/// Thread safety: as BasicBackend.
class PostgresRulesBackend
    : private postgres_rules_detail::SchemaFirst,
      public appkeys::testing::backend::BasicBackend<appkeys::server::PostgresStore,
                                                     appkeys::testing::backend::HeaderCrypto> {
 public:
  PostgresRulesBackend() : PostgresRulesBackend(appkeys::testing::FakeBackendOptions{}) {}
  explicit PostgresRulesBackend(appkeys::testing::FakeBackendOptions options)
      : BasicBackend(std::move(options), appkeys::testing::backend::HeaderCrypto{},
                     schema.options()) {}
  using SchemaFirst::schema;
};

/// The behaviour suite's fixture: the PostgreSQL-backed rules behind a LocalServer,
/// reached with HttplibTransport.
struct PostgresHttplibFixture {
  static constexpr const char* name = "postgres-httplib";
  using transport_type = appkeys::HttplibTransport;

  PostgresRulesBackend backend;
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
