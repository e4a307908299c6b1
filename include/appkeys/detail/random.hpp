// appkeys — random ids, key values and token signatures for the fake backend.
//
// NOT for production cryptography: a Mersenne Twister is predictable once enough of its
// output is seen. It is good enough for a test server (unique ids, unguessable-in-
// practice test keys) and needs no dependency, which the single header requires. A real
// server must draw secrets from the operating system's CSPRNG.
#pragma once

#include <appkeys/object_id.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace appkeys::detail {

/// A process-wide generator behind one mutex, re-seeded from std::random_device every
/// `reseed_interval` draws so that a long-running local server does not expose one
/// generator state for ever.
///
/// Thread safety: every member function may be called concurrently.
class RandomSource {
 public:
  static constexpr std::uint64_t reseed_interval = 1u << 16;

  RandomSource() { reseed(); }

  std::uint64_t next() {
    std::lock_guard lock(mutex_);
    if (++draws_ >= reseed_interval) {
      reseed();
      draws_ = 0;
    }
    return engine_();
  }

 private:
  // Called with mutex_ held (or from the constructor).
  void reseed() {
    std::random_device device;
    std::array<std::uint32_t, 8> words{};
    for (auto& word : words) word = device();
    std::seed_seq seed(words.begin(), words.end());
    engine_.seed(seed);
  }

  std::mutex mutex_;
  std::mt19937_64 engine_;
  std::uint64_t draws_ = 0;
};

/// The shared generator. A function-local static of an inline function, so every
/// translation unit sees the same one.
inline RandomSource& random_source() {
  static RandomSource source;
  return source;
}

/// `count` random bytes.
inline std::string random_bytes(std::size_t count) {
  std::string out;
  out.reserve(count);
  auto& source = random_source();
  while (out.size() < count) {
    std::uint64_t word = source.next();
    for (int i = 0; i < 8 && out.size() < count; ++i, word >>= 8) {
      out.push_back(static_cast<char>(word & 0xff));
    }
  }
  return out;
}

/// A random ObjectId; never the all-zero id, which the protocol uses for "none".
inline ObjectId random_object_id() {
  for (;;) {
    const std::string bytes = random_bytes(12);
    ObjectId::bytes_type raw{};
    for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(bytes[i]);
    ObjectId id(raw);
    if (!id.is_zero()) return id;
  }
}

/// `count` characters drawn uniformly from [A-Za-z0-9].
inline std::string random_token_chars(std::size_t count) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr std::uint64_t size = sizeof(alphabet) - 1;  // 62
  // Rejection sampling: values at or above the largest multiple of 62 that fits in a
  // byte would make the first letters likelier than the rest.
  constexpr std::uint64_t limit = 256 - 256 % size;
  std::string out;
  out.reserve(count);
  auto& source = random_source();
  while (out.size() < count) {
    std::uint64_t word = source.next();
    for (int i = 0; i < 8 && out.size() < count; ++i, word >>= 8) {
      const std::uint64_t byte = word & 0xff;
      if (byte < limit) out.push_back(alphabet[byte % size]);
    }
  }
  return out;
}

}  // namespace appkeys::detail
