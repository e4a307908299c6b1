// The Store requirements every durable store of `appkeys serve` meets, through the real
// HTTP server: state survives closing and reopening, the key rules hold under concurrent
// requests (also to two stores on one database, as two servers would be), nothing secret
// is in clear in anything it writes, and a database it cannot trust is refused.
//
// Written once, run per store: a store's test file defines APPKEYS_STORE_SUITE_STORES
// (sqlite_store_test.cpp: SqliteUnderTest; postgres_store_test.cpp, in the PostgreSQL
// binary only: PostgresUnderTest) and includes this file, then adds its own cases.
#include "server/http_client.hpp"
#include "server/live_session_checks.hpp"

#include <appkeys/server/service.hpp>
#include <appkeys/server/store_error.hpp>
#include <appkeys/server/store_uri.hpp>
#include <appkeys/testing/local_server.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#ifndef APPKEYS_STORE_SUITE_STORES
#error "define APPKEYS_STORE_SUITE_STORES (the stores under test) before including this file"
#endif

namespace store_test {

namespace {

using appkeys::HttpMethod;
using appkeys::server::Service;
using appkeys_test::RawClient;
using json = nlohmann::json;
namespace routes = appkeys::detail::routes;

const std::string email = "ann@example.com";
const std::string password = "correct horse battery";

/// A Service over the store in `place`. Cheap scrypt unless `real_scrypt`: these tests
/// are about the store.
template <class Place>
std::unique_ptr<Service> open_service_in(const Place& place, bool real_scrypt = false) {
  appkeys::server::ServiceOptions options;
  if (!real_scrypt) options.scrypt.log2_n = 4;
  return appkeys::server::open_service(appkeys::server::parse_store_uri(place.store_uri()),
                                       options);
}

json login_email(RawClient& client) {
  return client.login("local-userpass", {{"username", email}, {"password", password}});
}

bool contains(std::string_view haystack, std::string_view needle) {
  return !needle.empty() && haystack.find(needle) != std::string_view::npos;
}

/// What parse_store_uri says when it refuses `text` ("" when it does not).
std::string uri_refusal(std::string_view text) {
  try {
    (void)appkeys::server::parse_store_uri(text);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return {};
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

/// Creates `name_of(t)` for t in [0, threads) at once, request t through
/// `base_urls[t % size]`: each answer's status and error_code.
template <class NameOf>
std::vector<std::pair<int, std::string>> create_at_once(const std::vector<std::string>& base_urls,
                                                        const std::string& refresh, int threads,
                                                        NameOf name_of) {
  std::vector<std::pair<int, std::string>> answers(static_cast<std::size_t>(threads));
  all_at_once(threads, [&](int t) {
    RawClient client(base_urls[static_cast<std::size_t>(t) % base_urls.size()]);
    auto response = client.create_key(refresh, name_of(t));
    answers[static_cast<std::size_t>(t)] = {response.status, appkeys_test::error_code_of(response)};
  });
  return answers;
}

/// How many of `answers` are `status` with `code`.
int count_answers(const std::vector<std::pair<int, std::string>>& answers, int status,
                  const std::string& code) {
  int n = 0;
  for (const auto& [s, c] : answers) {
    if (s == status && c == code) ++n;
  }
  return n;
}

}  // namespace

TEMPLATE_TEST_CASE("Store: state survives closing and reopening", "[server][store][durability]",
                   APPKEYS_STORE_SUITE_STORES) {
  TestType place;
  std::string refresh, kept_value, disabled_value, deleted_value, user_id;
  std::vector<std::string> kept_ids;
  {
    auto service = open_service_in(place);
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

  auto service = open_service_in(place);
  appkeys::testing::LocalServer server(*service);
  RawClient client(server.base_url());
  // The refresh token issued before the restart is still valid: its hash and the
  // signing secret are in the store.
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

TEMPLATE_TEST_CASE("Store: the combined session reads refuse what the rules refuse",
                   "[server][store]", APPKEYS_STORE_SUITE_STORES) {
  TestType place;
  auto store = place.open_store();
  appkeys_test::check_live_session_reads(store);
}

TEMPLATE_TEST_CASE("Store: the same name from 8 threads at once is created once",
                   "[server][store][concurrency]", APPKEYS_STORE_SUITE_STORES) {
  TestType place;
  auto first = open_service_in(place);
  const std::string user_id = first->add_email_user(email, password);
  appkeys::testing::LocalServer server_a(*first);
  RawClient setup(server_a.base_url());
  const std::string refresh = login_email(setup).at("refresh_token");
  constexpr int threads = 8;
  const auto same_name = [](int) { return std::string("same-name"); };

  SECTION("through one store") {
    const auto answers = create_at_once({server_a.base_url()}, refresh, threads, same_name);
    CHECK(count_answers(answers, 201, "") == 1);
    CHECK(count_answers(answers, 409, "APIKeyAlreadyExists") == threads - 1);
    CHECK(first->key_count(user_id) == 1);
  }
  SECTION("through two stores on one database, as two servers would be") {
    auto second = open_service_in(place);
    appkeys::testing::LocalServer server_b(*second);
    const auto answers =
        create_at_once({server_a.base_url(), server_b.base_url()}, refresh, threads, same_name);
    CHECK(count_answers(answers, 201, "") == 1);
    CHECK(count_answers(answers, 409, "APIKeyAlreadyExists") == threads - 1);
    CHECK(first->key_count(user_id) == 1);
    CHECK(second->key_count(user_id) == 1);
  }
}

TEMPLATE_TEST_CASE("Store: 25 creates at once for one user, over two stores, make 20",
                   "[server][store][concurrency]", APPKEYS_STORE_SUITE_STORES) {
  TestType place;
  // Two services on one database, as two `appkeys serve` processes would be: no lock
  // they share but the database's.
  auto first = open_service_in(place);
  auto second = open_service_in(place);
  const std::string user_id = first->add_email_user(email, password);
  appkeys::testing::LocalServer server_a(*first);
  appkeys::testing::LocalServer server_b(*second);
  RawClient setup(server_a.base_url());
  const std::string refresh = login_email(setup).at("refresh_token");

  // A token from one process is accepted by the other: same database, same secret.
  const auto answers = create_at_once({server_a.base_url(), server_b.base_url()}, refresh, 25,
                                      [](int t) { return "key-" + std::to_string(t); });
  CHECK(count_answers(answers, 201, "") == 20);
  CHECK(count_answers(answers, 400, "InvalidParameter") == 5);
  CHECK(first->key_count(user_id) == 20);
  CHECK(second->key_count(user_id) == 20);
}

TEMPLATE_TEST_CASE("Store: no key value, token or password in clear in anything it writes",
                   "[server][store][secrets]", APPKEYS_STORE_SUITE_STORES) {
  TestType place;
  auto service = open_service_in(place, /*real_scrypt=*/true);
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

  const auto check_contents = [&](const char* when) {
    const auto contents = place.stored_contents();
    REQUIRE_FALSE(contents.empty());
    std::string all;
    for (const auto& [name, data] : contents) {
      INFO(when << ": " << name << " (" << data.size() << " bytes)");
      for (std::size_t i = 0; i < secrets.size(); ++i) {
        INFO("secret #" << i);  // never the secret itself
        CHECK_FALSE(contains(data, secrets[i]));
      }
      all += data;
    }
    INFO(when);
    REQUIRE(contains(all, email));  // what was read is what the store wrote
    // Passwords are there as scrypt hashes in the self-describing format.
    CHECK(contains(all, "$scrypt$ln=15,r=8,p=1$"));
  };
  check_contents("while serving");

  for (const auto& user : service->list_users()) {
    CHECK(user.password_hash.rfind("$scrypt$ln=15,r=8,p=1$", 0) == 0);
  }
  service.reset();
  check_contents("after closing");
}

TEMPLATE_TEST_CASE("Store: a database it cannot trust is refused with a clear message",
                   "[server][store][schema]", APPKEYS_STORE_SUITE_STORES) {
  TestType place;
  const auto message_of = [&] {
    try {
      auto store = place.open_store();
    } catch (const appkeys::server::StoreError& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  SECTION("a schema from a newer appkeys") {
    { auto store = place.open_store(); }
    place.set_schema_version(7);
    CHECK(contains(message_of(), "schema version 7, newer than this appkeys knows (1)"));
  }
  SECTION("someone else's database") {
    place.add_foreign_table();
    CHECK(contains(message_of(), "not an appkeys store"));
  }
  SECTION("the current schema opens again and keeps its version") {
    { auto store = place.open_store(); }
    CHECK(message_of().empty());
    CHECK(place.schema_version() == TestType::store_type::schema_version);
  }
}

}  // namespace store_test
