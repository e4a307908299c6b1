// appkeys — the Crypto concept (token signatures, password hashes, comparisons) and
// HeaderCrypto, the dependency-free model FakeBackend uses.
#pragma once

#include <appkeys/detail/random.hpp>
#include <appkeys/detail/sha256.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/testing/backend/url.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace appkeys::testing::backend {

/// The primitives the server rules need besides SHA-256 (which they take from
/// detail::sha256_hex: key values and tokens are high-entropy random values, for which
/// one SHA-256 is the right at-rest hash).
///
/// Requirements, for a const `c`, text `a`, `b`:
/// - `c.hmac_sha256(key, data)` -> `std::string`: the 32 raw bytes of HMAC-SHA256
///   (RFC 2104), the HS256 JWT signature.
/// - `c.equal(a, b)` -> `bool`: equality in time that depends only on the lengths.
/// - `c.hash_password(password)` -> `std::string`: a self-describing hash, salt and
///   parameters included (`$name$params$salt$hash`), never containing the password.
/// - `c.verify_password(password, stored)` -> `bool`: whether `password` matches a
///   string hash_password made, with the parameters written in it (so parameters can be
///   raised later and old hashes still verify); false for any format it does not know.
template <class C>
concept Crypto = requires(const C& c, std::string_view a, std::string_view b) {
  { c.hmac_sha256(a, b) } -> std::same_as<std::string>;
  { c.equal(a, b) } -> std::same_as<bool>;
  { c.hash_password(a) } -> std::same_as<std::string>;
  { c.verify_password(a, b) } -> std::same_as<bool>;
};

/// HMAC-SHA256 over detail::Sha256 (RFC 2104), for the header-only build.
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
  constexpr std::size_t block = 64;
  std::array<std::uint8_t, block> padded{};
  if (key.size() > block) {
    detail::Sha256 hasher;
    hasher.update(key);
    const auto digest = hasher.digest();
    for (std::size_t i = 0; i < digest.size(); ++i) padded[i] = digest[i];
  } else {
    for (std::size_t i = 0; i < key.size(); ++i) padded[i] = static_cast<std::uint8_t>(key[i]);
  }
  std::string inner_pad(block, '\0');
  std::string outer_pad(block, '\0');
  for (std::size_t i = 0; i < block; ++i) {
    inner_pad[i] = static_cast<char>(padded[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(padded[i] ^ 0x5c);
  }
  detail::Sha256 inner;
  inner.update(inner_pad);
  inner.update(data);
  const auto inner_digest = inner.digest();
  detail::Sha256 outer;
  outer.update(outer_pad);
  outer.update(
      std::string_view(reinterpret_cast<const char*>(inner_digest.data()), inner_digest.size()));
  const auto digest = outer.digest();
  fake_detail::wipe(inner_pad);
  fake_detail::wipe(outer_pad);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

/// The Crypto of FakeBackend: no dependency beyond the standard library, as the single
/// header requires, and fast, so that tests making thousands of logins stay fast.
/// Passwords are one salted SHA-256 (`$sha256$<salt hex>$<hash hex>`): fine for test
/// users, NOT a password hash for a server facing real users, whose stored hashes may
/// leak; `appkeys serve` uses server::OpenSslCrypto (scrypt) instead.
///
/// Thread safety: stateless; every member function may be called concurrently.
struct HeaderCrypto {
  /// See Crypto.
  std::string hmac_sha256(std::string_view key, std::string_view data) const {
    return backend::hmac_sha256(key, data);
  }
  /// See Crypto.
  bool equal(std::string_view a, std::string_view b) const noexcept {
    return Secret::constant_time_equal(a, b);
  }
  /// See Crypto.
  std::string hash_password(std::string_view password) const {
    return format(detail::random_object_id().to_hex(), password);
  }
  /// See Crypto.
  bool verify_password(std::string_view password, std::string_view stored) const {
    constexpr std::string_view prefix = "$sha256$";
    if (stored.substr(0, prefix.size()) != prefix) return false;
    const std::string_view rest = stored.substr(prefix.size());
    const std::size_t dollar = rest.find('$');
    if (dollar == std::string_view::npos) return false;
    std::string expected = format(rest.substr(0, dollar), password);
    const bool match = equal(expected, stored);
    fake_detail::wipe(expected);
    return match;
  }

 private:
  static std::string format(std::string_view salt, std::string_view password) {
    std::string salted(salt);
    salted += password;
    std::string out = "$sha256$";
    out += salt;
    out += '$';
    out += detail::sha256_hex(salted);
    fake_detail::wipe(salted);
    return out;
  }
};

static_assert(Crypto<HeaderCrypto>);

}  // namespace appkeys::testing::backend
