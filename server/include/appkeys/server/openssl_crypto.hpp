// appkeys server — OpenSslCrypto: the Crypto policy of `appkeys serve` (scrypt, HMAC,
// CRYPTO_memcmp, all from OpenSSL 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace appkeys::server {

/// scrypt's cost parameters: N = 2^log2_n, block size r, parallelism p. Memory per hash
/// is 128 * r * N bytes (32 MiB for the defaults); time grows likewise.
///
/// Thread safety: a value type.
struct ScryptParams {
  unsigned log2_n = 15;  ///< ln: N = 2^ln (2^15 with r = 8: 32 MiB, about 0.1 s per hash).
  unsigned r = 8;        ///< Block size.
  unsigned p = 1;        ///< Parallelism.
};

/// Models testing::backend::Crypto with OpenSSL 3:
/// - passwords: scrypt through EVP_KDF "SCRYPT", 16 random salt bytes, 32 output
///   bytes, written as `$scrypt$ln=15,r=8,p=1$<salt base64url>$<hash base64url>`.
///   verify_password reads the parameters from the string, so raising ScryptParams later
///   leaves old hashes valid (they are not rehashed); it refuses parameters beyond
///   sane bounds (ln <= 22, r <= 32, p <= 16) so that a tampered row cannot make one
///   login take minutes. At most `max_parallel_hashes` hashes run at once (each takes
///   128 * r * N bytes): more logins wait for a turn instead of exhausting memory.
/// - HMAC-SHA256 from OpenSSL's HMAC(); comparisons with CRYPTO_memcmp.
///
/// Thread safety: every member function may be called concurrently; copies share the
/// limit on parallel hashes.
class OpenSslCrypto {
 public:
  /// scrypt with `params` for new hashes, at most `max_parallel_hashes` at once
  /// (0: the number of hardware threads, at least 2).
  explicit OpenSslCrypto(ScryptParams params = {}, std::size_t max_parallel_hashes = 0);

  /// See testing::backend::Crypto.
  std::string hmac_sha256(std::string_view key, std::string_view data) const;
  /// See testing::backend::Crypto.
  bool equal(std::string_view a, std::string_view b) const noexcept;
  /// See testing::backend::Crypto. Throws std::runtime_error if OpenSSL fails.
  std::string hash_password(std::string_view password) const;
  /// See testing::backend::Crypto.
  bool verify_password(std::string_view password, std::string_view stored) const;

  /// The parameters new hashes get.
  const ScryptParams& params() const noexcept { return params_; }

 private:
  struct Gate;
  ScryptParams params_;
  std::shared_ptr<Gate> gate_;
};

}  // namespace appkeys::server
