// Every answer the client reads goes through one JsonMembersReader (detail/json_reader.hpp)
// fed by the parser's events. These cases pin down where it must agree with a document's
// reading: repeated members (the last wins), members of nested objects (not the
// top-level ones), lists that are repeated or hold other values, numbers of each kind.
// The fuzz targets compare it with nlohmann/json's document on arbitrary bodies.
#include <appkeys/appkeys.hpp>
#include <appkeys/detail/error_mapping.hpp>
#include <appkeys/detail/jwt.hpp>
#include <appkeys/detail/wire.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

namespace json_reader_test {

namespace wire = appkeys::detail::wire;
using appkeys::errc;

constexpr const char* id_a = "0123456789abcdef01234567";
constexpr const char* id_b = "89abcdef0123456789abcdef";

std::string key_object(const char* id, const char* name, const char* rest = "") {
  return std::string("{\"_id\":\"") + id + "\",\"name\":\"" + name + "\",\"disabled\":false" +
         rest + "}";
}

TEST_CASE("an API key is read from the top-level object only", "[json_reader]") {
  SECTION("a repeated member keeps its last value") {
    const std::string body = std::string(R"({"name":"first","_id":")") + id_a +
                             R"(","disabled":true,"name":"second","disabled":false})";
    auto key = wire::parse_api_key(body, "fetch API key", 200);
    REQUIRE(key);
    CHECK(key->name == "second");
    CHECK_FALSE(key->disabled);
    CHECK(key->id.to_hex() == id_a);
  }
  SECTION("members of nested objects and arrays do not count") {
    const std::string body = "{\"inner\":" + key_object(id_b, "nested") + ",\"list\":[" +
                             key_object(id_b, "in list") + "]," + key_object(id_a, "top").substr(1);
    auto key = wire::parse_api_key(body, "fetch API key", 200);
    REQUIRE(key);
    CHECK(key->name == "top");
    CHECK(key->id.to_hex() == id_a);
  }
  SECTION("a member that becomes an object after a string is no longer a string") {
    auto key =
        wire::parse_api_key(std::string("{\"_id\":\"") + id_a +
                                "\",\"_id\":{\"$oid\":\"x\"},\"name\":\"n\",\"disabled\":true}",
                            "fetch API key", 200);
    REQUIRE_FALSE(key);
    CHECK(key.error().value() == errc::malformed_response);
    CHECK(std::string(key.error().what()).find("'_id'") != std::string::npos);
  }
  SECTION("a key value of each kind") {
    auto null_key = wire::parse_api_key(key_object(id_a, "n", ",\"key\":null"), "x", 200);
    REQUIRE(null_key);
    CHECK_FALSE(null_key->key);
    for (const char* value : {"1", "2.5", "-3", "true", "[]", "{}"}) {
      auto key = wire::parse_api_key(
          key_object(id_a, "n", (std::string(",\"key\":") + value).c_str()), "x", 200);
      REQUIRE_FALSE(key);
      CHECK(std::string(key.error().what()).find("'key' is not a string") != std::string::npos);
    }
  }
  SECTION("a body that is not an object") {
    for (const char* body : {"[]", "\"text\"", "12", "null", "[{\"_id\":1}]"}) {
      auto key = wire::parse_api_key(body, "fetch API key", 200);
      REQUIRE_FALSE(key);
      CHECK(std::string(key.error().what()).find("not a JSON object") != std::string::npos);
    }
  }
  SECTION("nesting deeper than the limit is not valid JSON") {
    const std::string deep = std::string(65, '[') + std::string(65, ']');
    auto key = wire::parse_api_key("{\"x\":" + deep + "}", "fetch API key", 200);
    REQUIRE_FALSE(key);
    CHECK(std::string(key.error().what()).find("not valid JSON") != std::string::npos);
    const std::string allowed = std::string(63, '[') + std::string(63, ']');
    CHECK(wire::parse_api_key("{\"x\":" + allowed + "," + key_object(id_a, "n").substr(1),
                              "fetch API key", 200));
  }
}

TEST_CASE("a key list is read element by element", "[json_reader]") {
  SECTION("elements in order; nested lists and objects inside elements are skipped") {
    const std::string body = "[" + key_object(id_a, "a", ",\"extra\":[{\"name\":\"no\"}]") + "," +
                             key_object(id_b, "b", ",\"more\":{\"_id\":\"zz\"}") + "]";
    auto keys = wire::parse_api_key_list(body, "fetch API keys", 200);
    REQUIRE(keys);
    REQUIRE(keys->size() == 2);
    CHECK((*keys)[0].name == "a");
    CHECK((*keys)[0].id.to_hex() == id_a);
    CHECK((*keys)[1].name == "b");
    CHECK((*keys)[1].id.to_hex() == id_b);
  }
  SECTION("an element's members do not leak into the next element") {
    const std::string body = "[" + key_object(id_a, "a") + ",{\"_id\":\"" + id_b + "\"}]";
    auto keys = wire::parse_api_key_list(body, "fetch API keys", 200);
    REQUIRE_FALSE(keys);
    CHECK(std::string(keys.error().what()).find("'name'") != std::string::npos);
  }
  SECTION("an element that is not an object") {
    for (const char* element : {"1", "\"x\"", "null", "[]", "[{}]"}) {
      const std::string body = "[" + key_object(id_a, "a") + "," + element + "]";
      auto keys = wire::parse_api_key_list(body, "fetch API keys", 200);
      REQUIRE_FALSE(keys);
      CHECK(std::string(keys.error().what()).find("not a JSON object") != std::string::npos);
    }
  }
  SECTION("the first bad element is the error, but only in a body that parses") {
    auto bad_then_invalid =
        wire::parse_api_key_list("[{\"_id\":\"x\"}, " + key_object(id_a, "a") + ",", "x", 200);
    REQUIRE_FALSE(bad_then_invalid);
    CHECK(std::string(bad_then_invalid.error().what()).find("not valid JSON") != std::string::npos);
    auto two_bad = wire::parse_api_key_list("[{\"name\":\"x\"}, 5]", "x", 200);
    REQUIRE_FALSE(two_bad);
    CHECK(std::string(two_bad.error().what()).find("'_id'") != std::string::npos);
  }
  SECTION("empty, and not an array") {
    auto empty = wire::parse_api_key_list("[]", "x", 200);
    REQUIRE(empty);
    CHECK(empty->empty());
    for (const char* body : {"{}", "{\"keys\":[]}", "null", "\"[]\""}) {
      auto keys = wire::parse_api_key_list(body, "x", 200);
      REQUIRE_FALSE(keys);
      CHECK(std::string(keys.error().what()).find("not a JSON array") != std::string::npos);
    }
  }
}

TEST_CASE("a profile's identities are the last 'identities' array", "[json_reader]") {
  const std::string identity_a = R"({"id":"a","provider_type":"local-userpass"})";
  const std::string identity_b = R"({"id":"b","provider_type":"api-key"})";
  SECTION("a repeated member: the last array wins") {
    auto profile =
        wire::parse_profile(R"({"user_id":"u","identities":[)" + identity_a +
                                R"(],"identities":[)" + identity_b + "," + identity_a + "]}",
                            200);
    REQUIRE(profile);
    REQUIRE(profile->identities.size() == 2);
    CHECK(profile->identities[0].id == "b");
    CHECK(profile->identities[1].provider_type == "local-userpass");
  }
  SECTION("an array, then an empty one") {
    auto profile = wire::parse_profile(
        R"({"user_id":"u","identities":[)" + identity_a + R"(],"identities":[]})", 200);
    REQUIRE(profile);
    CHECK(profile->identities.empty());
  }
  SECTION("an array, then something else") {
    auto profile = wire::parse_profile(
        R"({"user_id":"u","identities":[)" + identity_a + R"(],"identities":{"0":1}})", 200);
    REQUIRE_FALSE(profile);
    CHECK(std::string(profile.error().what()).find("not an array") != std::string::npos);
  }
  SECTION("a bad identity, then a good array") {
    auto profile = wire::parse_profile(
        R"({"user_id":"u","identities":[{"id":1}],"identities":[)" + identity_a + "]}", 200);
    REQUIRE(profile);
    REQUIRE(profile->identities.size() == 1);
    CHECK(profile->identities[0].id == "a");
  }
  SECTION("identities and user ids nested elsewhere do not count") {
    auto profile = wire::parse_profile(
        R"({"data":{"user_id":"inner","identities":[]},"user_id":"outer","identities":[)" +
            identity_a + R"(,{"id":"c","provider_type":"anon-user","identities":[5]}]})",
        200);
    REQUIRE(profile);
    CHECK(profile->user_id == "outer");
    REQUIRE(profile->identities.size() == 2);
    CHECK(profile->identities[1].id == "c");
  }
  SECTION("an identity that is not an object") {
    auto profile =
        wire::parse_profile(R"({"user_id":"u","identities":[)" + identity_a + ",\"x\"]}", 200);
    REQUIRE_FALSE(profile);
    CHECK(std::string(profile.error().what()).find("lacks a string") != std::string::npos);
  }
}

TEST_CASE("logins, refreshes, the location and error bodies read top-level members",
          "[json_reader]") {
  SECTION("a token inside a nested object is not the answer's") {
    auto login = wire::parse_login_response(
        R"({"data":{"access_token":"a","refresh_token":"r","user_id":"u"}})", 200);
    REQUIRE_FALSE(login);
    CHECK(std::string(login.error().what()).find("'access_token'") != std::string::npos);
    auto refresh = wire::parse_refresh_response(R"([{"access_token":"a"}])", 200);
    REQUIRE_FALSE(refresh);
  }
  SECTION("a login answer, device id included") {
    auto login = wire::parse_login_response(
        std::string(R"({"access_token":"a","refresh_token":"r","user_id":"u","device_id":")") +
            id_a + "\"}",
        200);
    REQUIRE(login);
    CHECK(login->access_token.reveal() == "a");
    CHECK(login->refresh_token.reveal() == "r");
    CHECK(login->user_id == "u");
    CHECK(login->device_id == id_a);
  }
  SECTION("the location's hostname, last value") {
    auto location = wire::parse_location(
        R"({"hostname":5,"nested":{"hostname":"http://no"},"hostname":"http://127.0.0.1:1"})", 200);
    REQUIRE(location);
    CHECK(location->hostname == "http://127.0.0.1:1");
  }
  SECTION("an error body that is an array is not a server error") {
    appkeys::HttpResponse response{404, {}, R"([{"error":"x","error_code":"APIKeyNotFound"}])"};
    response.headers.emplace("Content-Type", "application/json");
    const appkeys::AppError error = appkeys::detail::error_from_response(response, "fetch API key");
    CHECK(error.code() == errc::http_error);
    response.body = R"({"nested":{"error_code":"X"},"error_code":"APIKeyNotFound","error":"gone"})";
    const appkeys::AppError mapped =
        appkeys::detail::error_from_response(response, "fetch API key");
    CHECK(mapped.code() == errc::api_key_not_found);
    CHECK(mapped.server_code() == "APIKeyNotFound");
  }
}

std::string jwt_with_claims(const std::string& claims) {
  return "e30." + appkeys::detail::base64url_encode(claims) + ".sig";
}

TEST_CASE("a token's exp claim is a number of any JSON kind", "[json_reader]") {
  using std::chrono::seconds;
  using std::chrono::system_clock;
  const auto at = [](long long s) { return system_clock::time_point(seconds(s)); };
  CHECK(appkeys::detail::jwt_expiry(jwt_with_claims(R"({"exp":1700000000})")) == at(1700000000));
  CHECK(appkeys::detail::jwt_expiry(jwt_with_claims(R"({"exp":1700000000.9})")) == at(1700000000));
  CHECK(appkeys::detail::jwt_expiry(jwt_with_claims(R"({"exp":1e9})")) == at(1000000000));
  CHECK_FALSE(appkeys::detail::jwt_expiry(jwt_with_claims(R"({"exp":"1700000000"})")));
  CHECK_FALSE(appkeys::detail::jwt_expiry(jwt_with_claims(R"({"claims":{"exp":1700000000}})")));
  CHECK_FALSE(appkeys::detail::jwt_expiry(jwt_with_claims(R"([1700000000])")));
  CHECK_FALSE(appkeys::detail::jwt_expiry(jwt_with_claims(R"({"exp":-5})")));
  CHECK(appkeys::detail::jwt_expiry(jwt_with_claims(R"({"exp":"x","exp":1700000001})")) ==
        at(1700000001));
}

}  // namespace json_reader_test
