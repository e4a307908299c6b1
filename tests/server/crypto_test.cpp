// The Crypto policies: HMAC-SHA256 against RFC 4231, scrypt against RFC 7914, the
// password format (self-describing, old parameters still verify, junk refused), and the
// throttle on failed password logins.
#include <appkeys/detail/base64.hpp>
#include <appkeys/server/openssl_crypto.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/backend/login_throttle.hpp>
#include <appkeys/testing/fake.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace crypto_test {

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string unhex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
  }
  return out;
}

}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231 in both Crypto policies", "[server][crypto]") {
  const appkeys::testing::backend::HeaderCrypto header;
  const appkeys::server::OpenSslCrypto openssl;
  struct Case {
    std::string key, data, expected;
  };
  const Case cases[] = {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      // A key longer than the block is hashed first (test case 6).
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  };
  for (const auto& c : cases) {
    CHECK(hex(header.hmac_sha256(c.key, c.data)) == c.expected);
    CHECK(hex(openssl.hmac_sha256(c.key, c.data)) == c.expected);
  }
  CHECK(openssl.equal("abc", "abc"));
  CHECK_FALSE(openssl.equal("abc", "abd"));
  CHECK_FALSE(openssl.equal("abc", "abcd"));
}

TEST_CASE("scrypt passwords: RFC 7914 vector, format, old parameters, junk",
          "[server][crypto][scrypt]") {
  const appkeys::server::OpenSslCrypto crypto({.log2_n = 10, .r = 8, .p = 1});
  // RFC 7914 §12: scrypt("password", "NaCl", N=1024, r=8, p=16); the first 32 of its 64
  // bytes (PBKDF2's blocks are independent, so they are the 32-byte output).
  const std::string rfc =
      "$scrypt$ln=10,r=8,p=16$" + appkeys::detail::base64url_encode("NaCl") + "$" +
      appkeys::detail::base64url_encode(
          unhex("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"));
  CHECK(crypto.verify_password("password", rfc));
  CHECK_FALSE(crypto.verify_password("Password", rfc));

  const std::string hash = crypto.hash_password("hunter2 and more");
  CHECK(hash.rfind("$scrypt$ln=10,r=8,p=1$", 0) == 0);
  CHECK(hash.find("hunter2") == std::string::npos);
  CHECK(crypto.verify_password("hunter2 and more", hash));
  CHECK_FALSE(crypto.verify_password("hunter2 and mor", hash));
  CHECK(crypto.hash_password("hunter2 and more") != hash);  // a fresh salt each time

  // Raised parameters: hashes made with the old ones still verify.
  const appkeys::server::OpenSslCrypto stronger({.log2_n = 12, .r = 8, .p = 1});
  CHECK(stronger.verify_password("hunter2 and more", hash));
  CHECK(stronger.hash_password("x").rfind("$scrypt$ln=12,r=8,p=1$", 0) == 0);

  for (const char* junk :
       {"", "$scrypt$", "$scrypt$ln=10,r=8,p=1$$", "$scrypt$ln=10,r=8$c2FsdA$aGFzaA",
        "$scrypt$ln=99,r=8,p=1$c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=10,r=8,p=1$c2FsdA$dG9vc2hvcnQ", "$sha256$ab$cd", "plain"}) {
    INFO(junk);
    CHECK_FALSE(crypto.verify_password("anything", junk));
  }
  CHECK_THROWS_AS(appkeys::server::OpenSslCrypto({.log2_n = 40, .r = 8, .p = 1}),
                  std::invalid_argument);
}

TEST_CASE("HeaderCrypto passwords are salted and self-describing", "[server][crypto]") {
  const appkeys::testing::backend::HeaderCrypto crypto;
  const std::string hash = crypto.hash_password("pw-123456");
  CHECK(hash.rfind("$sha256$", 0) == 0);
  CHECK(crypto.verify_password("pw-123456", hash));
  CHECK_FALSE(crypto.verify_password("pw-12345", hash));
  CHECK(crypto.hash_password("pw-123456") != hash);
  CHECK_FALSE(crypto.verify_password("pw-123456", "$scrypt$ln=1,r=1,p=1$a$b"));
}

TEST_CASE("repeated failed password logins lock the account for a growing window",
          "[server][throttle]") {
  appkeys::testing::backend::LoginThrottle throttle(3, std::chrono::seconds(60));
  const std::int64_t t0 = 1'000'000;
  for (int i = 0; i < 2; ++i) throttle.failed("ann", t0);
  CHECK_FALSE(throttle.locked_for("ann", t0).has_value());
  throttle.failed("ann", t0);  // the 3rd: 1 s
  CHECK(throttle.locked_for("ann", t0) == 1);
  CHECK_FALSE(throttle.locked_for("ann", t0 + 1).has_value());
  throttle.failed("ann", t0 + 1);  // the 4th: 2 s
  CHECK(throttle.locked_for("ann", t0 + 1) == 2);
  for (int i = 0; i < 20; ++i) throttle.failed("ann", t0 + 1);
  CHECK(throttle.locked_for("ann", t0 + 1) == 60);          // capped
  CHECK_FALSE(throttle.locked_for("bob", t0).has_value());  // per account
  throttle.succeeded("ann");
  CHECK_FALSE(throttle.locked_for("ann", t0 + 1).has_value());

  appkeys::testing::backend::LoginThrottle off(0, std::chrono::seconds(60));
  for (int i = 0; i < 100; ++i) off.failed("ann", t0);
  CHECK_FALSE(off.locked_for("ann", t0).has_value());
}

TEST_CASE("the rules refuse a locked account even with the right password", "[server][throttle]") {
  appkeys::testing::FakeBackendOptions options;
  options.failed_logins_before_delay = 3;
  appkeys::testing::FakeBackend backend(options);
  backend.add_email_user("ann@example.com", "right-password");
  const auto login = [&](const std::string& pw) {
    appkeys::HttpRequest request;
    request.method = appkeys::HttpMethod::post;
    request.url = "http://x.test/api/client/v2.0/app/a/auth/providers/local-userpass/login";
    request.body = nlohmann::json{{"username", "ann@example.com"}, {"password", pw}}.dump();
    auto response = backend.handle(request);
    const auto body = nlohmann::json::parse(response.body);
    return std::pair{response.status, body.value("error", std::string())};
  };
  for (int i = 0; i < 3; ++i) CHECK(login("wrong").first == 401);
  const auto locked = login("right-password");
  CHECK(locked.first == 401);
  CHECK(locked.second.find("too many failed logins") != std::string::npos);
  CHECK(locked.second.find("right-password") == std::string::npos);
  backend.advance_clock(std::chrono::seconds(2));
  CHECK(login("right-password").first == 200);
  CHECK(login("wrong").first == 401);  // the count started over: not locked yet
  CHECK(login("right-password").first == 200);
}

}  // namespace crypto_test
