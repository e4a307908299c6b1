// appkeys server — OpenSslCrypto.
#include <appkeys/server/openssl_crypto.hpp>

#include <appkeys/detail/base64.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/backend/url.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace appkeys::server {

static_assert(testing::backend::Crypto<OpenSslCrypto>);

/// A counting gate: at most `limit` scrypt computations at once.
struct OpenSslCrypto::Gate {
  explicit Gate(std::size_t limit) : limit(limit) {}
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t limit;
  std::size_t running = 0;  // guarded by mutex
};

namespace {

constexpr std::size_t salt_bytes = 16;
constexpr std::size_t hash_bytes = 32;
constexpr std::string_view scheme = "$scrypt$";


bool params_in_bounds(const ScryptParams& p) {
  return p.log2_n >= 1 && p.log2_n <= 22 && p.r >= 1 && p.r <= 32 && p.p >= 1 && p.p <= 16;
}

/// scrypt(password, salt) with `params`; nullopt when OpenSSL refuses.
std::optional<std::string> scrypt(std::string_view password, std::string_view salt,
                                  const ScryptParams& params) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  if (kdf == nullptr) return std::nullopt;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return std::nullopt;
  std::uint64_t n = std::uint64_t{1} << params.log2_n;
  std::uint32_t r = params.r;
  std::uint32_t p = params.p;
  // The default cap (32 MiB) refuses r = 8 with ln = 15 by a whisker once the
  // bookkeeping is counted; allow what the parameters need, and a margin.
  std::uint64_t maxmem = 128u * std::uint64_t{r} * n * p + (std::uint64_t{1} << 20) +
                         128u * std::uint64_t{r} * p;
  std::string out(hash_bytes, '\0');
  OSSL_PARAM ossl_params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()),
                                        password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  const int ok = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                ossl_params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return std::nullopt;
  return out;
}

std::string format(const ScryptParams& params, std::string_view salt, std::string_view hash) {
  std::string out(scheme);
  out += "ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
         ",p=" + std::to_string(params.p) + '$';
  out += detail::base64url_encode(salt);
  out += '$';
  out += detail::base64url_encode(hash);
  return out;
}

std::optional<unsigned> read_param(std::string_view text, std::string_view name) {
  if (text.substr(0, name.size()) != name || text.size() == name.size()) return std::nullopt;
  unsigned value = 0;
  const char* first = text.data() + name.size();
  const char* last = text.data() + text.size();
  auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc{} || end != last) return std::nullopt;
  return value;
}

struct Parsed {
  ScryptParams params;
  std::string salt;
  std::string hash;
};

/// `$scrypt$ln=A,r=B,p=C$salt$hash`, or nullopt.
std::optional<Parsed> parse(std::string_view stored) {
  if (stored.substr(0, scheme.size()) != scheme) return std::nullopt;
  std::string_view rest = stored.substr(scheme.size());
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    const std::size_t dollar = rest.find('$');
    if ((i < 2) != (dollar != std::string_view::npos)) return std::nullopt;
    parts[i] = rest.substr(0, dollar);
    if (i < 2) rest = rest.substr(dollar + 1);
  }
  std::string_view fields[3];
  std::string_view list = parts[0];
  for (int i = 0; i < 3; ++i) {
    const std::size_t comma = list.find(',');
    if ((i < 2) != (comma != std::string_view::npos)) return std::nullopt;
    fields[i] = list.substr(0, comma);
    if (i < 2) list = list.substr(comma + 1);
  }
  auto ln = read_param(fields[0], "ln=");
  auto r = read_param(fields[1], "r=");
  auto p = read_param(fields[2], "p=");
  auto salt = detail::base64url_decode(parts[1]);
  auto hash = detail::base64url_decode(parts[2]);
  if (!ln || !r || !p || !salt || !hash || salt->empty() || hash->size() != hash_bytes) {
    return std::nullopt;
  }
  Parsed parsed{ScryptParams{*ln, *r, *p}, std::move(*salt), std::move(*hash)};
  if (!params_in_bounds(parsed.params)) return std::nullopt;
  return parsed;
}

}  // namespace

OpenSslCrypto::OpenSslCrypto(ScryptParams params, std::size_t max_parallel_hashes)
    : params_(params) {
  if (!params_in_bounds(params_)) {
    throw std::invalid_argument("OpenSslCrypto: scrypt parameters out of bounds");
  }
  if (max_parallel_hashes == 0) {
    max_parallel_hashes = std::max<std::size_t>(2, std::thread::hardware_concurrency());
  }
  gate_ = std::make_shared<Gate>(max_parallel_hashes);
}

std::string OpenSslCrypto::hmac_sha256(std::string_view key, std::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &length) == nullptr) {
    throw std::runtime_error("OpenSslCrypto: HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

bool OpenSslCrypto::equal(std::string_view a, std::string_view b) const noexcept {
  // The lengths are public (every hash and signature of one kind has the same length).
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

/// Runs `work` once a turn at `gate` is free.
template <class Gate, class Work>
auto with_turn(Gate& gate, Work&& work) {
  {
    std::unique_lock lock(gate.mutex);
    gate.changed.wait(lock, [&] { return gate.running < gate.limit; });
    ++gate.running;
  }
  struct Release {
    Gate& gate;
    ~Release() {
      {
        std::lock_guard lock(gate.mutex);
        --gate.running;
      }
      gate.changed.notify_one();
    }
  } release{gate};
  return work();
}

}  // namespace

std::string OpenSslCrypto::hash_password(std::string_view password) const {
  const std::string salt = detail::random_bytes(salt_bytes);
  auto hash = with_turn(*gate_, [&] { return scrypt(password, salt, params_); });
  if (!hash) throw std::runtime_error("OpenSslCrypto: scrypt failed");
  std::string out = format(params_, salt, *hash);
  testing::fake_detail::wipe(*hash);
  return out;
}

bool OpenSslCrypto::verify_password(std::string_view password, std::string_view stored) const {
  auto parsed = parse(stored);
  if (!parsed) return false;
  auto hash = with_turn(*gate_, [&] { return scrypt(password, parsed->salt, parsed->params); });
  if (!hash) return false;
  const bool match = equal(*hash, parsed->hash);
  testing::fake_detail::wipe(*hash);
  return match;
}

}  // namespace appkeys::server
