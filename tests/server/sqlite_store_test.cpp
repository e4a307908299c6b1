// The SQLite store behind `appkeys serve`, through the real HTTP server: state survives
// closing and reopening, the key rules hold under concurrent requests (also from two
// stores on one file, as two processes would be), nothing secret is in clear in any file
// it writes, and files it cannot trust are refused.
#include "server/http_client.hpp"
#include "server/live_session_checks.hpp"
#include "server/temp_store.hpp"

#include <appkeys/server/service.hpp>
#include <appkeys/server/sqlite_connection.hpp>
#include <appkeys/server/sqlite_store.hpp>
#include <appkeys/server/store_uri.hpp>
#include <appkeys/testing/backend/memory_store.hpp>
#include <appkeys/testing/local_server.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using appkeys::HttpMethod;
using appkeys::server::Service;
using appkeys_test::RawClient;
using appkeys_test::TempStoreDir;
using json = nlohmann::json;
namespace routes = appkeys::detail::routes;

const std::string email = "ann@example.com";
const std::string password = "correct horse battery";

/// A Service over the SQLite file in `dir`. Cheap scrypt unless `real_scrypt`: these
/// tests are about the store.
std::unique_ptr<Service> open_sqlite(const TempStoreDir& dir, bool real_scrypt = false) {
  appkeys::server::ServiceOptions options;
  if (!real_scrypt) options.scrypt.log2_n = 4;
  return appkeys::server::open_service(appkeys::server::parse_store_uri("sqlite:" + dir.db_path()),
                                       options);
}

json login_email(RawClient& client) {
  return client.login("local-userpass", {{"username", email}, {"password", password}});
}

bool contains(std::string_view haystack, std::string_view needle) {
  return !needle.empty() && haystack.find(needle) != std::string_view::npos;
}

}  // namespace

TEST_CASE("SQLite store: state survives closing and reopening", "[server][sqlite][durability]") {
  TempStoreDir dir;
  std::string refresh, kept_value, disabled_value, deleted_value, user_id;
  std::vector<std::string> kept_ids;
  {
    auto service = open_sqlite(dir);
    user_id = service->add_email_user(email, password);
    appkeys::testing::LocalServer server(*service);
    RawClient client(server.base_url());
    const json tokens = login_email(client);
    REQUIRE(tokens.is_object());
    refresh = tokens.at("refresh_token");
    std::map<std::string, json> created;
    for (const char* name : {"kept", "disabled", "deleted", "also-kept"}) {
      auto response = client.create_key(refresh, name);
      REQUIRE(response.status == 201);
      created[name] = json::parse(response.body);
    }
    kept_value = created["kept"].at("key");
    disabled_value = created["disabled"].at("key");
    deleted_value = created["deleted"].at("key");
    kept_ids = {created["kept"].at("_id"), created["disabled"].at("_id"),
                created["also-kept"].at("_id")};
    const std::string disabled_id = created["disabled"].at("_id");
    const std::string deleted_id = created["deleted"].at("_id");
    CHECK(client.send(HttpMethod::put, routes::api_key_disable(disabled_id), {}, refresh).status ==
          204);
    CHECK(client.send(HttpMethod::del, routes::api_key(deleted_id), {}, refresh).status == 204);
    CHECK(client
              .send(HttpMethod::post, routes::register_email("app"),
                    json{{"email", "bo@example.com"}, {"password", "bos-password"}}.dump())
              .status == 201);
  }  // server stopped, store closed

  auto service = open_sqlite(dir);
  appkeys::testing::LocalServer server(*service);
  RawClient client(server.base_url());
  // The refresh token issued before the restart is still valid: its hash and the
  // signing secret are in the file.
  auto listed = client.send(HttpMethod::get, routes::api_keys(), {}, refresh);
  REQUIRE(listed.status == 200);
  const json keys = json::parse(listed.body);
  REQUIRE(keys.size() == 3);
  for (std::size_t i = 0; i < keys.size(); ++i) CHECK(keys[i].at("_id") == kept_ids[i]);
  CHECK(keys[0].at("name") == "kept");
  CHECK(keys[1].at("disabled") == true);
  CHECK(keys[2].at("name") == "also-kept");
  // Keys log in as they were left.
  const json by_key = client.login("api-key", {{"key", kept_value}});
  REQUIRE(by_key.is_object());
  CHECK(by_key.at("user_id") == user_id);
  CHECK(client.login("api-key", {{"key", disabled_value}}).is_null());
  CHECK(client.login("api-key", {{"key", deleted_value}}).is_null());
  // Users too, with their passwords.
  CHECK(login_email(client).at("user_id") == user_id);
  CHECK(
      client.login("local-userpass", {{"username", "bo@example.com"}, {"password", "bos-password"}})
          .is_object());
  // The profile still lists the key identity first seen before... and after.
  auto profile = client.send(HttpMethod::get, routes::profile(), {},
                             by_key.at("access_token").get<std::string>());
  CHECK(profile.status == 200);
}

TEST_CASE("SQLite store: the combined session reads refuse what the rules refuse",
          "[server][sqlite][store]") {
  TempStoreDir dir;
  appkeys::server::SqliteStore store(dir.db_path());
  appkeys_test::check_live_session_reads(store);
}

TEST_CASE("memory store: the combined session reads refuse what the rules refuse",
          "[server][memory][store]") {
  appkeys::testing::backend::MemoryStore store;
  appkeys_test::check_live_session_reads(store);
}

TEST_CASE("SQLite store: the same name from 8 threads at once is created once",
          "[server][sqlite][concurrency]") {
  TempStoreDir dir;
  auto service = open_sqlite(dir);
  const std::string user_id = service->add_email_user(email, password);
  appkeys::testing::LocalServer server(*service);
  RawClient setup(server.base_url());
  const std::string refresh = login_email(setup).at("refresh_token");

  constexpr int threads = 8;
  std::vector<int> statuses(threads);
  std::vector<std::string> codes(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      RawClient client(server.base_url());
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      auto response = client.create_key(refresh, "same-name");
      statuses[t] = response.status;
      codes[t] = appkeys_test::error_code_of(response);
    });
  }
  for (auto& worker : workers) worker.join();
  int created = 0, conflicts = 0;
  for (int t = 0; t < threads; ++t) {
    if (statuses[t] == 201) ++created;
    if (statuses[t] == 409 && codes[t] == "APIKeyAlreadyExists") ++conflicts;
  }
  CHECK(created == 1);
  CHECK(conflicts == threads - 1);
  CHECK(service->key_count(user_id) == 1);
}

TEST_CASE("SQLite store: 25 creates at once for one user, from two stores on one file, make 20",
          "[server][sqlite][concurrency]") {
  TempStoreDir dir;
  // Two services on one file, as two `appkeys serve` processes would be: no lock they
  // share but the database's.
  auto first = open_sqlite(dir);
  auto second = open_sqlite(dir);
  const std::string user_id = first->add_email_user(email, password);
  appkeys::testing::LocalServer server_a(*first);
  appkeys::testing::LocalServer server_b(*second);
  RawClient setup(server_a.base_url());
  const std::string refresh = login_email(setup).at("refresh_token");

  constexpr int threads = 25;
  std::vector<int> statuses(threads);
  std::vector<std::string> codes(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      // A token from one process is accepted by the other: same file, same secret.
      RawClient client(t % 2 == 0 ? server_a.base_url() : server_b.base_url());
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      auto response = client.create_key(refresh, "key-" + std::to_string(t));
      statuses[t] = response.status;
      codes[t] = appkeys_test::error_code_of(response);
    });
  }
  for (auto& worker : workers) worker.join();
  int created = 0, refused = 0;
  for (int t = 0; t < threads; ++t) {
    if (statuses[t] == 201) ++created;
    if (statuses[t] == 400 && codes[t] == "InvalidParameter") ++refused;
  }
  CHECK(created == 20);
  CHECK(refused == 5);
  CHECK(first->key_count(user_id) == 20);
  CHECK(second->key_count(user_id) == 20);
}

TEST_CASE("SQLite store: no key value, token or password in clear in its files",
          "[server][sqlite][secrets]") {
  TempStoreDir dir;
  auto service = open_sqlite(dir, /*real_scrypt=*/true);
  service->add_email_user(email, password);
  appkeys::testing::LocalServer server(*service);
  RawClient client(server.base_url());
  std::vector<std::string> secrets = {password, "bos-password"};
  const json tokens = login_email(client);
  REQUIRE(tokens.is_object());
  const std::string refresh = tokens.at("refresh_token");
  secrets.push_back(refresh);
  secrets.push_back(tokens.at("access_token"));
  for (const char* name : {"one", "two"}) {
    auto response = client.create_key(refresh, name);
    REQUIRE(response.status == 201);
    const std::string value = json::parse(response.body).at("key");
    secrets.push_back(value);
    const json by_key = client.login("api-key", {{"key", value}});
    REQUIRE(by_key.is_object());
    secrets.push_back(by_key.at("refresh_token"));
    secrets.push_back(by_key.at("access_token"));
  }
  auto refreshed = client.send(HttpMethod::post, routes::session(), {}, refresh);
  REQUIRE(refreshed.status == 201);
  secrets.push_back(json::parse(refreshed.body).at("access_token"));
  REQUIRE(client
              .send(HttpMethod::post, routes::register_email("app"),
                    json{{"email", "bo@example.com"}, {"password", "bos-password"}}.dump())
              .status == 201);
  // Each token's signature alone, too: not even part of a token is kept.
  const std::size_t whole = secrets.size();
  for (std::size_t i = 2; i < whole; ++i) {
    if (secrets[i].find('.') != std::string::npos) {
      secrets.push_back(secrets[i].substr(secrets[i].rfind('.') + 1));
    }
  }

  const auto check_files = [&](const char* when) {
    const auto files = dir.file_contents();
    REQUIRE_FALSE(files.empty());
    for (const auto& [name, data] : files) {
      INFO(when << ": " << name << " (" << data.size() << " bytes)");
      for (std::size_t i = 0; i < secrets.size(); ++i) {
        INFO("secret #" << i);  // never the secret itself
        CHECK_FALSE(contains(data, secrets[i]));
      }
    }
  };
  check_files("while serving");  // the db, -wal and -shm as they are now

  // Passwords are scrypt hashes in the self-describing format.
  for (const auto& user : service->list_users()) {
    CHECK(user.password_hash.rfind("$scrypt$ln=15,r=8,p=1$", 0) == 0);
  }
  service.reset();
  check_files("after closing");
}

TEST_CASE("SQLite store: files it cannot trust are refused with a clear message",
          "[server][sqlite][schema]") {
  TempStoreDir dir;
  const auto message_of = [&] {
    try {
      appkeys::server::SqliteStore store(dir.db_path());
    } catch (const appkeys::server::StoreError& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  SECTION("a schema from a newer appkeys") {
    { appkeys::server::SqliteStore store(dir.db_path()); }
    {
      appkeys::server::sqlite::Connection connection(dir.db_path(), {});
      connection.exec("PRAGMA user_version = 7");
    }
    const std::string message = message_of();
    CHECK(contains(message, "schema version 7, newer than this appkeys knows (1)"));
  }
  SECTION("someone else's database") {
    {
      appkeys::server::sqlite::Connection connection(dir.db_path(), {});
      connection.exec("CREATE TABLE notes (text TEXT)");
    }
    CHECK(contains(message_of(), "not an appkeys store"));
  }
  SECTION("a file that is not a database") {
    {
      std::ofstream out(dir.db_path());
      out << "just some text, long enough to look like a header to nobody\n";
    }
    CHECK(contains(message_of(), "file is not a database"));
  }
  SECTION("the current schema opens again and keeps its version") {
    { appkeys::server::SqliteStore store(dir.db_path()); }
    CHECK(message_of().empty());
    appkeys::server::sqlite::Connection connection(dir.db_path(), {});
    auto version = connection.prepare("PRAGMA user_version");
    REQUIRE(version.step());
    CHECK(version.integer(0) == appkeys::server::SqliteStore::schema_version);
  }
}

TEST_CASE("store URIs", "[server][uri]") {
  using appkeys::server::parse_store_uri;
  using Kind = appkeys::server::StoreUri::Kind;
  CHECK(parse_store_uri("memory:").kind == Kind::memory);
  CHECK(parse_store_uri("sqlite:appkeys.db").path == "appkeys.db");
  CHECK(parse_store_uri("sqlite:/var/lib/appkeys/a.db").path == "/var/lib/appkeys/a.db");
  CHECK(parse_store_uri("sqlite:///var/lib/a.db").path == "/var/lib/a.db");
  CHECK(parse_store_uri("sqlite:a.db").to_string() == "sqlite:a.db");
  CHECK(parse_store_uri(appkeys::server::default_store_uri).path == "appkeys.db");
  const auto refusal = [](std::string_view text) {
    try {
      (void)parse_store_uri(text);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  CHECK(contains(refusal("sqlite:"), "path is empty"));
  CHECK(contains(refusal("sqlite://host/x.db"), "host is not allowed"));
  CHECK(contains(refusal("sqlite::memory:"), "use memory:"));
  CHECK(contains(refusal("postgresql:localhost"), "starts with postgresql://"));
  CHECK(contains(refusal("mysql://x"), "unknown scheme"));
  CHECK(contains(refusal(""), "empty"));
  CHECK(contains(refusal("memory"), "use sqlite:PATH"));
}
