// The PostgreSQL store behind `appkeys serve --store postgresql://...`: the Store suite
// (store_test.cpp) over a fresh schema, then what only PostgreSQL does: servers starting
// at once agree on one signing secret, connections the database dropped are replaced, an
// unreachable database is a quick StoreUnavailable (503), and the URI is parsed without
// ever showing its password. Compiled into the PostgreSQL test binary only.
#include "server/postgres_under_test.hpp"

#define APPKEYS_STORE_SUITE_STORES appkeys_test::PostgresUnderTest
#include "server/store_test.cpp"  // NOLINT(bugprone-suspicious-include): the suite itself

#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace store_test {  // the suite's own namespace: these cases use its helpers

TEST_CASE("PostgreSQL store: stores opening an empty schema at once agree on one secret",
          "[server][postgres][secret]") {
  appkeys_test::TempPgSchema schema;
  constexpr int stores = 4;
  std::vector<std::string> secrets(stores);
  std::vector<std::string> errors(stores);
  all_at_once(stores, [&](int t) {
    try {
      // Each creates (or finds) the schema, then offers its own candidate secret.
      appkeys::server::PostgresStore store(schema.options(2));
      secrets[t] = store.load_or_store_secret("test_secret", "candidate-" + std::to_string(t));
    } catch (const std::exception& error) {
      errors[t] = error.what();
    }
  });
  for (const auto& error : errors) CHECK(error.empty());
  CHECK(std::set<std::string>(secrets.begin(), secrets.end()).size() == 1);
  CHECK(secrets[0].rfind("candidate-", 0) == 0);
}

TEST_CASE("PostgreSQL store: connections the database closed are replaced without an error",
          "[server][postgres][faults]") {
  appkeys_test::PostgresUnderTest place;
  auto service = open_service_in(place);
  service->add_email_user(email, password);
  appkeys::testing::LocalServer server(*service);
  RawClient client(server.base_url());
  const std::string refresh = login_email(client).at("refresh_token");
  REQUIRE(client.create_key(refresh, "before").status == 201);
  {
    // What a database restart does to the pool: every connection closed under it.
    appkeys::server::PostgresOptions admin;
    admin.conninfo = std::getenv(appkeys_test::postgres_uri_variable);
    appkeys::server::pg::Connection c(admin);
    auto killed =
        c.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
               {place.schema.name()});
    CHECK(killed.rows() >= 1);
  }
  // Reads and writes alike: each one broke before COMMIT, so it runs again on a fresh
  // connection, and the caller sees no error.
  CHECK(client.send(HttpMethod::get, routes::api_keys(), {}, refresh).status == 200);
  CHECK(client.create_key(refresh, "after").status == 201);
  CHECK(json::parse(client.send(HttpMethod::get, routes::api_keys(), {}, refresh).body).size() ==
        2);
}

TEST_CASE("PostgreSQL store: an unreachable database is a quick StoreUnavailable",
          "[server][postgres][faults]") {
  appkeys::server::PostgresOptions options;
  options.conninfo = "postgresql://appkeys@/appkeys?host=/nonexistent/appkeys-socket-dir";
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(appkeys::server::PostgresStore(options),
                  appkeys::testing::backend::StoreUnavailable);
  // A bound for hangs only: connect_timeout is 5 s, a missing socket fails at once.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
  try {
    appkeys::server::PostgresStore store(options);
  } catch (const std::exception& error) {
    CHECK(contains(error.what(), "cannot connect to PostgreSQL"));
  }
}

TEST_CASE("PostgreSQL store URIs", "[server][postgres][uri]") {
  using appkeys::server::parse_store_uri;
  using Kind = appkeys::server::StoreUri::Kind;
  const auto uri = parse_store_uri("postgresql://ann:hunter2secret@db.example:6543/keys");
  CHECK(uri.kind == Kind::postgresql);
  CHECK(uri.to_string() == "postgresql://ann@db.example:6543/keys");
  CHECK(uri.pool_size == 0);
  const auto pooled = parse_store_uri("postgres://ann@localhost/keys?sslmode=require&pool_size=16");
  CHECK(pooled.pool_size == 16);
  CHECK(pooled.conninfo == "postgres://ann@localhost/keys?sslmode=require");
  CHECK(parse_store_uri("postgresql:///keys?host=/run/pg").to_string() ==
        "postgresql:///keys?host=/run/pg");
  CHECK(contains(uri_refusal("postgresql://a@h/d?pool_size=0"), "pool_size must be"));
  CHECK(contains(uri_refusal("postgresql://a@h/d?pool_size=x"), "pool_size must be"));
  CHECK(contains(uri_refusal("postgresql://a@h/d?no_such_param=1"), "no_such_param"));
  // The password is never shown, whatever is wrong with the URI.
  for (const char* bad : {"postgresql://ann:hunter2secret@h/d?pool_size=0",
                          "postgresql://ann:hunter2secret@h/d?bogus=1",
                          "postgresql://h/d?password=hunter2secret&bogus=1"}) {
    const std::string message = uri_refusal(bad);
    CHECK_FALSE(message.empty());
    CHECK_FALSE(contains(message, "hunter2secret"));
  }
}

}  // namespace store_test
