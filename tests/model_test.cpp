// The value types: ObjectId, Secret, ApiKey, Credentials, Headers, Result, errc and
// AppError. No I/O here; the protocol is in protocol/.
#if defined(__has_include) && __has_include(<appkeys/api_key.hpp>)
#include <appkeys/api_key.hpp>
#include <appkeys/app_config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/result.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/user.hpp>
#else
#include <appkeys/appkeys.hpp>
#endif

#include "support/catch_printers.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <compare>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace model_test {

namespace {

using appkeys::AppError;
using appkeys::errc;
using appkeys::ObjectId;
using appkeys::Result;
using appkeys::Secret;

template <class T>
std::string printed(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

ObjectId id_from(std::string_view hex) {
  auto id = ObjectId::from_hex(hex);
  REQUIRE(id.has_value());
  return *id;
}

}  // namespace

// =================================================================================
// ObjectId

TEST_CASE("ObjectId::from_hex accepts 24 hex digits in either case", "[model][object_id]") {
  auto lower = ObjectId::from_hex("0123456789abcdef01234567");
  REQUIRE(lower.has_value());
  CHECK(lower->bytes() == ObjectId::bytes_type{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01,
                                               0x23, 0x45, 0x67});
  CHECK(lower->to_hex() == "0123456789abcdef01234567");

  auto upper = ObjectId::from_hex("0123456789ABCDEF01234567");
  REQUIRE(upper.has_value());
  CHECK(*upper == *lower);
  CHECK(upper->to_hex() == "0123456789abcdef01234567");  // always lowercase

  auto mixed = ObjectId::from_hex("FfFfFfFfFfFfFfFfFfFfFfFf");
  REQUIRE(mixed.has_value());
  CHECK(mixed->to_hex() == "ffffffffffffffffffffffff");
  for (auto byte : mixed->bytes()) CHECK(byte == 0xff);
}

TEST_CASE("ObjectId::from_hex rejects anything but 24 hex digits", "[model][object_id]") {
  const std::vector<std::string> bad = {
      "",
      "0123456789abcdef0123456",    // 23
      "0123456789abcdef012345678",  // 25
      "0123456789abcdef0123456g",   // non-hex last
      "g123456789abcdef01234567",   // non-hex first
      "0123456789abcdef 1234567",   // space
      "0x23456789abcdef01234567",   // 0x prefix
      "../../etc",
      "../../etc/passwd/0123456",  // 24 characters
      "0123456789abcdef0123456/",
      "0123456789abcdef012345%2",
      "０１２３４５６７８９ａｂ",                    // full-width digits: 36 bytes
      std::string("0123456789ab\0def01234567", 24),  // embedded NUL
      "-123456789abcdef01234567",
      "012345678 abcdef01234567",
  };
  for (const auto& text : bad) {
    INFO("input size " << text.size());
    auto id = ObjectId::from_hex(text);
    REQUIRE_FALSE(id.has_value());
    CHECK(id.error().code() == errc::invalid_argument);
    CHECK(id.error().value() == errc::invalid_argument);
    CHECK(id.error().http_status() == 0);
    CHECK_FALSE(ObjectId::is_valid_hex(text));
  }
}

TEST_CASE("ObjectId::from_hex's error never quotes the text", "[model][object_id][secrets]") {
  // A caller could pass a key value where an id belongs; the message must not show it.
  const std::string key_value = "k3y-V4LUE-that-must-not-leak-0123456789";
  auto id = ObjectId::from_hex(key_value);
  REQUIRE_FALSE(id);
  CHECK_FALSE(contains(id.error().what(), key_value));
  CHECK_FALSE(contains(id.error().what(), "k3y-V4LUE"));

  const std::string almost = "k3y-V4LUE-0123456789abcd";  // 24 characters
  auto second = ObjectId::from_hex(almost);
  REQUIRE_FALSE(second);
  CHECK_FALSE(contains(second.error().what(), "k3y-V4LUE"));
}

TEST_CASE("ObjectId::is_valid_hex is constexpr and exact", "[model][object_id]") {
  static_assert(ObjectId::is_valid_hex("0123456789abcdefABCDEF01"));
  static_assert(!ObjectId::is_valid_hex("0123456789abcdefABCDEF0"));
  static_assert(!ObjectId::is_valid_hex(""));
  CHECK(ObjectId::is_valid_hex("aaaaaaaaaaaaaaaaaaaaaaaa"));
  CHECK_FALSE(ObjectId::is_valid_hex("aaaaaaaaaaaaaaaaaaaaaaaz"));
}

TEST_CASE("ObjectId round-trips through hex and prints as lowercase hex", "[model][object_id]") {
  const std::vector<std::string> samples = {"000000000000000000000000", "5f1b2c3d4e5f60718293a4b5",
                                            "ffffffffffffffffffffffff", "00000000000000000000000a"};
  for (const auto& hex : samples) {
    auto id = id_from(hex);
    CHECK(id.to_hex() == hex);
    CHECK(id_from(id.to_hex()) == id);
    CHECK(printed(id) == hex);
  }

  ObjectId::bytes_type bytes{};
  bytes[11] = 0x0a;
  bytes[0] = 0xa0;
  CHECK(ObjectId(bytes).to_hex() == "a0000000000000000000000a");
}

TEST_CASE("a default ObjectId is all zero", "[model][object_id]") {
  constexpr ObjectId zero;
  static_assert(zero.is_zero());
  CHECK(zero.to_hex() == "000000000000000000000000");
  CHECK(zero == id_from("000000000000000000000000"));
  CHECK_FALSE(id_from("000000000000000000000001").is_zero());
}

TEST_CASE("ObjectId compares as its bytes", "[model][object_id]") {
  const auto a = id_from("000000000000000000000001");
  const auto b = id_from("000000000000000000000002");
  const auto c = id_from("100000000000000000000000");
  const auto a2 = id_from("000000000000000000000001");

  CHECK(a == a2);
  CHECK(a != b);
  CHECK(a < b);
  CHECK(b < c);  // the first byte is the most significant
  CHECK(c > a);
  CHECK(a <= a2);
  CHECK((a <=> b) == std::strong_ordering::less);
  CHECK((c <=> b) == std::strong_ordering::greater);
  CHECK((a <=> a2) == std::strong_ordering::equal);
  static_assert(std::is_same_v<decltype(a <=> b), std::strong_ordering>);

  std::set<ObjectId> ordered{c, a, b, a2};
  REQUIRE(ordered.size() == 3);
  CHECK(*ordered.begin() == a);
  CHECK(*ordered.rbegin() == c);
}

TEST_CASE("std::hash<ObjectId> works in unordered containers", "[model][object_id]") {
  const auto a = id_from("5f1b2c3d4e5f60718293a4b5");
  const auto a_upper = id_from("5F1B2C3D4E5F60718293A4B5");
  const auto b = id_from("5f1b2c3d4e5f60718293a4b6");
  const std::hash<ObjectId> hash;
  CHECK(hash(a) == hash(a_upper));
  CHECK(hash(a) != hash(b));  // FNV-1a: a one-byte change changes the hash

  std::unordered_set<ObjectId> set;
  CHECK(set.insert(a).second);
  CHECK_FALSE(set.insert(a_upper).second);
  CHECK(set.insert(b).second);
  CHECK(set.insert(ObjectId{}).second);
  CHECK(set.size() == 3);
  CHECK(set.count(id_from("5f1b2c3d4e5f60718293a4b6")) == 1);
  CHECK(set.count(id_from("5f1b2c3d4e5f60718293a4b7")) == 0);
}

// =================================================================================
// Secret

TEST_CASE("Secret reveals its value and prints a redaction", "[model][secret][secrets]") {
  const std::string value = "s3cr3t-P4ssw0rd-value";
  const Secret secret(value);
  CHECK(secret.reveal() == value);
  CHECK(secret.size() == value.size());
  CHECK_FALSE(secret.empty());

  const std::string out = printed(secret);
  CHECK(out == "[redacted]");
  CHECK(out == Secret::redacted);
  CHECK_FALSE(contains(out, value));
  CHECK_FALSE(contains(out, "s3cr3t"));

  std::ostringstream framed;
  framed << "token=" << secret << ";";
  CHECK(framed.str() == "token=[redacted];");
}

TEST_CASE("Secret copies are equal and independent", "[model][secret]") {
  Secret original("copy-me-123");
  Secret copy(original);
  CHECK(copy == original);
  CHECK(copy.reveal() == "copy-me-123");
  CHECK(copy.reveal().data() != original.reveal().data());  // separate storage

  Secret assigned("something else");
  assigned = original;
  CHECK(assigned == original);
  CHECK(assigned.reveal() == "copy-me-123");

  Secret& alias = assigned;
  assigned = alias;  // self-assignment keeps the value
  CHECK(assigned.reveal() == "copy-me-123");

  {
    Secret temporary(original);
    (void)temporary;
  }
  CHECK(original.reveal() == "copy-me-123");  // the copy's wipe did not touch the original
}

TEST_CASE("moving a Secret leaves the source empty", "[model][secret]") {
  Secret source("move-me-456");
  const char* storage = source.reveal().data();
  Secret target(std::move(source));
  CHECK(target.reveal() == "move-me-456");
  CHECK(target.reveal().data() == storage);  // the block is stolen, not copied
  CHECK(source.empty());                     // NOLINT(bugprone-use-after-move)
  CHECK(source.size() == 0);
  CHECK(source.reveal().empty());

  Secret assigned("old value");
  assigned = std::move(target);
  CHECK(assigned.reveal() == "move-me-456");
  CHECK(target.empty());  // NOLINT(bugprone-use-after-move)

  Secret& alias = assigned;
  assigned = std::move(alias);  // self-move keeps the value
  CHECK(assigned.reveal() == "move-me-456");

  Secret a("aaa"), b("bbbb");
  a.swap(b);
  CHECK(a.reveal() == "bbbb");
  CHECK(b.reveal() == "aaa");
}

TEST_CASE("Secret equality compares whole values", "[model][secret]") {
  CHECK(Secret("abc") == Secret("abc"));
  CHECK_FALSE(Secret("abc") == Secret("abd"));
  CHECK_FALSE(Secret("abc") == Secret("xbc"));
  CHECK(Secret("abc") != Secret("abd"));
  // Different lengths, including one being a prefix of the other, in both orders.
  CHECK_FALSE(Secret("abc") == Secret("abcd"));
  CHECK_FALSE(Secret("abcd") == Secret("abc"));
  CHECK_FALSE(Secret("a") == Secret(""));
  CHECK_FALSE(Secret("") == Secret("a"));
  // The shorter side is padded with zero bytes inside the loop: the length must still
  // make "a" and "a\0" differ.
  CHECK_FALSE(Secret("a") == Secret(std::string_view("a\0", 2)));
  CHECK_FALSE(Secret(std::string_view("a\0", 2)) == Secret("a"));
  CHECK(Secret(std::string_view("a\0b", 3)) == Secret(std::string_view("a\0b", 3)));
  CHECK_FALSE(Secret(std::string_view("a\0b", 3)) == Secret(std::string_view("a\0c", 3)));
  CHECK(Secret::constant_time_equal("same", "same"));
  CHECK_FALSE(Secret::constant_time_equal("same", "sama"));
  CHECK_FALSE(Secret::constant_time_equal("", "x"));
  CHECK(Secret::constant_time_equal("", ""));
  // Bytes above 0x7f compare as bytes.
  CHECK_FALSE(Secret("\xff") == Secret("\x7f"));
}

TEST_CASE("an empty Secret", "[model][secret]") {
  const Secret none;
  CHECK(none.empty());
  CHECK(none.size() == 0);
  CHECK(none.reveal().empty());
  CHECK(none == Secret(""));
  CHECK(none == Secret());
  CHECK(printed(none) == "[redacted]");
  Secret copy(none);
  CHECK(copy.empty());
  Secret from_empty_view{std::string_view()};
  CHECK(from_empty_view.empty());
}

// =================================================================================
// ApiKey, Credentials, provider names

TEST_CASE("printing an ApiKey shows id, name and state but never the key value",
          "[model][api_key][secrets]") {
  const std::string value = "AK-s3cr3t-v4lue-0123456789abcdefghijklmnop";
  appkeys::ApiKey key{id_from("5f1b2c3d4e5f60718293a4b5"), "reporting", false, Secret(value)};
  const std::string out = printed(key);
  CHECK(contains(out, "5f1b2c3d4e5f60718293a4b5"));
  CHECK(contains(out, "reporting"));
  CHECK(contains(out, "disabled=false"));
  CHECK(contains(out, "[redacted]"));
  CHECK_FALSE(contains(out, value));
  CHECK_FALSE(contains(out, "s3cr3t"));
  CHECK(out ==
        R"(ApiKey{id=5f1b2c3d4e5f60718293a4b5, name="reporting", disabled=false, key=[redacted]})");

  appkeys::ApiKey listed{id_from("5f1b2c3d4e5f60718293a4b6"), "ci", true, std::nullopt};
  const std::string listed_out = printed(listed);
  CHECK(contains(listed_out, "5f1b2c3d4e5f60718293a4b6"));
  CHECK(contains(listed_out, "ci"));
  CHECK(contains(listed_out, "disabled=true"));
  CHECK(contains(listed_out, "key=none"));
  CHECK_FALSE(contains(listed_out, "[redacted]"));
}

TEST_CASE("ApiKey equality includes every field", "[model][api_key]") {
  const appkeys::ApiKey a{id_from("5f1b2c3d4e5f60718293a4b5"), "n", false, std::nullopt};
  appkeys::ApiKey b = a;
  CHECK(a == b);
  b.disabled = true;
  CHECK_FALSE(a == b);
  b = a;
  b.name = "m";
  CHECK_FALSE(a == b);
  b = a;
  b.key.emplace("v");
  CHECK_FALSE(a == b);
  b = a;
  b.id = ObjectId{};
  CHECK_FALSE(a == b);
  const appkeys::ApiKey with_key{a.id, a.name, a.disabled, Secret("v")};
  const appkeys::ApiKey with_key2{a.id, a.name, a.disabled, Secret("v")};
  const appkeys::ApiKey with_other_key{a.id, a.name, a.disabled, Secret("w")};
  CHECK(with_key == with_key2);
  CHECK_FALSE(with_key == with_other_key);
}

TEST_CASE("provider names are the wire names", "[model][credentials]") {
  static_assert(appkeys::provider_name(appkeys::AuthProvider::email_password) == "local-userpass");
  static_assert(appkeys::provider_name(appkeys::AuthProvider::anonymous) == "anon-user");
  static_assert(appkeys::provider_name(appkeys::AuthProvider::api_key) == "api-key");
  CHECK(appkeys::Credentials::email_password("a@b.c", "pw").provider_name() == "local-userpass");
  CHECK(appkeys::Credentials::anonymous().provider_name() == "anon-user");
  CHECK(appkeys::Credentials::api_key("k").provider_name() == "api-key");
  CHECK(appkeys::Credentials::api_key(Secret("k")).provider_name() == "api-key");
}

TEST_CASE("Credentials hold their secret and never print it", "[model][credentials][secrets]") {
  const std::string password = "P4ssw0rd-never-printed";
  const auto email = appkeys::Credentials::email_password("ann@example.com", password);
  CHECK(email.provider() == appkeys::AuthProvider::email_password);
  CHECK(email.email() == "ann@example.com");
  CHECK(email.secret().reveal() == password);
  const std::string email_out = printed(email);
  CHECK(contains(email_out, "local-userpass"));
  CHECK(contains(email_out, "ann@example.com"));
  CHECK(contains(email_out, "[redacted]"));
  CHECK_FALSE(contains(email_out, password));
  CHECK_FALSE(contains(email_out, "P4ssw0rd"));

  const std::string key_value = "APIKEY-never-printed-0123456789";
  const auto by_view = appkeys::Credentials::api_key(key_value);
  const auto by_secret = appkeys::Credentials::api_key(Secret(key_value));
  for (const auto* credentials : {&by_view, &by_secret}) {
    CHECK(credentials->provider() == appkeys::AuthProvider::api_key);
    CHECK(credentials->email().empty());
    CHECK(credentials->secret().reveal() == key_value);
    const std::string out = printed(*credentials);
    CHECK(contains(out, "api-key"));
    CHECK_FALSE(contains(out, key_value));
    CHECK_FALSE(contains(out, "APIKEY"));
  }

  const auto anonymous = appkeys::Credentials::anonymous();
  CHECK(anonymous.provider() == appkeys::AuthProvider::anonymous);
  CHECK(anonymous.email().empty());
  CHECK(anonymous.secret().empty());
  CHECK(printed(anonymous) == "Credentials{provider=anon-user}");

  // Copies keep the secret (App moves Credentials into the operation).
  const auto copy = email;
  CHECK(copy.secret().reveal() == password);
}

// =================================================================================
// Headers and the transport vocabulary

TEST_CASE("Headers look names up ignoring case", "[model][http]") {
  appkeys::Headers headers;
  headers.emplace("Content-Type", "application/json");
  headers.emplace("Accept", "text/plain");

  for (std::string_view name : {"Content-Type", "content-type", "CONTENT-TYPE", "cOnTeNt-TyPe"}) {
    INFO(name);
    auto it = headers.find(name);
    REQUIRE(it != headers.end());
    CHECK(it->first == "Content-Type");  // keeps the spelling it was given
    CHECK(it->second == "application/json");
    CHECK(appkeys::header_value(headers, name) ==
          std::optional<std::string_view>("application/json"));
  }
  CHECK(headers.find("Content-Typ") == headers.end());
  CHECK(headers.find("Content-Types") == headers.end());
  CHECK_FALSE(appkeys::header_value(headers, "Authorization").has_value());
  CHECK(headers.count("ACCEPT") == 1);
}

TEST_CASE("Headers keep duplicates in insertion order", "[model][http]") {
  appkeys::Headers headers;
  headers.emplace("Set-Cookie", "a=1");
  headers.emplace("X-Other", "x");
  headers.emplace("set-cookie", "b=2");
  headers.emplace("SET-COOKIE", "c=3");
  REQUIRE(headers.size() == 4);
  CHECK(headers.count("Set-Cookie") == 3);

  std::vector<std::string> values;
  auto [first, last] = headers.equal_range("set-cookie");
  for (auto it = first; it != last; ++it) values.push_back(it->second);
  CHECK(values == std::vector<std::string>{"a=1", "b=2", "c=3"});
  CHECK(appkeys::header_value(headers, "Set-Cookie") == std::optional<std::string_view>("a=1"));
}

TEST_CASE("Headers iterate as (name, value) pairs ordered case-insensitively", "[model][http]") {
  appkeys::Headers headers;
  headers.emplace("b-header", "2");
  headers.emplace("C-Header", "3");
  headers.emplace("A-Header", "1");
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& [name, value] : headers) seen.emplace_back(name, value);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"A-Header", "1"}, {"b-header", "2"}, {"C-Header", "3"}};
  CHECK(seen == expected);
}

TEST_CASE("HttpMethod names and request defaults", "[model][http]") {
  static_assert(appkeys::to_string(appkeys::HttpMethod::get) == "GET");
  static_assert(appkeys::to_string(appkeys::HttpMethod::post) == "POST");
  static_assert(appkeys::to_string(appkeys::HttpMethod::put) == "PUT");
  static_assert(appkeys::to_string(appkeys::HttpMethod::del) == "DELETE");
  CHECK(printed(appkeys::HttpMethod::del) == "DELETE");

  const appkeys::HttpRequest request;
  CHECK(request.method == appkeys::HttpMethod::get);
  CHECK(request.timeout == std::chrono::milliseconds(60'000));
  CHECK(request.headers.empty());
  CHECK(request.body.empty());

  const appkeys::AppConfig config{.app_id = "shop-abcde"};
  CHECK(config.base_url == "https://services.cloud.mongodb.com");
  CHECK(config.request_timeout == std::chrono::seconds(60));
  CHECK_FALSE(config.skip_location);
}

// =================================================================================
// Result

TEST_CASE("Result<T> holding a value", "[model][result]") {
  Result<int> r = 42;
  CHECK(r.has_value());
  CHECK(static_cast<bool>(r));
  CHECK(r.value() == 42);
  CHECK(*r == 42);
  CHECK(r.value_or(7) == 42);
  r.value() = 43;
  CHECK(*r == 43);

  const Result<std::string> s = std::string("hello");
  CHECK(s->size() == 5);
  CHECK(s.value() == "hello");
  CHECK(s.value_or("fallback") == "hello");

  Result<appkeys::ApiKey> key = appkeys::ApiKey{ObjectId{}, "name", true, std::nullopt};
  CHECK(key->name == "name");
  CHECK(key->disabled);

  static_assert(!std::is_convertible_v<Result<int>, bool>, "operator bool must be explicit");
  static_assert(std::is_same_v<Result<int>::error_type, AppError>);
  static_assert(std::is_same_v<Result<int>::value_type, int>);
}

TEST_CASE("Result<T> holding an error", "[model][result]") {
  Result<int> r = AppError(errc::api_key_not_found, "API key not found", 404, "APIKeyNotFound");
  CHECK_FALSE(r.has_value());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.error().code() == errc::api_key_not_found);
  CHECK(r.error().http_status() == 404);
  CHECK(r.value_or(7) == 7);

  // value() throws the AppError itself: one catch clause serves every executor.
  bool caught = false;
  try {
    (void)r.value();
  } catch (const AppError& error) {
    caught = true;
    CHECK(error.code() == errc::api_key_not_found);
    CHECK(error.http_status() == 404);
    CHECK(error.server_code() == "APIKeyNotFound");
    CHECK(error.message() == "API key not found");
  }
  CHECK(caught);
  CHECK_THROWS_AS(r.value(), AppError);
  CHECK_THROWS_AS(std::as_const(r).value(), std::system_error);
  CHECK_THROWS_AS(std::move(r).value(), std::exception);

  const Result<std::string> s = AppError(errc::timeout, "slow");
  CHECK(s.value_or("fallback") == "fallback");
  CHECK(s.error().value() == errc::timeout);

  Result<std::string> moved_from = AppError(errc::tls, "handshake");
  AppError taken = std::move(moved_from).error();
  CHECK(taken.code() == errc::tls);
  CHECK(taken.message() == "handshake");
}

TEST_CASE("Result<T> works with a move-only T", "[model][result]") {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  REQUIRE(r);
  CHECK(**r == 5);
  CHECK(*r.value() == 5);
  CHECK(*r->get() == 5);
  std::unique_ptr<int> taken = std::move(r).value();
  REQUIRE(taken);
  CHECK(*taken == 5);

  Result<std::unique_ptr<int>> failed = AppError(errc::transport, "no");
  auto fallback = std::move(failed).value_or(std::make_unique<int>(9));
  REQUIRE(fallback);
  CHECK(*fallback == 9);

  Result<std::unique_ptr<int>> moved = std::make_unique<int>(6);
  Result<std::unique_ptr<int>> target = std::move(moved);
  CHECK(*target.value() == 6);
  static_assert(!std::is_copy_constructible_v<Result<std::unique_ptr<int>>>);
  static_assert(std::is_move_constructible_v<Result<std::unique_ptr<int>>>);
}

TEST_CASE("Result<void>", "[model][result]") {
  Result<void> ok;
  CHECK(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK_NOTHROW(ok.value());

  Result<void> failed = AppError(errc::not_logged_in, "logged out");
  CHECK_FALSE(failed.has_value());
  CHECK_FALSE(static_cast<bool>(failed));
  CHECK(failed.error().code() == errc::not_logged_in);
  CHECK(failed.error().message() == "logged out");
  try {
    failed.value();
    FAIL("value() on an error must throw");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::not_logged_in);
  }
  AppError taken = std::move(failed).error();
  CHECK(taken.value() == errc::not_logged_in);
  static_assert(!std::is_convertible_v<Result<void>, bool>);
}

TEST_CASE("Result<void> copies and moves keep the kind and the error", "[model][result]") {
  Result<void> failed = AppError(errc::api_key_not_found, "gone", 404);
  Result<void> copy = failed;
  REQUIRE_FALSE(copy.has_value());
  CHECK(copy.error().code() == errc::api_key_not_found);
  CHECK(copy.error().http_status() == 404);
  CHECK_FALSE(failed.has_value());  // the source keeps its error

  Result<void> ok;
  ok = failed;
  REQUIRE_FALSE(ok.has_value());
  CHECK(ok.error().message() == "gone");
  ok = Result<void>();
  CHECK(ok.has_value());

  Result<void> moved = std::move(copy);
  REQUIRE_FALSE(moved.has_value());
  CHECK(moved.error().code() == errc::api_key_not_found);
  moved = Result<void>();
  CHECK(moved.has_value());
}

/// Counts live objects; its copy throws on demand.
struct Tracked {
  static inline int live = 0;
  static inline bool copy_throws = false;
  int value;
  explicit Tracked(int v) : value(v) { ++live; }
  Tracked(const Tracked& other) : value(other.value) {
    if (copy_throws) throw std::runtime_error("copy refused");
    ++live;
  }
  Tracked(Tracked&& other) noexcept : value(other.value) { ++live; }
  Tracked& operator=(const Tracked&) = delete;
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() { --live; }
};

TEST_CASE("detail::Slot holds at most one T and destroys it exactly once", "[model][slot]") {
  using appkeys::detail::Slot;
  Tracked::live = 0;
  Tracked::copy_throws = false;
  {
    Slot<Tracked> slot;
    CHECK_FALSE(slot.has_value());
    CHECK_FALSE(static_cast<bool>(slot));
    slot.emplace(1);
    REQUIRE(slot);
    CHECK(slot->value == 1);
    CHECK(Tracked::live == 1);
    slot.emplace(2);  // replaces: the first is destroyed
    CHECK((*slot).value == 2);
    CHECK(Tracked::live == 1);

    Slot<Tracked> moved = std::move(slot);
    REQUIRE(moved);
    CHECK(moved->value == 2);
    Slot<Tracked> copied = moved;
    CHECK(copied->value == 2);
    CHECK(Tracked::live == 3);  // the moved-from slot still holds its (moved-from) T

    slot.reset();
    CHECK_FALSE(slot);
    CHECK(Tracked::live == 2);
    slot.reset();  // resetting an empty slot does nothing
    CHECK(Tracked::live == 2);

    copied = Slot<Tracked>();  // assigning an empty slot empties the target
    CHECK_FALSE(copied);
    CHECK(Tracked::live == 1);
    Slot<Tracked> from_value = Tracked(7);
    CHECK(from_value->value == 7);
    CHECK(Tracked::live == 2);
  }
  CHECK(Tracked::live == 0);
}

TEST_CASE("detail::Slot: a copy assignment that throws leaves the target as it was",
          "[model][slot]") {
  using appkeys::detail::Slot;
  Tracked::live = 0;
  Tracked::copy_throws = false;
  {
    Slot<Tracked> target;
    target.emplace(1);
    Slot<Tracked> source;
    source.emplace(2);
    Tracked::copy_throws = true;
    CHECK_THROWS_AS(target = source, std::runtime_error);
    Tracked::copy_throws = false;
    REQUIRE(target);
    CHECK(target->value == 1);
    CHECK(source->value == 2);
    CHECK(Tracked::live == 2);

    Slot<Tracked> empty;
    Tracked::copy_throws = true;
    CHECK_THROWS_AS(empty = source, std::runtime_error);
    Tracked::copy_throws = false;
    CHECK_FALSE(empty);
    CHECK(Tracked::live == 2);
  }
  CHECK(Tracked::live == 0);
}

// =================================================================================
// errc and AppError

TEST_CASE("errc is a std::error_code enum in the \"appkeys\" category", "[model][error]") {
  static_assert(std::is_error_code_enum_v<errc>);
  static_assert(std::is_base_of_v<std::system_error, AppError>);

  const std::error_code code = errc::api_key_not_found;
  CHECK(code == errc::api_key_not_found);
  CHECK(code != errc::api_key_already_exists);
  CHECK(static_cast<bool>(code));  // no appkeys code is "success"
  CHECK(std::string(code.category().name()) == "appkeys");
  CHECK(&code.category() == &appkeys::app_category());
  CHECK(code.message() == "server error APIKeyNotFound");

  CHECK(appkeys::make_error_code(errc::invalid_argument).message() == "invalid argument");
  CHECK(appkeys::make_error_code(errc::not_logged_in).message() == "user is not logged in");
  CHECK(appkeys::make_error_code(errc::malformed_response).message() == "malformed response");
  CHECK(static_cast<bool>(appkeys::make_error_code(errc::invalid_argument)));

  // Not confused with the generic category's codes of the same value.
  const std::error_code generic(static_cast<int>(errc::invalid_argument), std::generic_category());
  CHECK(generic != appkeys::make_error_code(errc::invalid_argument));
}

TEST_CASE("AppError keeps status, server code, link and message", "[model][error]") {
  const AppError error(errc::api_key_not_found, "API key not found", 404, "APIKeyNotFound",
                       "https://services.cloud.mongodb.com/groups/1/apps/2/logs?co_id=3");
  CHECK(error.code() == errc::api_key_not_found);
  CHECK(error.value() == errc::api_key_not_found);
  CHECK(error.http_status() == 404);
  CHECK(error.server_code() == "APIKeyNotFound");
  CHECK(error.link() == "https://services.cloud.mongodb.com/groups/1/apps/2/logs?co_id=3");
  CHECK(error.message() == "API key not found");

  const std::string what = error.what();
  CHECK(contains(what, "API key not found"));
  CHECK(contains(what, "api_key_not_found"));
  CHECK(contains(what, "404"));
  CHECK(contains(what, "APIKeyNotFound"));

  // Catchable as every base.
  try {
    throw error;
  } catch (const std::system_error& base) {
    CHECK(base.code() == errc::api_key_not_found);
    CHECK(std::string(base.what()) == what);
  }

  const AppError copy = error;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(std::string(copy.what()) == what);
  CHECK(copy.link() == error.link());
}

TEST_CASE("AppError without a status or message still names its code", "[model][error]") {
  const AppError bare(errc::timeout, "");
  CHECK(bare.http_status() == 0);
  CHECK(bare.server_code().empty());
  CHECK(bare.link().empty());
  const std::string what = bare.what();
  CHECK(contains(what, "request timed out"));  // the category's message stands in
  CHECK(contains(what, "timeout"));
  CHECK_FALSE(contains(what, "HTTP"));

  const AppError client(errc::invalid_argument, "name must not be empty");
  CHECK(contains(client.what(), "name must not be empty"));
  CHECK(contains(client.what(), "invalid_argument"));
}

namespace {
struct ServerCodeCase {
  const char* server;
  errc code;
  const char* snake;
};
}  // namespace

TEST_CASE("the server codes of PROTOCOL.md §5 round-trip", "[model][error]") {
  const std::vector<ServerCodeCase> cases = {
      {"InvalidSession", errc::invalid_session, "invalid_session"},
      {"InvalidParameter", errc::invalid_parameter, "invalid_parameter"},
      {"MissingParameter", errc::missing_parameter, "missing_parameter"},
      {"APIKeyNotFound", errc::api_key_not_found, "api_key_not_found"},
      {"APIKeyAlreadyExists", errc::api_key_already_exists, "api_key_already_exists"},
      {"AuthError", errc::auth_error, "auth_error"},
      {"UserDisabled", errc::user_disabled, "user_disabled"},
      {"UserNotFound", errc::user_not_found, "user_not_found"},
      {"InvalidPassword", errc::invalid_password, "invalid_password"},
      {"AccountNameInUse", errc::account_name_in_use, "account_name_in_use"},
      {"MissingAuthReq", errc::missing_auth_req, "missing_auth_req"},
      {"BadRequest", errc::bad_request, "bad_request"},
      {"InternalServerError", errc::internal_server_error, "internal_server_error"},
      {"MaintenanceInProgress", errc::maintenance_in_progress, "maintenance_in_progress"},
      {"AppServerError", errc::app_server_error, "app_server_error"},
      {"AppUnknownError", errc::app_unknown_error, "app_unknown_error"},
      {"HTTPError", errc::http_error, "http_error"},
  };
  for (const auto& c : cases) {
    INFO(c.server);
    CHECK(appkeys::detail::errc_from_server_code(c.server) == std::optional<errc>(c.code));
    CHECK(appkeys::detail::server_code_string(c.code) == c.server);
    CHECK(appkeys::detail::errc_name(c.code) == c.snake);
    CHECK(appkeys::make_error_code(c.code).message() == std::string("server error ") + c.server);
    const AppError error(c.code, "m", 400, c.server);
    CHECK(error.code() == c.code);
    CHECK(contains(error.what(), c.snake));
  }
  static_assert(appkeys::detail::errc_from_server_code("APIKeyNotFound") ==
                errc::api_key_not_found);
}

TEST_CASE("every server code is distinct and round-trips", "[model][error]") {
  std::set<std::string_view> strings;
  std::set<int> values;
  std::size_t count = 0;
#define APPKEYS_TEST_X(name, text)                                                        \
  ++count;                                                                                \
  strings.insert(text);                                                                   \
  values.insert(static_cast<int>(errc::name));                                            \
  CHECK(appkeys::detail::errc_from_server_code(text) == std::optional<errc>(errc::name)); \
  CHECK(appkeys::detail::server_code_string(errc::name) == text);                         \
  CHECK(appkeys::detail::errc_name(errc::name) == #name);
  APPKEYS_SERVER_ERROR_CODES(APPKEYS_TEST_X)
#undef APPKEYS_TEST_X
  CHECK(strings.size() == count);
  CHECK(values.size() == count);
  CHECK(count >= 50);  // realm-core's table has about 55
}

TEST_CASE("unknown server strings and client codes have no server spelling", "[model][error]") {
  for (std::string_view text : {"", "apikeynotfound", "APIKEYNOTFOUND", "APIKeyNotFound ",
                                " InvalidSession", "invalid_session", "SomethingNew"}) {
    INFO(text);
    CHECK_FALSE(appkeys::detail::errc_from_server_code(text).has_value());
  }
  for (errc code : {errc::invalid_argument, errc::not_logged_in, errc::provider_not_allowed,
                    errc::transport, errc::connection_failed, errc::timeout, errc::tls,
                    errc::insecure_transport, errc::response_too_large, errc::malformed_response}) {
    INFO(appkeys::detail::errc_name(code));
    CHECK(appkeys::detail::server_code_string(code).empty());
    CHECK(static_cast<int>(code) != 0);
    CHECK_FALSE(appkeys::make_error_code(code).message().empty());
  }
  CHECK(appkeys::detail::errc_name(errc::provider_not_allowed) == "provider_not_allowed");
  CHECK(appkeys::detail::errc_name(errc::malformed_response) == "malformed_response");
}

// =================================================================================
// User (no I/O: a default handle and a hand-made session)

TEST_CASE("a default User has no session", "[model][user]") {
  const appkeys::User user;
  CHECK_FALSE(user.is_logged_in());
  CHECK(user.id().empty());
  CHECK(user.provider().empty());
  CHECK(user.identities().empty());
  CHECK(user == appkeys::User());
  CHECK(printed(user) == "User{id=, provider=, logged_in=false}");
}

TEST_CASE("User copies share one session and never print tokens", "[model][user][secrets]") {
  auto state = std::make_shared<appkeys::detail::UserState>(
      "app", "5f1b2c3d4e5f60718293a4b5", "local-userpass", "", Secret("ACCESS-tok-123"),
      Secret("REFRESH-tok-456"));
  const appkeys::User user(state);
  const appkeys::User copy = user;
  CHECK(user == copy);
  CHECK(user.is_logged_in());
  CHECK(copy.id() == "5f1b2c3d4e5f60718293a4b5");
  CHECK(copy.provider() == "local-userpass");
  const std::string out = printed(user);
  CHECK_FALSE(contains(out, "ACCESS-tok"));
  CHECK_FALSE(contains(out, "REFRESH-tok"));
  CHECK(contains(out, "logged_in=true"));

  state->clear_tokens();
  CHECK_FALSE(user.is_logged_in());
  CHECK_FALSE(copy.is_logged_in());

  const appkeys::User other(std::make_shared<appkeys::detail::UserState>(
      "app", "5f1b2c3d4e5f60718293a4b5", "local-userpass", "", Secret("a"), Secret("r")));
  CHECK_FALSE(other == user);  // same id, different session
}

}  // namespace model_test
