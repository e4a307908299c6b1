// Tests of the in-memory server model (testing::FakeBackend) through raw HttpRequests,
// plus its two helpers (detail::sha256_hex, detail/random.hpp).
//
// Every expectation is spelled out here (status, Content-Type present or absent, JSON
// body) rather than derived from the backend, so a change in the server shows up as a
// failing test. Assertions never print a key value, password or token: checks on
// secrets go through bool helpers.
#if defined(__has_include) && __has_include(<appkeys/detail/sha256.hpp>)
#include <appkeys/detail/base64.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/detail/sha256.hpp>
#include <appkeys/testing/fake.hpp>
#else
#include <appkeys/testing/fake.hpp>  // the single-header build: the helpers are in there
#endif

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

// The server suites compile this file again with the same rules over the SQLite and
// the PostgreSQL stores.
#ifdef APPKEYS_TEST_SQLITE_STORE
#include "server/rules_backend.hpp"
#include "server/sqlite_under_test.hpp"
#endif
#ifdef APPKEYS_TEST_POSTGRES_STORE
#include "server/postgres_under_test.hpp"
#include "server/rules_backend.hpp"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fake_backend_test {

namespace {

using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
#if defined(APPKEYS_TEST_SQLITE_STORE)
using FakeBackend = appkeys_test::RulesBackend<appkeys_test::SqliteUnderTest>;
using FakeTransport = appkeys_test::BackendTransport<FakeBackend>;
#elif defined(APPKEYS_TEST_POSTGRES_STORE)
using FakeBackend = appkeys_test::RulesBackend<appkeys_test::PostgresUnderTest>;
using FakeTransport = appkeys_test::BackendTransport<FakeBackend>;
#else
using appkeys::testing::FakeBackend;
using appkeys::testing::FakeTransport;
#endif
using appkeys::testing::FakeBackendOptions;
using json = nlohmann::json;
namespace routes = appkeys::detail::routes;
using namespace std::chrono_literals;

const std::string origin = "http://fake.test:8080";
const std::string app_id = "shop-abcde";
const std::string email = "ann@example.com";
const std::string password = "correct horse";

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::optional<std::string> content_type(const HttpResponse& response) {
  if (auto value = appkeys::header_value(response.headers, "Content-Type")) {
    return std::string(*value);
  }
  return std::nullopt;
}

json body_of(const HttpResponse& response) {
  json value = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  INFO("status " << response.status);
  REQUIRE_FALSE(value.is_discarded());
  return value;
}

// Character-class checks by hand: std::regex trips GCC 12's -Wmaybe-uninitialized
// under optimization, and these tests build with -Werror.
bool all_chars(std::string_view text, std::string_view extra) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

bool is_alnum(std::string_view text) { return all_chars(text, ""); }
bool is_base64url(std::string_view text) { return all_chars(text, "-_"); }

bool is_hex24(std::string_view text) {
  return text.size() == 24 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

/// A 200/201 JSON answer with this exact body.
void check_json(const HttpResponse& response, int status, const json& expected) {
  CHECK(response.status == status);
  CHECK(content_type(response) == std::optional<std::string>("application/json"));
  CHECK(body_of(response) == expected);
}

/// A JSON error with the given code and exact message, and a well-formed link.
void check_error(const HttpResponse& response, int status, std::string_view code,
                 std::string_view message) {
  CHECK(response.status == status);
  CHECK(content_type(response) == std::optional<std::string>("application/json"));
  const json body = body_of(response);
  CHECK(body.size() == 3);
  CHECK(body.value("error_code", "") == code);
  CHECK(body.value("error", "") == message);
  const std::string link = body.value("link", "");
  const std::string prefix = "http://fake.test:8080/logs?co_id=";
  CHECK(link.rfind(prefix, 0) == 0);
  CHECK(is_hex24(std::string_view(link).substr(std::min(prefix.size(), link.size()))));
}

/// As check_error, for messages that only have to mention `fragment`.
void check_error_mentions(const HttpResponse& response, int status, std::string_view code,
                          std::string_view fragment) {
  CHECK(response.status == status);
  CHECK(content_type(response) == std::optional<std::string>("application/json"));
  const json body = body_of(response);
  CHECK(body.value("error_code", "") == code);
  const std::string message = body.value("error", "");
  INFO("message: " << message);
  CHECK(contains(message, fragment));
  CHECK(contains(body.value("link", ""), origin + "/logs?co_id="));
}

void check_invalid_session(const HttpResponse& response) {
  check_error(response, 401, "InvalidSession", "invalid session");
}

/// 204: no Content-Type, empty body (PROTOCOL.md §3).
void check_no_content(const HttpResponse& response) {
  CHECK(response.status == 204);
  CHECK_FALSE(content_type(response).has_value());
  CHECK(response.body.empty());
}

struct Tokens {
  std::string access;
  std::string refresh;
  std::string user_id;
  std::string device_id;
};

/// A FakeBackend and a FakeTransport, with request helpers that build exactly what a
/// client sends.
struct Harness {
  explicit Harness(FakeBackendOptions options = {}) : backend(std::move(options)) {}

  HttpResponse send(HttpMethod method, const std::string& path, const std::string& body = {},
                    const std::string& bearer = {}) {
    HttpRequest request;
    request.method = method;
    request.url = origin + path;
    request.headers.emplace("Accept", "application/json");
    if (!body.empty()) request.headers.emplace("Content-Type", "application/json");
    if (!bearer.empty()) request.headers.emplace("Authorization", "Bearer " + bearer);
    request.body = body;
    auto result = transport.send(request);
    REQUIRE(result.has_value());
    return std::move(result).value();
  }

  HttpResponse login(const std::string& provider, json body) {
    if (!body.contains("options")) {
      body["options"] = {
          {"device", {{"sdkVersion", "0.1.0"}, {"platform", "cpp"}, {"platformVersion", ""}}}};
    }
    return send(HttpMethod::post, routes::login(app_id, provider), body.dump());
  }

  Tokens tokens_of(const HttpResponse& response) {
    REQUIRE(response.status == 200);
    const json body = body_of(response);
    return Tokens{body.at("access_token").get<std::string>(),
                  body.at("refresh_token").get<std::string>(),
                  body.at("user_id").get<std::string>(), body.at("device_id").get<std::string>()};
  }

  Tokens login_email(const std::string& user = email, const std::string& pw = password) {
    return tokens_of(login("local-userpass", {{"username", user}, {"password", pw}}));
  }
  Tokens login_anon() { return tokens_of(login("anon-user", json::object())); }
  Tokens login_key(const std::string& key) { return tokens_of(login("api-key", {{"key", key}})); }

  HttpResponse create_key(const std::string& refresh, const std::string& name) {
    return send(HttpMethod::post, routes::api_keys(), json{{"name", name}}.dump(), refresh);
  }

  /// Creates a key that must succeed; returns the 201 body.
  json create_ok(const std::string& refresh, const std::string& name) {
    auto response = create_key(refresh, name);
    REQUIRE(response.status == 201);
    return body_of(response);
  }

  HttpResponse profile(const std::string& access) {
    return send(HttpMethod::get, routes::profile(), {}, access);
  }

  FakeBackend backend;
  FakeTransport transport{backend};
};

struct Jwt {
  json header;
  json payload;
  std::string signature;
};

/// Decodes a JWT-shaped token; fails the test if it is not three base64url parts.
Jwt decode_jwt(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = token.find('.', start);
    parts.push_back(
        token.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  REQUIRE(parts.size() == 3);
  Jwt jwt;
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(is_base64url(parts[i]));
    auto decoded = appkeys::detail::base64url_decode(parts[i]);
    REQUIRE(decoded.has_value());
    if (i == 2) {
      jwt.signature = *decoded;
      continue;
    }
    json value = json::parse(*decoded, nullptr, false);
    REQUIRE_FALSE(value.is_discarded());
    (i == 0 ? jwt.header : jwt.payload) = value;
  }
  return jwt;
}

}  // namespace

// ------------------------------------------------------------------------------------
// SHA-256 and randomness

TEST_CASE("sha256_hex matches the FIPS 180-4 and NIST test vectors", "[fake][sha256]") {
  using appkeys::detail::sha256_hex;
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                   "nopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256_hex pads correctly at every block boundary", "[fake][sha256]") {
  using appkeys::detail::sha256_hex;
  // 55 bytes is the longest message whose padding fits one block; 56..63 need two.
  CHECK(sha256_hex(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(sha256_hex(std::string(56, 'a')) ==
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(sha256_hex(std::string(63, 'a')) ==
        "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK(sha256_hex(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  CHECK(sha256_hex(std::string(65, 'a')) ==
        "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0");
  CHECK(sha256_hex(std::string(119, 'a')) ==
        "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
  CHECK(sha256_hex(std::string(120, 'a')) ==
        "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c");
}

TEST_CASE("Sha256 gives the same digest fed in pieces", "[fake][sha256]") {
  const std::string message(1000, 'x');
  appkeys::detail::Sha256 whole;
  whole.update(message);
  appkeys::detail::Sha256 pieces;
  for (std::size_t i = 0; i < message.size(); i += 37)
    pieces.update(std::string_view(message).substr(i, 37));
  CHECK(whole.digest() == pieces.digest());
}

TEST_CASE("random helpers give the requested shapes", "[fake][random]") {
  using namespace appkeys::detail;
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(33).size() == 33);
  const std::string chars = random_token_chars(1000);
  CHECK(chars.size() == 1000);
  CHECK(is_alnum(chars));
  // 1000 draws from 62 symbols: every symbol class shows up.
  CHECK(std::any_of(chars.begin(), chars.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
  CHECK(std::any_of(chars.begin(), chars.end(), [](char c) { return c >= 'a' && c <= 'z'; }));
  CHECK(std::any_of(chars.begin(), chars.end(), [](char c) { return c >= '0' && c <= '9'; }));
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = random_object_id();
    CHECK_FALSE(id.is_zero());
    ids.insert(id.to_hex());
  }
  CHECK(ids.size() == 1000);
  CHECK(random_token_chars(64) != random_token_chars(64));
}

// ------------------------------------------------------------------------------------
// Transport and routing

TEST_CASE("FakeTransport refuses URLs that are not absolute http(s)", "[fake][transport]") {
  FakeBackend backend;
  FakeTransport transport(backend);
  for (const char* url : {"/api/client/v2.0/auth/profile", "ftp://fake.test/x", "http://",
                          "https:///api", "fake.test/api", ""}) {
    HttpRequest request;
    request.url = url;
    auto result = transport.send(request);
    INFO("url: " << url);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code() == appkeys::errc::transport);
    CHECK(contains(result.error().message(), "absolute http:// or https://"));
  }
  CHECK(backend.request_count() == 0);

  HttpRequest https;
  https.url = "https://secure.test" + routes::location(app_id);
  auto ok = transport.send(https);
  REQUIRE(ok.has_value());
  CHECK(ok->status == 200);
}

TEST_CASE("location names the host the request was sent to", "[fake][location]") {
  Harness h;
  HttpRequest request;  // no headers at all, as the protocol sends it
  request.url = origin + routes::location(app_id);
  auto response = h.transport.send(request);
  REQUIRE(response.has_value());
  check_json(*response, 200,
             json{{"deployment_model", "GLOBAL"},
                  {"hostname", "http://fake.test:8080"},
                  {"location", "US-VA"},
                  {"ws_hostname", "ws://fake.test:8080"}});

  request.url = "https://other.example" + routes::location("any-app") + "?x=1";
  response = h.transport.send(request);
  REQUIRE(response.has_value());
  CHECK(body_of(*response).at("hostname") == "https://other.example");
  CHECK(body_of(*response).at("ws_hostname") == "wss://other.example");
}

TEST_CASE("a backend bound to one app refuses other app ids", "[fake][location]") {
  Harness h(FakeBackendOptions{.app_id = app_id});
  CHECK(h.send(HttpMethod::get, routes::location(app_id)).status == 200);
  check_error(h.send(HttpMethod::get, routes::location("other-app")), 404, "AppNotFound",
              "cannot find app using Client App ID");
  check_error(
      h.send(HttpMethod::post, routes::login("other-app", "anon-user"), R"({"options":{}})"), 404,
      "AppNotFound", "cannot find app using Client App ID");
  check_error(h.send(HttpMethod::post, routes::register_email("other-app"),
                     R"({"email":"a@b.c","password":"secret1"})"),
              404, "AppNotFound", "cannot find app using Client App ID");
  CHECK(h.login("anon-user", json::object()).status == 200);
}

TEST_CASE("unknown paths get Go's plain 404 page", "[fake][routing]") {
  Harness h;
  for (const std::string& path :
       {std::string("/"), std::string("/api/client/v2.0"), std::string("/api/client/v2.0/nope"),
        std::string("/api/client/v2.0/auth/api_keys/"),
        routes::api_key("0123456789abcdef01234567") + "/rename",
        std::string("/api/client/v2.0/app/") + app_id,
        std::string("/api/client/v2.0/app//location"),
        std::string("/api/client/v2.0/app/") + app_id + "/auth/providers/anon-user/register",
        std::string("/api/client/v2.0/app/") + app_id + "/auth/providers//login",
        std::string("/api/client/v2.1/auth/profile")}) {
    INFO("path: " << path);
    auto response = h.send(HttpMethod::get, path);
    CHECK(response.status == 404);
    CHECK(content_type(response).value_or("").rfind("text/plain", 0) == 0);
    CHECK(response.body == "404 page not found");
  }
}

TEST_CASE("a known path with the wrong method is 405 with Allow", "[fake][routing]") {
  Harness h;
  struct Case {
    HttpMethod method;
    std::string path;
    std::string allow;
  };
  const std::string id = "0123456789abcdef01234567";
  for (const auto& c : {Case{HttpMethod::post, routes::location(app_id), "GET"},
                        Case{HttpMethod::get, routes::login(app_id, "anon-user"), "POST"},
                        Case{HttpMethod::put, routes::register_email(app_id), "POST"},
                        Case{HttpMethod::del, routes::profile(), "GET"},
                        Case{HttpMethod::get, routes::session(), "POST, DELETE"},
                        Case{HttpMethod::put, routes::api_keys(), "GET, POST"},
                        Case{HttpMethod::post, routes::api_key(id), "GET, DELETE"},
                        Case{HttpMethod::get, routes::api_key_enable(id), "PUT"},
                        Case{HttpMethod::del, routes::api_key_disable(id), "PUT"}}) {
    INFO("path: " << c.path);
    auto response = h.send(c.method, c.path);
    CHECK(response.status == 405);
    CHECK(appkeys::header_value(response.headers, "Allow") ==
          std::optional<std::string_view>(c.allow));
    CHECK(content_type(response).value_or("").rfind("text/plain", 0) == 0);
  }
}

TEST_CASE("an oversized body is refused with 413 before it is parsed", "[fake][routing]") {
  FakeBackendOptions options;
  options.max_body_bytes = 64;
  Harness h(options);
  CHECK(h.backend.options().max_body_bytes == 64);
  const std::string big = R"({"name":")" + std::string(100, 'a') + R"("})";
  check_error(h.send(HttpMethod::post, routes::api_keys(), big), 413, "ReadSizeLimitExceeded",
              "request body exceeds the limit of 64 bytes");
  // At the limit the body is read (and here, since there is no bearer, refused for that).
  check_invalid_session(h.send(HttpMethod::post, routes::api_keys(), std::string(64, ' ')));
}

TEST_CASE("request_log and request_count record method and path only", "[fake][log]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  HttpRequest request;
  request.url = origin + routes::location(app_id) + "?token=should-not-appear#frag";
  (void)h.transport.send(request);
  (void)h.send(HttpMethod::del, routes::api_key("0123456789abcdef01234567"), {}, tokens.refresh);
  (void)h.send(HttpMethod::get, "/nowhere");
  CHECK(h.backend.request_count() == 4);
  const std::vector<std::string> expected = {
      "POST " + routes::login(app_id, "local-userpass"),
      "GET " + routes::location(app_id),
      "DELETE " + routes::api_key("0123456789abcdef01234567"),
      "GET /nowhere",
  };
  CHECK(h.backend.request_log() == expected);
  for (const auto& line : h.backend.request_log()) {
    CHECK_FALSE(contains(line, password));
    CHECK_FALSE(contains(line, tokens.refresh));
  }
}

TEST_CASE("request_log keeps the newest entries up to its limit", "[fake][log]") {
  FakeBackendOptions options;
  options.request_log_limit = 3;
  Harness h(options);
  for (int i = 0; i < 5; ++i) (void)h.send(HttpMethod::get, "/page/" + std::to_string(i));
  CHECK(h.backend.request_count() == 5);
  const std::vector<std::string> expected = {"GET /page/2", "GET /page/3", "GET /page/4"};
  CHECK(h.backend.request_log() == expected);

  options.request_log_limit = 0;
  Harness silent(options);
  (void)silent.send(HttpMethod::get, "/page/0");
  CHECK(silent.backend.request_count() == 1);
  CHECK(silent.backend.request_log().empty());
}

// ------------------------------------------------------------------------------------
// Registration and logins

TEST_CASE("register creates an email user that can log in", "[fake][register]") {
  Harness h;
  auto response = h.send(HttpMethod::post, routes::register_email(app_id),
                         json{{"email", "bo@example.com"}, {"password", "secret1"}}.dump());
  check_json(response, 201, json::object());
  auto tokens = h.login_email("bo@example.com", "secret1");
  CHECK(is_hex24(tokens.user_id));

  check_error(h.send(HttpMethod::post, routes::register_email(app_id),
                     json{{"email", "bo@example.com"}, {"password", "another1"}}.dump()),
              409, "AccountNameInUse", "name already in use");
  // The first password still holds.
  CHECK(h.login("local-userpass", {{"username", "bo@example.com"}, {"password", "another1"}})
            .status == 401);
}

TEST_CASE("register checks the body and the password length", "[fake][register]") {
  Harness h;
  const auto reg = [&](const std::string& body) {
    return h.send(HttpMethod::post, routes::register_email(app_id), body);
  };
  check_error(reg("not json"), 400, "BadRequest", "request body must be a JSON object");
  check_error(reg("[1,2]"), 400, "BadRequest", "request body must be a JSON object");
  check_error(reg(R"({"email":"x@y.z"})"), 400, "MissingParameter",
              "'email' and 'password' are required strings");
  check_error(reg(R"({"password":"secret1"})"), 400, "MissingParameter",
              "'email' and 'password' are required strings");
  check_error(reg(R"({"email":"x@y.z","password":123456})"), 400, "MissingParameter",
              "'email' and 'password' are required strings");
  const std::string too_short = "password must be between 6 and 128 characters";
  check_error(reg(json{{"email", "x@y.z"}, {"password", "12345"}}.dump()), 400, "BadRequest",
              too_short);
  check_error(reg(json{{"email", "x@y.z"}, {"password", std::string(129, 'p')}}.dump()), 400,
              "BadRequest", too_short);
  check_json(reg(json{{"email", "six@y.z"}, {"password", "123456"}}.dump()), 201, json::object());
  check_json(reg(json{{"email", "max@y.z"}, {"password", std::string(128, 'p')}}.dump()), 201,
             json::object());
  // Characters, not bytes: six two-byte characters are a valid password.
  check_json(reg(json{{"email", "utf@y.z"},
                      {"password", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"}}
                     .dump()),
             201, json::object());
}

TEST_CASE("add_email_user keeps the id of an existing email", "[fake][users]") {
  Harness h;
  const std::string id = h.backend.add_email_user(email, "first-password");
  CHECK(is_hex24(id));
  CHECK(h.backend.add_email_user(email, "second-password") == id);
  CHECK(h.backend.add_email_user("other@example.com", "x") != id);
  CHECK(h.login("local-userpass", {{"username", email}, {"password", "first-password"}}).status ==
        401);
  CHECK(h.login_email(email, "second-password").user_id == id);
}

TEST_CASE("email/password login", "[fake][login]") {
  Harness h;
  const std::string id = h.backend.add_email_user(email, password);

  SECTION("success returns the four fields") {
    auto response = h.login("local-userpass", {{"username", email}, {"password", password}});
    CHECK(response.status == 200);
    CHECK(content_type(response) == std::optional<std::string>("application/json"));
    const json body = body_of(response);
    CHECK(body.size() == 4);
    CHECK(body.at("user_id") == id);
    CHECK(is_hex24(body.at("device_id").get<std::string>()));
    CHECK(body.at("access_token").get<std::string>() !=
          body.at("refresh_token").get<std::string>());
  }
  SECTION("a wrong password or an unknown user is InvalidPassword") {
    check_error(h.login("local-userpass", {{"username", email}, {"password", "wrong!"}}), 401,
                "InvalidPassword", "invalid username/password");
    check_error(
        h.login("local-userpass", {{"username", "nobody@example.com"}, {"password", password}}),
        401, "InvalidPassword", "invalid username/password");
  }
  SECTION("a disabled user is UserDisabled, after the password check") {
    h.backend.set_user_disabled(id, true);
    check_error(h.login("local-userpass", {{"username", email}, {"password", password}}), 401,
                "UserDisabled", "user is disabled");
    check_error(h.login("local-userpass", {{"username", email}, {"password", "wrong!"}}), 401,
                "InvalidPassword", "invalid username/password");
    h.backend.set_user_disabled(id, false);
    CHECK(h.login_email().user_id == id);
  }
  SECTION("missing fields and bad bodies") {
    check_error(h.login("local-userpass", {{"username", email}}), 400, "MissingParameter",
                "'username' and 'password' are required strings");
    check_error(h.login("local-userpass", {{"password", password}}), 400, "MissingParameter",
                "'username' and 'password' are required strings");
    check_error(h.login("local-userpass", {{"username", email}, {"password", 5}}), 400,
                "MissingParameter", "'username' and 'password' are required strings");
    check_error(h.send(HttpMethod::post, routes::login(app_id, "local-userpass"), "{oops"), 400,
                "BadRequest", "request body must be a JSON object");
    check_error(h.send(HttpMethod::post, routes::login(app_id, "local-userpass"), ""), 400,
                "BadRequest", "request body must be a JSON object");
  }
  SECTION("an unknown provider is AuthProviderNotFound") {
    check_error(h.login("oauth2-google", json::object()), 404, "AuthProviderNotFound",
                "authentication provider not found");
  }
  SECTION("set_user_disabled refuses an unknown id") {
    CHECK_THROWS_AS(h.backend.set_user_disabled("0123456789abcdef01234567", true),
                    std::invalid_argument);
  }
}

TEST_CASE("the device id is echoed when valid, else assigned", "[fake][login]") {
  Harness h;
  h.backend.add_email_user(email, password);
  const auto login_with = [&](const json& device_id) {
    json body = {{"username", email}, {"password", password}};
    body["options"] = {{"device", {{"sdkVersion", "0.1.0"}, {"deviceId", device_id}}}};
    return h.tokens_of(h.login("local-userpass", body)).device_id;
  };
  CHECK(login_with({{"$oid", "65a1b2c3d4e5f60718293a4b"}}) == "65a1b2c3d4e5f60718293a4b");
  CHECK(login_with({{"$oid", "65A1B2C3D4E5F60718293A4B"}}) == "65a1b2c3d4e5f60718293a4b");
  for (const json& unusable :
       {json{{"$oid", "000000000000000000000000"}}, json{{"$oid", "xyz"}}, json{{"$oid", 5}},
        json("65a1b2c3d4e5f60718293a4b"), json(nullptr)}) {
    INFO("deviceId: " << unusable.dump());
    const std::string assigned = login_with(unusable);
    CHECK(is_hex24(assigned));
    CHECK(assigned != "000000000000000000000000");
  }
  // No options at all still works and gets an id.
  auto response = h.send(HttpMethod::post, routes::login(app_id, "local-userpass"),
                         json{{"username", email}, {"password", password}}.dump());
  CHECK(is_hex24(h.tokens_of(response).device_id));
}

TEST_CASE("anonymous login makes a new user every time", "[fake][login]") {
  Harness h;
  auto first = h.login_anon();
  auto second = h.login_anon();
  CHECK(is_hex24(first.user_id));
  CHECK(first.user_id != second.user_id);
  auto profile = body_of(h.profile(first.access));
  CHECK(profile.at("user_id") == first.user_id);
  CHECK(profile.at("type") == "normal");
  CHECK(profile.at("data") == json::object());
  REQUIRE(profile.at("identities").size() == 1);
  CHECK(profile.at("identities")[0].at("provider_type") == "anon-user");
  CHECK(is_hex24(profile.at("identities")[0].at("id").get<std::string>()));
  check_error(h.send(HttpMethod::post, routes::login(app_id, "anon-user"), "nope"), 400,
              "BadRequest", "request body must be a JSON object");
}

TEST_CASE("profile lists identities and the email", "[fake][profile]") {
  Harness h;
  const std::string id = h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  auto response = h.profile(tokens.access);
  CHECK(response.status == 200);
  CHECK(content_type(response) == std::optional<std::string>("application/json"));
  json profile = body_of(response);
  CHECK(profile.at("user_id") == id);
  CHECK(profile.at("type") == "normal");
  CHECK(profile.at("data") == json{{"email", email}});
  REQUIRE(profile.at("identities").size() == 1);
  CHECK(profile.at("identities")[0].at("provider_type") == "local-userpass");
  const json email_identity = profile.at("identities")[0];

  // After a login with a key, the key's id is an api-key identity of the owner.
  const json key = h.create_ok(tokens.refresh, "svc");
  auto key_login = h.login_key(key.at("key").get<std::string>());
  CHECK(key_login.user_id == id);
  profile = body_of(h.profile(key_login.access));
  CHECK(profile.at("user_id") == id);
  CHECK(profile.at("data") == json{{"email", email}});
  CHECK(profile.at("identities") ==
        json::array({email_identity, json{{"id", key.at("_id")}, {"provider_type", "api-key"}}}));
  // Listed once, however often the key logs in, and seen from every session.
  (void)h.login_key(key.at("key").get<std::string>());
  CHECK(body_of(h.profile(tokens.access)).at("identities").size() == 2);

  // The profile needs the access token.
  check_invalid_session(h.profile(tokens.refresh));
}

// ------------------------------------------------------------------------------------
// Tokens and sessions

TEST_CASE("tokens are JWT-shaped with exp, iat, sub, typ and the device id", "[fake][tokens]") {
  FakeBackendOptions options;
  options.access_token_lifetime = 600s;
  options.refresh_token_lifetime = 7200s;
  Harness h(options);
  const std::string id = h.backend.add_email_user(email, password);
  const auto before = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto tokens = h.login_email();
  for (const auto& [token, typ, lifetime] :
       {std::tuple{tokens.access, "access", 600}, std::tuple{tokens.refresh, "refresh", 7200}}) {
    const Jwt jwt = decode_jwt(token);
    CHECK(jwt.header == json{{"alg", "HS256"}, {"typ", "JWT"}});
    CHECK(jwt.payload.at("sub") == id);
    CHECK(jwt.payload.at("typ") == typ);
    CHECK(jwt.payload.at("baas_device_id") == tokens.device_id);
    const auto iat = jwt.payload.at("iat").get<std::int64_t>();
    CHECK(iat >= before);
    CHECK(iat <= before + 60);
    CHECK(jwt.payload.at("exp").get<std::int64_t>() - iat == lifetime);
    CHECK(jwt.signature.size() == 32);
  }
  // The clock the claims use is the backend's.
  h.backend.advance_clock(std::chrono::hours(24));
  auto later = h.login_email();
  CHECK(decode_jwt(later.access).payload.at("iat").get<std::int64_t>() >= before + 24 * 3600);
  CHECK(later.access != tokens.access);
}

TEST_CASE("the access token expires by the backend clock and refresh renews it", "[fake][tokens]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  CHECK(h.profile(tokens.access).status == 200);
  h.backend.advance_clock(29min);
  CHECK(h.profile(tokens.access).status == 200);
  h.backend.advance_clock(2min);
  check_invalid_session(h.profile(tokens.access));

  auto refreshed = h.send(HttpMethod::post, routes::session(), {}, tokens.refresh);
  CHECK(refreshed.status == 201);
  CHECK(content_type(refreshed) == std::optional<std::string>("application/json"));
  const json body = body_of(refreshed);
  REQUIRE(body.size() == 1);
  const std::string access = body.at("access_token").get<std::string>();
  CHECK(access != tokens.access);
  CHECK(h.profile(access).status == 200);

  // The refresh token ends after 60 days.
  h.backend.advance_clock(std::chrono::hours(24 * 60));
  check_invalid_session(h.send(HttpMethod::post, routes::session(), {}, tokens.refresh));
  check_invalid_session(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh));
}

TEST_CASE("expire_access_tokens ends access tokens issued so far, not refresh tokens",
          "[fake][tokens]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  auto other = h.login_anon();
  h.backend.expire_access_tokens();
  check_invalid_session(h.profile(tokens.access));
  check_invalid_session(h.profile(other.access));
  CHECK(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh).status == 200);
  auto refreshed = h.send(HttpMethod::post, routes::session(), {}, tokens.refresh);
  REQUIRE(refreshed.status == 201);
  CHECK(h.profile(body_of(refreshed).at("access_token").get<std::string>()).status == 200);
  CHECK(h.profile(h.login_anon().access).status == 200);
}

TEST_CASE("access and refresh tokens are not interchangeable", "[fake][tokens]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  check_invalid_session(h.send(HttpMethod::post, routes::session(), {}, tokens.access));
  check_invalid_session(h.send(HttpMethod::del, routes::session(), {}, tokens.access));
  check_invalid_session(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.access));
  check_invalid_session(h.create_key(tokens.access, "k"));
  check_invalid_session(h.profile(tokens.refresh));
  CHECK(h.backend.key_count(tokens.user_id) == 0);
}

TEST_CASE("a missing, malformed or unknown bearer is InvalidSession", "[fake][tokens]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  const auto with_header = [&](std::optional<std::string> authorization) {
    HttpRequest request;
    request.method = HttpMethod::get;
    request.url = origin + routes::api_keys();
    if (authorization) request.headers.emplace("Authorization", *authorization);
    return h.transport.send(request).value();
  };
  check_invalid_session(with_header(std::nullopt));
  check_invalid_session(with_header(""));
  check_invalid_session(with_header("Bearer"));
  check_invalid_session(with_header("Bearer "));
  check_invalid_session(with_header("Basic " + tokens.refresh));
  check_invalid_session(with_header(tokens.refresh));
  check_invalid_session(with_header("Bearer x" + tokens.refresh));
  check_invalid_session(with_header("Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"));
  CHECK(with_header("Bearer " + tokens.refresh).status == 200);
  CHECK(with_header("bearer " + tokens.refresh).status == 200);  // the scheme ignores case
}

TEST_CASE("log out revokes that session only", "[fake][sessions]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto first = h.login_email();
  auto second = h.login_email();
  check_no_content(h.send(HttpMethod::del, routes::session(), {}, first.refresh));
  check_invalid_session(h.send(HttpMethod::post, routes::session(), {}, first.refresh));
  check_invalid_session(h.profile(first.access));
  check_invalid_session(h.send(HttpMethod::del, routes::session(), {}, first.refresh));
  CHECK(h.profile(second.access).status == 200);
  CHECK(h.send(HttpMethod::post, routes::session(), {}, second.refresh).status == 201);
}

TEST_CASE("past max_sessions a login ends the oldest session", "[fake][sessions]") {
  FakeBackendOptions options;
  options.max_sessions = 2;
  Harness h(options);
  h.backend.add_email_user(email, password);
  auto first = h.login_email();
  auto second = h.login_email();
  auto third = h.login_email();
  check_invalid_session(h.send(HttpMethod::post, routes::session(), {}, first.refresh));
  check_invalid_session(h.profile(first.access));
  CHECK(h.profile(second.access).status == 200);
  CHECK(h.profile(third.access).status == 200);
  const json state = json::parse(h.backend.debug_dump());
  CHECK(state.at("sessions") == 2);
}

TEST_CASE("an anonymous user goes with its last session", "[fake][sessions]") {
  auto anonymous_users = [](const FakeBackend& backend) {
    const json state = json::parse(backend.debug_dump());
    return std::count_if(state.at("users").begin(), state.at("users").end(),
                         [](const json& user) { return user.at("provider") == "anon-user"; });
  };
  SECTION("logged out") {
    Harness h;
    auto kept = h.login_anon();
    auto gone = h.login_anon();
    CHECK(anonymous_users(h.backend) == 2);
    check_no_content(h.send(HttpMethod::del, routes::session(), {}, gone.refresh));
    CHECK(anonymous_users(h.backend) == 1);
    CHECK(h.profile(kept.access).status == 200);
  }
  SECTION("a flood of anonymous logins stays bounded") {
    FakeBackendOptions options;
    options.max_sessions = 10;
    Harness h(options);
    h.backend.add_email_user(email, password);
    auto owner = h.login_email();
    REQUIRE(h.create_key(owner.refresh, "kept").status == 201);
    for (int i = 0; i < 200; ++i) (void)h.login_anon();
    CHECK(anonymous_users(h.backend) == 10);
    const json state = json::parse(h.backend.debug_dump());
    CHECK(state.at("sessions") == 10);
    // The email user lost its session to the flood but not its account or its keys.
    check_invalid_session(h.profile(owner.access));
    auto again = h.login_email();
    CHECK(body_of(h.send(HttpMethod::get, routes::api_keys(), {}, again.refresh)).size() == 1);
  }
}

TEST_CASE("revoke_sessions ends every session of one user", "[fake][sessions]") {
  Harness h;
  const std::string id = h.backend.add_email_user(email, password);
  auto first = h.login_email();
  const json key = h.create_ok(first.refresh, "svc");
  auto by_key = h.login_key(key.at("key").get<std::string>());
  auto other = h.login_anon();
  h.backend.revoke_sessions(id);
  for (const auto* tokens : {&first, &by_key}) {
    check_invalid_session(h.profile(tokens->access));
    check_invalid_session(h.send(HttpMethod::post, routes::session(), {}, tokens->refresh));
  }
  CHECK(h.profile(other.access).status == 200);
  // The user can log in again, and the key still works.
  CHECK(h.login_email().user_id == id);
  CHECK(h.login_key(key.at("key").get<std::string>()).user_id == id);
}

TEST_CASE("disabling a user ends the user's sessions", "[fake][sessions]") {
  Harness h;
  const std::string id = h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  const json key = h.create_ok(tokens.refresh, "svc");
  h.backend.set_user_disabled(id, true);
  check_invalid_session(h.profile(tokens.access));
  check_invalid_session(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh));
  check_error(h.login("api-key", {{"key", key.at("key")}}), 401, "UserDisabled",
              "user is disabled");
  h.backend.set_user_disabled(id, false);
  check_invalid_session(h.profile(tokens.access));  // ended sessions stay ended
  CHECK(h.login_key(key.at("key").get<std::string>()).user_id == id);
}

// ------------------------------------------------------------------------------------
// API keys

TEST_CASE("create, fetch, fetch all, enable, disable, delete", "[fake][api_keys]") {
  Harness h;
  const std::string id = h.backend.add_email_user(email, password);
  auto tokens = h.login_email();

  auto created = h.create_key(tokens.refresh, "reporting");
  CHECK(created.status == 201);
  CHECK(content_type(created) == std::optional<std::string>("application/json"));
  const json key = body_of(created);
  CHECK(key.size() == 4);
  const std::string key_id = key.at("_id").get<std::string>();
  CHECK(is_hex24(key_id));
  CHECK(key.at("name") == "reporting");
  CHECK(key.at("disabled") == false);
  const std::string value = key.at("key").get<std::string>();
  CHECK(value.size() == 64);
  CHECK(is_alnum(value));
  CHECK(h.backend.key_count(id) == 1);

  const json without_secret = {{"_id", key_id}, {"name", "reporting"}, {"disabled", false}};
  check_json(h.send(HttpMethod::get, routes::api_key(key_id), {}, tokens.refresh), 200,
             without_secret);
  check_json(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh), 200,
             json::array({without_secret}));

  check_no_content(h.send(HttpMethod::put, routes::api_key_disable(key_id), {}, tokens.refresh));
  json disabled = without_secret;
  disabled["disabled"] = true;
  check_json(h.send(HttpMethod::get, routes::api_key(key_id), {}, tokens.refresh), 200, disabled);
  // Disabling again succeeds and changes nothing.
  check_no_content(h.send(HttpMethod::put, routes::api_key_disable(key_id), {}, tokens.refresh));
  check_json(h.send(HttpMethod::get, routes::api_key(key_id), {}, tokens.refresh), 200, disabled);

  check_no_content(h.send(HttpMethod::put, routes::api_key_enable(key_id), {}, tokens.refresh));
  check_json(h.send(HttpMethod::get, routes::api_key(key_id), {}, tokens.refresh), 200,
             without_secret);
  check_no_content(h.send(HttpMethod::put, routes::api_key_enable(key_id), {}, tokens.refresh));
  check_json(h.send(HttpMethod::get, routes::api_key(key_id), {}, tokens.refresh), 200,
             without_secret);

  check_no_content(h.send(HttpMethod::del, routes::api_key(key_id), {}, tokens.refresh));
  CHECK(h.backend.key_count(id) == 0);
  check_error(h.send(HttpMethod::get, routes::api_key(key_id), {}, tokens.refresh), 404,
              "APIKeyNotFound", "API key not found");
  check_json(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh), 200, json::array());
  // Delete is permanent: the key can no longer log in, and a second delete is 404.
  check_error(h.login("api-key", {{"key", value}}), 401, "AuthError", "unauthorized");
  check_error(h.send(HttpMethod::del, routes::api_key(key_id), {}, tokens.refresh), 404,
              "APIKeyNotFound", "API key not found");
  // The name is free again.
  CHECK(h.create_key(tokens.refresh, "reporting").status == 201);
}

TEST_CASE("fetch all lists keys in creation order", "[fake][api_keys]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  // Names deliberately out of alphabetical order.
  const std::vector<std::string> names = {"zeta", "alpha", "Mid_1", "beta-2", "0"};
  std::vector<std::string> ids;
  for (const auto& name : names) ids.push_back(h.create_ok(tokens.refresh, name).at("_id"));
  CHECK(h.send(HttpMethod::del, routes::api_key(ids[1]), {}, tokens.refresh).status == 204);
  (void)h.create_ok(tokens.refresh, "alpha");

  const json list = body_of(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh));
  std::vector<std::string> listed;
  for (const auto& key : list) {
    listed.push_back(key.at("name"));
    CHECK_FALSE(key.contains("key"));
  }
  CHECK(listed == std::vector<std::string>{"zeta", "Mid_1", "beta-2", "0", "alpha"});
}

TEST_CASE("create validates in the documented order", "[fake][api_keys]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  const auto create_raw = [&](const std::string& body, const std::string& bearer) {
    return h.send(HttpMethod::post, routes::api_keys(), body, bearer);
  };

  SECTION("bearer first: no token beats a bad body") {
    check_invalid_session(create_raw("not json", ""));
  }
  SECTION("anonymous and API-key sessions may not create, whatever the body") {
    auto anon = h.login_anon();
    check_error(create_raw("not json", anon.refresh), 403, "InvalidParameter",
                "API keys cannot be created by a user logged in with the 'anon-user' provider");
    check_error(h.create_key(anon.refresh, "fine"), 403, "InvalidParameter",
                "API keys cannot be created by a user logged in with the 'anon-user' provider");
    const json key = h.create_ok(tokens.refresh, "svc");
    auto by_key = h.login_key(key.at("key").get<std::string>());
    check_error(h.create_key(by_key.refresh, "other"), 403, "InvalidParameter",
                "API keys cannot be created by a user logged in with the 'api-key' provider");
    CHECK(h.backend.key_count(tokens.user_id) == 1);
    // An API-key session may still read and manage the owner's keys.
    CHECK(body_of(h.send(HttpMethod::get, routes::api_keys(), {}, by_key.refresh)).size() == 1);
  }
  SECTION("body must be a JSON object") {
    check_error(create_raw("not json", tokens.refresh), 400, "BadRequest",
                "request body must be a JSON object");
    check_error(create_raw("", tokens.refresh), 400, "BadRequest",
                "request body must be a JSON object");
    check_error(create_raw(R"(["name"])", tokens.refresh), 400, "BadRequest",
                "request body must be a JSON object");
  }
  SECTION("name missing, not a string or empty: the bare error, no error_code") {
    for (const char* body :
         {R"({})", R"({"name":""})", R"({"name":5})", R"({"name":null})", R"({"title":"x"})"}) {
      INFO("body: " << body);
      auto response = create_raw(body, tokens.refresh);
      CHECK(response.status == 400);
      CHECK(content_type(response) == std::optional<std::string>("application/json"));
      CHECK(body_of(response) == json{{"error", "'name' is a required string."}});
    }
  }
  SECTION("charset, then length") {
    const std::string charset =
        "API key name can only contain ASCII letters, numbers, underscores, and hyphens.";
    for (const char* name : {"has space", "dot.ted", "slash/", "caf\xc3\xa9", "tab\t", "a+b"}) {
      INFO("name: " << name);
      check_error(h.create_key(tokens.refresh, name), 400, "InvalidParameter", charset);
    }
    // A long name with a bad character reports the character set, not the length.
    check_error(h.create_key(tokens.refresh, std::string(300, 'a') + "!"), 400, "InvalidParameter",
                charset);
    check_error_mentions(h.create_key(tokens.refresh, std::string(257, 'a')), 400,
                         "InvalidParameter", "256");
    CHECK(h.create_key(tokens.refresh, std::string(256, 'a')).status == 201);
    CHECK(h.create_key(tokens.refresh, "Az09_-").status == 201);
  }
  SECTION("duplicate names, per user") {
    (void)h.create_ok(tokens.refresh, "dup");
    check_error(h.create_key(tokens.refresh, "dup"), 409, "APIKeyAlreadyExists",
                "API key with name already exists");
    CHECK(h.create_key(tokens.refresh, "Dup").status == 201);  // names are case-sensitive
    h.backend.add_email_user("bo@example.com", password);
    auto bo = h.login_email("bo@example.com", password);
    CHECK(h.create_key(bo.refresh, "dup").status == 201);
  }
  SECTION("the 21st key is refused; a duplicate is reported before the limit") {
    for (int i = 0; i < 20; ++i) (void)h.create_ok(tokens.refresh, "k" + std::to_string(i));
    CHECK(h.backend.key_count(tokens.user_id) == 20);
    check_error_mentions(h.create_key(tokens.refresh, "k20"), 400, "InvalidParameter", "20");
    check_error(h.create_key(tokens.refresh, "k3"), 409, "APIKeyAlreadyExists",
                "API key with name already exists");
    CHECK(h.backend.key_count(tokens.user_id) == 20);
    // Deleting one makes room again; a disabled key still counts.
    const json list = body_of(h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh));
    CHECK(h.send(HttpMethod::put, routes::api_key_disable(list[1].at("_id").get<std::string>()), {},
                 tokens.refresh)
              .status == 204);
    CHECK(h.create_key(tokens.refresh, "k20").status == 400);
    CHECK(h.send(HttpMethod::del, routes::api_key(list[0].at("_id").get<std::string>()), {},
                 tokens.refresh)
              .status == 204);
    CHECK(h.create_key(tokens.refresh, "k20").status == 201);
    CHECK(h.backend.key_count(tokens.user_id) == 20);
  }
}

TEST_CASE("the key limits follow the options", "[fake][api_keys]") {
  FakeBackendOptions options;
  options.max_keys_per_user = 2;
  options.max_key_name_bytes = 4;
  Harness h(options);
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  check_error(h.create_key(tokens.refresh, "abcde"), 400, "InvalidParameter",
              "API key name must not be longer than 4 bytes");
  (void)h.create_ok(tokens.refresh, "abcd");
  (void)h.create_ok(tokens.refresh, "b");
  check_error(h.create_key(tokens.refresh, "c"), 400, "InvalidParameter",
              "a user can have at most 2 API keys");
}

TEST_CASE("ids that are malformed, unknown or another user's are APIKeyNotFound",
          "[fake][api_keys]") {
  Harness h;
  h.backend.add_email_user(email, password);
  h.backend.add_email_user("bo@example.com", password);
  auto ann = h.login_email();
  auto bo = h.login_email("bo@example.com", password);
  const std::string anns_key = h.create_ok(ann.refresh, "mine").at("_id");
  std::string upper = anns_key;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  });

  for (const std::string& id :
       {std::string("123"), std::string("zzzzzzzzzzzzzzzzzzzzzzzz"),
        std::string("0123456789abcdef0123456"), std::string("0123456789abcdef012345678"),
        std::string("0123456789abcdef01234567"), anns_key}) {
    INFO("id: " << id);
    const std::string& bearer = id == anns_key ? bo.refresh : ann.refresh;
    check_error(h.send(HttpMethod::get, routes::api_key(id), {}, bearer), 404, "APIKeyNotFound",
                "API key not found");
    check_error(h.send(HttpMethod::put, routes::api_key_enable(id), {}, bearer), 404,
                "APIKeyNotFound", "API key not found");
    check_error(h.send(HttpMethod::put, routes::api_key_disable(id), {}, bearer), 404,
                "APIKeyNotFound", "API key not found");
    check_error(h.send(HttpMethod::del, routes::api_key(id), {}, bearer), 404, "APIKeyNotFound",
                "API key not found");
  }
  // Bo's attempts changed nothing; hex ids are read in either case.
  check_json(h.send(HttpMethod::get, routes::api_key(upper), {}, ann.refresh), 200,
             json{{"_id", anns_key}, {"name", "mine"}, {"disabled", false}});
  CHECK(h.backend.key_count(ann.user_id) == 1);
  CHECK(body_of(h.send(HttpMethod::get, routes::api_keys(), {}, bo.refresh)) == json::array());
  // Bearer is checked before the id.
  check_invalid_session(h.send(HttpMethod::get, routes::api_key("123"), {}, ""));
}

TEST_CASE("logging in with a key logs in as its owner", "[fake][api_keys][login]") {
  Harness h;
  const std::string owner = h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  const json key = h.create_ok(tokens.refresh, "svc");
  const std::string value = key.at("key").get<std::string>();
  const std::string key_id = key.at("_id").get<std::string>();

  auto by_key = h.login_key(value);
  CHECK(by_key.user_id == owner);
  CHECK(decode_jwt(by_key.access).payload.at("sub") == owner);
  CHECK(by_key.refresh != tokens.refresh);
  CHECK(h.profile(by_key.access).status == 200);

  SECTION("a disabled key is unauthorized until enabled again") {
    CHECK(h.send(HttpMethod::put, routes::api_key_disable(key_id), {}, tokens.refresh).status ==
          204);
    check_error(h.login("api-key", {{"key", value}}), 401, "AuthError", "unauthorized");
    CHECK(h.send(HttpMethod::put, routes::api_key_enable(key_id), {}, tokens.refresh).status ==
          204);
    CHECK(h.login_key(value).user_id == owner);
  }
  SECTION("unknown or malformed keys") {
    check_error(h.login("api-key", {{"key", std::string(64, 'A')}}), 401, "AuthError",
                "unauthorized");
    check_error(h.login("api-key", {{"key", ""}}), 401, "AuthError", "unauthorized");
    check_error(h.login("api-key", json::object()), 400, "MissingParameter",
                "'key' is a required string");
    check_error(h.login("api-key", {{"key", 42}}), 400, "MissingParameter",
                "'key' is a required string");
  }
  SECTION("an API-key session manages the owner's keys but cannot create one") {
    check_json(h.send(HttpMethod::get, routes::api_key(key_id), {}, by_key.refresh), 200,
               json{{"_id", key_id}, {"name", "svc"}, {"disabled", false}});
    check_error(h.create_key(by_key.refresh, "new"), 403, "InvalidParameter",
                "API keys cannot be created by a user logged in with the 'api-key' provider");
  }
}

TEST_CASE("only hashes of keys, passwords and tokens are stored", "[fake][storage]") {
  Harness h;
  const std::string id = h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  const json key = h.create_ok(tokens.refresh, "svc");
  const std::string value = key.at("key").get<std::string>();
  auto by_key = h.login_key(value);
  (void)h.send(HttpMethod::post, routes::register_email(app_id),
               json{{"email", "bo@example.com"}, {"password", "bos-password"}}.dump());

  const std::string dump = h.backend.debug_dump();
  const json state = json::parse(dump, nullptr, false);
  REQUIRE_FALSE(state.is_discarded());
  CHECK(contains(dump, appkeys::detail::sha256_hex(value)));
  CHECK_FALSE(contains(dump, value));
  CHECK_FALSE(contains(dump, password));
  CHECK_FALSE(contains(dump, "bos-password"));
  for (const auto* secret : {&tokens.access, &tokens.refresh, &by_key.access, &by_key.refresh}) {
    CHECK_FALSE(contains(dump, *secret));
    // Not even the random signature part of a token.
    CHECK_FALSE(contains(dump, secret->substr(secret->rfind('.') + 1)));
  }

  // The state is what happened: two email users, one key, two sessions for Ann.
  CHECK(state.at("users").size() == 2);
  CHECK(state.at("sessions") == 2);
  CHECK(state.at("refresh_tokens") == 2);
  CHECK(state.at("access_tokens") == 2);
  json ann;
  for (const auto& user : state.at("users")) {
    if (user.at("id") == id) ann = user;
  }
  REQUIRE(ann.is_object());
  CHECK(ann.at("email") == email);
  CHECK(ann.at("sessions") == 2);
  CHECK(ann.at("disabled") == false);
  REQUIRE(ann.at("api_keys").size() == 1);
  CHECK(ann.at("api_keys")[0] == json{{"_id", key.at("_id")},
                                      {"name", "svc"},
                                      {"disabled", false},
                                      {"key_sha256", appkeys::detail::sha256_hex(value)}});
  CHECK(ann.at("password_sha256").get<std::string>().size() == 64);
}

TEST_CASE("no message or log line carries a secret", "[fake][storage]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  const std::string value = h.create_ok(tokens.refresh, "svc").at("key");
  std::vector<HttpResponse> errors;
  errors.push_back(
      h.login("local-userpass", {{"username", email}, {"password", "wrong-password"}}));
  errors.push_back(h.login("api-key", {{"key", value + "x"}}));
  errors.push_back(h.send(HttpMethod::get, routes::profile(), {}, tokens.refresh));
  errors.push_back(h.create_key(tokens.refresh, value + "!"));
  errors.push_back(h.create_key(tokens.refresh, "svc"));
  for (const auto& response : errors) {
    CHECK(response.status >= 400);
    CHECK_FALSE(contains(response.body, value));
    CHECK_FALSE(contains(response.body, "wrong-password"));
    CHECK_FALSE(contains(response.body, tokens.refresh));
  }
}

TEST_CASE("every JSON answer is labelled, every 204 is not", "[fake][headers]") {
  Harness h;
  h.backend.add_email_user(email, password);
  auto tokens = h.login_email();
  const std::string id = h.create_ok(tokens.refresh, "svc").at("_id");
  std::vector<HttpResponse> responses = {
      h.send(HttpMethod::get, routes::location(app_id)),
      h.login("local-userpass", {{"username", email}, {"password", password}}),
      h.send(HttpMethod::post, routes::register_email(app_id),
             json{{"email", "new@example.com"}, {"password", "secret1"}}.dump()),
      h.profile(tokens.access),
      h.send(HttpMethod::post, routes::session(), {}, tokens.refresh),
      h.create_key(tokens.refresh, "svc2"),
      h.send(HttpMethod::get, routes::api_keys(), {}, tokens.refresh),
      h.send(HttpMethod::get, routes::api_key(id), {}, tokens.refresh),
      h.create_key(tokens.refresh, "svc"),
      h.profile("nope"),
  };
  for (const auto& response : responses) {
    INFO("status " << response.status);
    CHECK(response.status != 204);
    CHECK(content_type(response) == std::optional<std::string>("application/json"));
    CHECK_FALSE(json::parse(response.body, nullptr, false).is_discarded());
  }
  check_no_content(h.send(HttpMethod::put, routes::api_key_disable(id), {}, tokens.refresh));
  check_no_content(h.send(HttpMethod::put, routes::api_key_enable(id), {}, tokens.refresh));
  check_no_content(h.send(HttpMethod::del, routes::api_key(id), {}, tokens.refresh));
  check_no_content(h.send(HttpMethod::del, routes::session(), {}, tokens.refresh));
}

TEST_CASE("a bare path is served with the Host header's origin", "[fake][routing]") {
  FakeBackend backend;
  HttpRequest request;
  request.url = routes::location(app_id) + "?q=1";
  request.headers.emplace("Host", "127.0.0.1:5000");
  auto response = backend.handle(request);
  CHECK(response.status == 200);
  CHECK(body_of(response).at("hostname") == "http://127.0.0.1:5000");
  CHECK(backend.request_log() == std::vector<std::string>{"GET " + routes::location(app_id)});
}

// ------------------------------------------------------------------------------------
// Concurrency

TEST_CASE("eight threads create keys for different users at once", "[fake][threads]") {
  constexpr int threads = 8;
  constexpr int keys_per_thread = 20;
  Harness h;
  std::vector<std::string> user_ids;
  for (int t = 0; t < threads; ++t) {
    user_ids.push_back(
        h.backend.add_email_user("user" + std::to_string(t) + "@example.com", password));
  }
  const std::size_t before = h.backend.request_count();

  // Catch2's assertions are not thread-safe: threads record, the main thread checks.
  std::vector<std::vector<int>> statuses(threads);
  std::vector<std::vector<std::string>> key_ids(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      FakeTransport transport(h.backend);  // one transport per thread, one backend
      const auto send = [&](HttpMethod method, const std::string& path, const std::string& body,
                            const std::string& bearer) {
        HttpRequest request;
        request.method = method;
        request.url = origin + path;
        if (!bearer.empty()) request.headers.emplace("Authorization", "Bearer " + bearer);
        request.body = body;
        return transport.send(request).value_or(HttpResponse{});
      };
      const json credentials = {{"username", "user" + std::to_string(t) + "@example.com"},
                                {"password", password}};
      auto login =
          send(HttpMethod::post, routes::login(app_id, "local-userpass"), credentials.dump(), {});
      statuses[t].push_back(login.status);
      if (login.status != 200) return;
      const std::string refresh = json::parse(login.body).at("refresh_token");
      ++ready;
      while (ready.load() < threads) std::this_thread::yield();
      for (int k = 0; k < keys_per_thread; ++k) {
        auto created = send(HttpMethod::post, routes::api_keys(),
                            json{{"name", "key-" + std::to_string(k)}}.dump(), refresh);
        statuses[t].push_back(created.status);
        if (created.status == 201) key_ids[t].push_back(json::parse(created.body).at("_id"));
        auto listed = send(HttpMethod::get, routes::api_keys(), {}, refresh);
        statuses[t].push_back(listed.status);
      }
    });
  }
  for (auto& worker : workers) worker.join();

  std::set<std::string> all_ids;
  for (int t = 0; t < threads; ++t) {
    INFO("thread " << t);
    REQUIRE(statuses[t].size() == 1 + 2 * keys_per_thread);
    CHECK(statuses[t][0] == 200);
    for (std::size_t i = 1; i < statuses[t].size(); ++i) {
      CHECK(statuses[t][i] == (i % 2 == 1 ? 201 : 200));
    }
    CHECK(key_ids[t].size() == keys_per_thread);
    CHECK(h.backend.key_count(user_ids[t]) == keys_per_thread);
    all_ids.insert(key_ids[t].begin(), key_ids[t].end());
  }
  CHECK(all_ids.size() == threads * keys_per_thread);
  CHECK(h.backend.request_count() - before == threads * (1 + 2 * keys_per_thread));
  CHECK(h.backend.request_log().size() == h.backend.request_count());
}

}  // namespace fake_backend_test
