// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. §3 API
// keys: the six requests, and strict parsing of every answer.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <chrono>
#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace protocol_api_keys_test {

using namespace protocol_world;

// §3 API keys: requests

TEST_CASE("create: POST /auth/api_keys with the refresh token and the name",
          "[protocol][api_keys]") {
  Harness<> h;
  auto user = h.log_in();
  h.transport.respond(json_response(201, key_json(kKeyId, "reporting", false, kKeyValue)));
  auto key = h.app.api_keys(user).create("reporting");
  REQUIRE(key);
  CHECK(key->id.to_hex() == kKeyId);
  CHECK(key->name == "reporting");
  CHECK_FALSE(key->disabled);
  REQUIRE(key->key.has_value());
  CHECK(key->key->reveal() == kKeyValue);

  REQUIRE(h.transport.request_count() == 1);
  const auto request = *h.transport.request(0);
  CHECK(request.method == HttpMethod::post);
  CHECK(request.url == kHost + kApi + "/auth/api_keys");
  CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(request, "Accept") == "application/json");
  CHECK(header(request, "Content-Type") == "application/json");
  CHECK(h.transport.requests()[0].headers.count("Authorization") == 1);
  CHECK(body_json(request) == json{{"name", "reporting"}});
  CHECK(request.timeout == std::chrono::milliseconds(4321));
}

TEST_CASE("create escapes the name as a JSON string", "[protocol][api_keys]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  const std::string name = R"(x","disabled":true,"y":"\)";
  h.transport.respond(json_response(201, key_json(kKeyId, name, false, kKeyValue)));
  auto key = h.app.api_keys(user).create(name);
  REQUIRE(key);
  CHECK(key->name == name);
  json body = body_json(*h.transport.request(0));
  CHECK(keys_of(body) == std::set<std::string>{"name"});
  CHECK(body["name"] == name);
}

TEST_CASE("create accepts any 2xx", "[protocol][api_keys]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(json_response(200, key_json(kKeyId, "k", false, kKeyValue)));
  auto key = h.app.api_keys(user).create("k");
  REQUIRE(key);
  CHECK(key->key->reveal() == kKeyValue);
}

TEST_CASE("fetch: GET /auth/api_keys/<id>, never exposing a key value",
          "[protocol][api_keys][secrets]") {
  Harness<> h;
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  // A server that wrongly sends the value anyway.
  h.transport.respond(json_response(200, key_json(kKeyId, "reporting", true, kKeyValue)));
  auto key = keys.fetch(*ObjectId::from_hex(kKeyId));
  REQUIRE(key);
  CHECK(key->id.to_hex() == kKeyId);
  CHECK(key->name == "reporting");
  CHECK(key->disabled);
  CHECK_FALSE(key->key.has_value());

  const auto request = *h.transport.request(0);
  CHECK(request.method == HttpMethod::get);
  CHECK(request.url == kHost + kApi + "/auth/api_keys/" + kKeyId);
  CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(request, "Accept") == "application/json");
  CHECK(header(request, "Content-Type") == kAbsent);
  CHECK(request.body.empty());

  // The text overload, with uppercase hex: the URL carries lowercase hex.
  h.transport.respond(json_response(200, key_json(kKeyId2, "other", false)));
  std::string upper = kKeyId2;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto by_text = keys.fetch(std::string_view(upper));
  REQUIRE(by_text);
  CHECK(by_text->id.to_hex() == kKeyId2);
  CHECK(h.transport.request(1)->url == kHost + kApi + "/auth/api_keys/" + kKeyId2);
}

TEST_CASE("fetch_all: GET /auth/api_keys, in the server's order, without values",
          "[protocol][api_keys]") {
  Harness<> h;
  auto user = h.log_in();
  const std::string body = "[" + key_json(kKeyId2, "second", false) + "," +
                           key_json(kKeyId, "first", true, kKeyValue) + "]";
  h.transport.respond(json_response(200, body));
  auto keys = h.app.api_keys(user).fetch_all();
  REQUIRE(keys);
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].id.to_hex() == kKeyId2);
  CHECK((*keys)[0].name == "second");
  CHECK_FALSE((*keys)[0].disabled);
  CHECK((*keys)[1].id.to_hex() == kKeyId);
  CHECK((*keys)[1].name == "first");
  CHECK((*keys)[1].disabled);
  for (const auto& key : *keys) CHECK_FALSE(key.key.has_value());

  const auto request = *h.transport.request(0);
  CHECK(request.method == HttpMethod::get);
  CHECK(request.url == kHost + kApi + "/auth/api_keys");
  CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
  CHECK(header(request, "Content-Type") == kAbsent);
  CHECK(request.body.empty());

  h.transport.respond(json_response(200, "[]"));
  auto none = h.app.api_keys(user).fetch_all();
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("enable, disable and remove: method, URL, refresh token, no body",
          "[protocol][api_keys]") {
  struct Case {
    const char* name;
    HttpMethod method;
    std::string url;
    std::function<Result<void>(const TestKeys&, const ObjectId&)> run;
  };
  const std::vector<Case> cases = {
      {"enable", HttpMethod::put, kHost + kApi + "/auth/api_keys/" + kKeyId + "/enable",
       [](const TestKeys& k, const ObjectId& id) { return k.enable(id); }},
      {"disable", HttpMethod::put, kHost + kApi + "/auth/api_keys/" + kKeyId + "/disable",
       [](const TestKeys& k, const ObjectId& id) { return k.disable(id); }},
      {"remove", HttpMethod::del, kHost + kApi + "/auth/api_keys/" + kKeyId,
       [](const TestKeys& k, const ObjectId& id) { return k.remove(id); }},
  };
  // 204 is what servers send; any other 2xx with any body also succeeds.
  const std::vector<HttpResponse> answers = {
      no_content(),
      json_response(200, R"({"ok":true})"),
      text_response(200, "<html>fine</html>", "text/html"),
      text_response(202, "", ""),
      json_response(204, ""),
      json_response(299, "not json {"),
  };
  const ObjectId id = *ObjectId::from_hex(kKeyId);
  for (const auto& c : cases) {
    for (std::size_t i = 0; i < answers.size(); ++i) {
      INFO(c.name << " with answer " << i << " (status " << answers[i].status << ")");
      Harness<> h;
      auto user = h.log_in();
      auto keys = h.app.api_keys(user);
      h.transport.respond(answers[i]);
      auto result = c.run(keys, id);
      if (!result) FAIL(result.error().what());
      REQUIRE(h.transport.request_count() == 1);
      const auto request = *h.transport.request(0);
      CHECK(request.method == c.method);
      CHECK(request.url == c.url);
      CHECK(header(request, "Authorization") == "Bearer " + kRefresh);
      CHECK(header(request, "Accept") == "application/json");
      CHECK(header(request, "Content-Type") == kAbsent);
      CHECK(request.body.empty());
      CHECK(user.is_logged_in());
    }
  }
}

TEST_CASE("the string-id overloads send the same requests", "[protocol][api_keys]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  h.transport.respond(no_content()).respond(no_content()).respond(no_content());
  REQUIRE(keys.enable(std::string_view(kKeyId)));
  REQUIRE(keys.disable(std::string_view(kKeyId)));
  REQUIRE(keys.remove(std::string_view(kKeyId)));
  const auto requests = h.transport.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].url == kBase + kApi + "/auth/api_keys/" + kKeyId + "/enable");
  CHECK(requests[0].method == HttpMethod::put);
  CHECK(requests[1].url == kBase + kApi + "/auth/api_keys/" + kKeyId + "/disable");
  CHECK(requests[1].method == HttpMethod::put);
  CHECK(requests[2].url == kBase + kApi + "/auth/api_keys/" + kKeyId);
  CHECK(requests[2].method == HttpMethod::del);
}

// =================================================================================
// §3 API keys: strict parsing

TEST_CASE("create and fetch reject malformed keys", "[protocol][api_keys][parsing]") {
  const std::vector<std::pair<const char*, std::string>> bodies = {
      {"no _id", R"({"name":"k","disabled":false,"key":"v"})"},
      {"_id a number", R"({"_id":12,"name":"k","disabled":false,"key":"v"})"},
      {"_id as {$oid}",
       R"({"_id":{"$oid":"64a1b2c3d4e5f6a7b8c9d0e1"},"name":"k","disabled":false,"key":"v"})"},
      {"_id 23 hex", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e","name":"k","disabled":false,"key":"v"})"},
      {"_id with a slash",
       R"({"_id":"../../../../etc/passwd/xx","name":"k","disabled":false,"key":"v"})"},
      {"_id non-hex",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0eZ","name":"k","disabled":false,"key":"v"})"},
      {"no name", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","disabled":false,"key":"v"})"},
      {"name a number",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":7,"disabled":false,"key":"v"})"},
      {"name null", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":null,"disabled":false,"key":"v"})"},
      {"no disabled", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","key":"v"})"},
      {"disabled a string",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":"false","key":"v"})"},
      {"disabled a number",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":0,"key":"v"})"},
      {"key a number", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":5})"},
      {"key an object",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":{}})"},
      {"an array", R"([{"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":"v"}])"},
      {"a string", R"("64a1b2c3d4e5f6a7b8c9d0e1")"},
      {"null", "null"},
      {"truncated", R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disab)"},
      {"empty", ""},
      {"HTML", "<html><body>Bad gateway</body></html>"},
      {"trailing garbage",
       R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":"v"} x)"},
      {"deeply nested", deeply_nested(100000)},
      {"deeply nested objects",
       [] {
         std::string s;
         for (int i = 0; i < 50000; ++i) s += R"({"a":)";
         return s;
       }()},
  };
  for (const auto& [name, body] : bodies) {
    INFO(name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    auto keys = h.app.api_keys(user);
    h.transport.respond(json_response(201, body));
    auto created = keys.create("k");
    CHECK(expect_error(created, errc::malformed_response).http_status() == 201);
    h.transport.respond(json_response(200, body));
    auto fetched = keys.fetch(*ObjectId::from_hex(kKeyId));
    CHECK(expect_error(fetched, errc::malformed_response).http_status() == 200);
    CHECK(h.transport.request_count() == 2);
    CHECK(user.is_logged_in());  // a bad body is not a bad session
  }
}

TEST_CASE("create requires the key value", "[protocol][api_keys][parsing]") {
  for (const std::string& body :
       {key_json(kKeyId, "k", false),
        std::string(
            R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":null})")}) {
    INFO(body);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(json_response(201, body));
    auto created = h.app.api_keys(user).create("k");
    expect_error(created, errc::malformed_response);
  }
}

TEST_CASE("create rejects an empty key value", "[protocol][api_keys][parsing]") {
  // An empty Secret could never log in: treated like a missing key, as empty tokens are.
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(json_response(201, key_json(kKeyId, "k", false, std::string())));
  auto created = h.app.api_keys(user).create("k");
  expect_error(created, errc::malformed_response);
}

TEST_CASE("names full of brackets and escapes are not mistaken for deep nesting",
          "[protocol][api_keys][parsing]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  const std::string name = std::string(200, '[') + "\"\\" + std::string(200, '{');
  h.transport.respond(json_response(200, key_json(kKeyId, name, false)));
  auto key = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
  REQUIRE(key);
  CHECK(key->name == name);
}

TEST_CASE("fetch_all rejects anything but an array of good keys", "[protocol][api_keys][parsing]") {
  const std::vector<std::pair<const char*, std::string>> bodies = {
      {"an object", key_json(kKeyId, "k", false)},
      {"an object wrapping the list", R"({"keys":[]})"},
      {"one bad element",
       "[" + key_json(kKeyId, "ok", false) + R"(,{"_id":"nothex","name":"b","disabled":false}])"},
      {"an element that is not an object", "[" + key_json(kKeyId, "ok", false) + ",42]"},
      {"an element with a non-string key",
       "[" +
           std::string(
               R"({"_id":"64a1b2c3d4e5f6a7b8c9d0e1","name":"k","disabled":false,"key":1})") +
           "]"},
      {"null", "null"},
      {"truncated", "[" + key_json(kKeyId, "ok", false)},
      {"empty", ""},
      {"HTML", "<!doctype html><title>502</title>"},
      {"deeply nested", deeply_nested(100000)},
  };
  for (const auto& [name, body] : bodies) {
    INFO(name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(json_response(200, body));
    auto keys = h.app.api_keys(user).fetch_all();
    CHECK(expect_error(keys, errc::malformed_response).http_status() == 200);
  }
}

}  // namespace protocol_api_keys_test
