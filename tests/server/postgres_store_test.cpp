// The PostgreSQL store behind `appkeys serve --store postgresql://...`: state survives
// reopening, the key rules hold under concurrent requests to two stores on one schema
// (as two servers would be), servers starting at once agree on one signing secret,
// nothing secret is in clear in any table, connections the database dropped are replaced,
// an unreachable database is a quick StoreUnavailable (503), schemas it cannot trust are
// refused, and the URI is parsed without ever showing its password.
#include "server/http_client.hpp"
#include "server/live_session_checks.hpp"
#include "server/temp_pg_schema.hpp"

#include <appkeys/server/postgres_store.hpp>
#include <appkeys/server/service.hpp>
#include <appkeys/server/store_uri.hpp>
#include <appkeys/testing/local_server.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using appkeys::HttpMethod;
using appkeys::server::Service;
using appkeys_test::RawClient;
using appkeys_test::TempPgSchema;
using json = nlohmann::json;
namespace routes = appkeys::detail::routes;

const std::string email = "ann@example.com";
const std::string password = "correct horse battery";

std::unique_ptr<Service> open_postgres(const TempPgSchema& schema, bool real_scrypt = false) {
  appkeys::server::ServiceOptions options;
  if (!real_scrypt) options.scrypt.log2_n = 4;
  return appkeys::server::open_service(appkeys::server::parse_store_uri(schema.uri()), options);
}

json login_email(RawClient& client) {
  return client.login("local-userpass", {{"username", email}, {"password", password}});
}

bool contains(std::string_view haystack, std::string_view needle) {
  return !needle.empty() && haystack.find(needle) != std::string_view::npos;
}

/// Runs `body(t)` on `threads` threads released together.
template <class Body>
void all_at_once(int threads, Body body) {
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      body(t);
    });
  }
  for (auto& worker : workers) worker.join();
}

/// Every row of every appkeys table in the schema, as text.
std::string dump_tables(const TempPgSchema& schema) {
  appkeys::server::pg::Connection c(schema.options());
  std::string out;
  for (const char* table :
       {"meta", "users", "api_keys", "key_identities", "sessions", "tokens", "appkeys_schema"}) {
    auto rows = c.exec(std::string("SELECT t::text FROM ") + table + " t");
    for (int i = 0; i < rows.rows(); ++i) out += rows.text(i, 0) + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("PostgreSQL store: state survives closing and reopening",
          "[server][postgres][durability]") {
  TempPgSchema schema;
  std::string refresh, kept_value, deleted_value, user_id;
  {
    auto service = open_postgres(schema);
    user_id = service->add_email_user(email, password);
    appkeys::testing::LocalServer server(*service);
    RawClient client(server.base_url());
    refresh = login_email(client).at("refresh_token");
    auto kept = client.create_key(refresh, "kept");
    auto deleted = client.create_key(refresh, "deleted");
    REQUIRE(kept.status == 201);
    REQUIRE(deleted.status == 201);
    kept_value = json::parse(kept.body).at("key");
    deleted_value = json::parse(deleted.body).at("key");
    const std::string deleted_id = json::parse(deleted.body).at("_id");
    CHECK(client.send(HttpMethod::del, routes::api_key(deleted_id), {}, refresh).status == 204);
  }
  auto service = open_postgres(schema);
  appkeys::testing::LocalServer server(*service);
  RawClient client(server.base_url());
  auto listed = client.send(HttpMethod::get, routes::api_keys(), {}, refresh);
  REQUIRE(listed.status == 200);
  const json keys = json::parse(listed.body);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].at("name") == "kept");
  CHECK(client.login("api-key", {{"key", kept_value}}).at("user_id") == user_id);
  CHECK(client.login("api-key", {{"key", deleted_value}}).is_null());
}

TEST_CASE("PostgreSQL store: the combined session reads refuse what the rules refuse",
          "[server][postgres][store]") {
  TempPgSchema schema;
  appkeys::server::PostgresStore store(schema.options());
  appkeys_test::check_live_session_reads(store);
}

TEST_CASE("PostgreSQL store: two stores on one schema, the same name 8 times at once, made once",
          "[server][postgres][concurrency]") {
  TempPgSchema schema;
  auto first = open_postgres(schema);
  auto second = open_postgres(schema);
  const std::string user_id = first->add_email_user(email, password);
  appkeys::testing::LocalServer server_a(*first);
  appkeys::testing::LocalServer server_b(*second);
  RawClient setup(server_a.base_url());
  const std::string refresh = login_email(setup).at("refresh_token");

  constexpr int threads = 8;
  std::vector<int> statuses(threads);
  std::vector<std::string> codes(threads);
  all_at_once(threads, [&](int t) {
    RawClient client(t % 2 == 0 ? server_a.base_url() : server_b.base_url());
    auto response = client.create_key(refresh, "same-name");
    statuses[t] = response.status;
    codes[t] = appkeys_test::error_code_of(response);
  });
  int created = 0, conflicts = 0;
  for (int t = 0; t < threads; ++t) {
    if (statuses[t] == 201) ++created;
    if (statuses[t] == 409 && codes[t] == "APIKeyAlreadyExists") ++conflicts;
  }
  CHECK(created == 1);
  CHECK(conflicts == threads - 1);
  CHECK(second->key_count(user_id) == 1);
}

TEST_CASE("PostgreSQL store: 25 creates at once for one user, over two stores, make 20",
          "[server][postgres][concurrency]") {
  TempPgSchema schema;
  auto first = open_postgres(schema);
  auto second = open_postgres(schema);
  const std::string user_id = first->add_email_user(email, password);
  appkeys::testing::LocalServer server_a(*first);
  appkeys::testing::LocalServer server_b(*second);
  RawClient setup(server_a.base_url());
  const std::string refresh = login_email(setup).at("refresh_token");

  constexpr int threads = 25;
  std::vector<int> statuses(threads);
  std::vector<std::string> codes(threads);
  all_at_once(threads, [&](int t) {
    RawClient client(t % 2 == 0 ? server_a.base_url() : server_b.base_url());
    auto response = client.create_key(refresh, "key-" + std::to_string(t));
    statuses[t] = response.status;
    codes[t] = appkeys_test::error_code_of(response);
  });
  int created = 0, refused = 0;
  for (int t = 0; t < threads; ++t) {
    if (statuses[t] == 201) ++created;
    if (statuses[t] == 400 && codes[t] == "InvalidParameter") ++refused;
  }
  CHECK(created == 20);
  CHECK(refused == 5);
  CHECK(first->key_count(user_id) == 20);
}

TEST_CASE("PostgreSQL store: stores opening an empty schema at once agree on one secret",
          "[server][postgres][secret]") {
  TempPgSchema schema;
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

TEST_CASE("PostgreSQL store: no key value, token or password in clear in any table",
          "[server][postgres][secrets]") {
  TempPgSchema schema;
  auto service = open_postgres(schema, /*real_scrypt=*/true);
  service->add_email_user(email, password);
  appkeys::testing::LocalServer server(*service);
  RawClient client(server.base_url());
  std::vector<std::string> secrets = {password};
  const json tokens = login_email(client);
  REQUIRE(tokens.is_object());
  const std::string refresh = tokens.at("refresh_token");
  secrets.push_back(refresh);
  secrets.push_back(tokens.at("access_token"));
  auto response = client.create_key(refresh, "one");
  REQUIRE(response.status == 201);
  const std::string value = json::parse(response.body).at("key");
  secrets.push_back(value);
  const json by_key = client.login("api-key", {{"key", value}});
  REQUIRE(by_key.is_object());
  secrets.push_back(by_key.at("refresh_token"));
  auto refreshed = client.send(HttpMethod::post, routes::session(), {}, refresh);
  REQUIRE(refreshed.status == 201);
  secrets.push_back(json::parse(refreshed.body).at("access_token"));
  const std::size_t whole = secrets.size();
  for (std::size_t i = 1; i < whole; ++i) {
    if (secrets[i].find('.') != std::string::npos) {
      secrets.push_back(secrets[i].substr(secrets[i].rfind('.') + 1));
    }
  }
  const std::string data = dump_tables(schema);
  REQUIRE(contains(data, "ann@example.com"));  // the dump did read the tables
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    INFO("secret #" << i);  // never the secret itself
    CHECK_FALSE(contains(data, secrets[i]));
  }
  CHECK(contains(data, "$scrypt$ln=15,r=8,p=1$"));
}

TEST_CASE("PostgreSQL store: connections the database closed are replaced without an error",
          "[server][postgres][faults]") {
  TempPgSchema schema;
  auto service = open_postgres(schema);
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
               {schema.name()});
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

TEST_CASE("PostgreSQL store: schemas it cannot trust are refused with a clear message",
          "[server][postgres][schema]") {
  TempPgSchema schema;
  const auto message_of = [&] {
    try {
      appkeys::server::PostgresStore store(schema.options(1));
    } catch (const appkeys::server::StoreError& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  SECTION("a schema from a newer appkeys") {
    { appkeys::server::PostgresStore store(schema.options(1)); }
    appkeys::server::pg::Connection(schema.options())
        .exec_script("UPDATE appkeys_schema SET version = 7");
    CHECK(contains(message_of(), "schema version 7, newer than this appkeys knows (1)"));
  }
  SECTION("someone else's tables") {
    appkeys::server::pg::Connection(schema.options()).exec_script("CREATE TABLE notes (t TEXT)");
    CHECK(contains(message_of(), "not an appkeys store"));
  }
  SECTION("the current schema opens again and keeps its version") {
    { appkeys::server::PostgresStore store(schema.options(1)); }
    CHECK(message_of().empty());
    auto version = appkeys::server::pg::Connection(schema.options())
                       .exec("SELECT version FROM appkeys_schema");
    CHECK(version.integer(0, 0) == appkeys::server::PostgresStore::schema_version);
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
  const auto refusal = [](std::string_view text) {
    try {
      (void)parse_store_uri(text);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  CHECK(contains(refusal("postgresql://a@h/d?pool_size=0"), "pool_size must be"));
  CHECK(contains(refusal("postgresql://a@h/d?pool_size=x"), "pool_size must be"));
  CHECK(contains(refusal("postgresql://a@h/d?no_such_param=1"), "no_such_param"));
  // The password is never shown, whatever is wrong with the URI.
  for (const char* bad : {"postgresql://ann:hunter2secret@h/d?pool_size=0",
                          "postgresql://ann:hunter2secret@h/d?bogus=1",
                          "postgresql://h/d?password=hunter2secret&bogus=1"}) {
    const std::string message = refusal(bad);
    CHECK_FALSE(message.empty());
    CHECK_FALSE(contains(message, "hunter2secret"));
  }
}
