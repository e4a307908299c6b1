// appkeys — random ids, key values, tokens and secrets, from the operating system's CSPRNG.
//
// Every value here may end up a secret (a key value, a token, a signing secret), and ids
// handed to one client must not let it predict another client's secrets, so there is no
// user-space generator at all: each call asks the kernel (getrandom(2) on Linux,
// arc4random_buf on the BSDs and macOS). There is no seed and no deterministic mode.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/object_id.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#if defined(__linux__)
#include <sys/random.h>
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
#include <stdlib.h>  // arc4random_buf
#else
#error "appkeys: no CSPRNG known for this platform (need getrandom or arc4random_buf)"
#endif

namespace appkeys::detail {

/// Fills `size` bytes at `out` from the kernel's CSPRNG. It blocks only until the kernel
/// pool is initialised at boot; a failure the kernel reports (which does not happen on a
/// supported kernel) aborts: going on with predictable secrets would be worse.
inline void fill_random(void* out, std::size_t size) noexcept {
#if defined(__linux__)
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {
    const ssize_t got = ::getrandom(bytes, size, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
#else
  ::arc4random_buf(out, size);
#endif
}

/// `count` random bytes.
inline std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > 0) fill_random(out.data(), count);
  return out;
}

/// A random ObjectId; never the all-zero id, which the protocol uses for "none".
inline ObjectId random_object_id() {
  for (;;) {
    ObjectId::bytes_type raw{};
    fill_random(raw.data(), raw.size());
    ObjectId id(raw);
    if (!id.is_zero()) return id;
  }
}

/// `count` characters drawn uniformly from [A-Za-z0-9] (5.95 bits each).
inline std::string random_token_chars(std::size_t count) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  constexpr unsigned size = sizeof(alphabet) - 1;  // 62
  // Rejection sampling: bytes at or above the largest multiple of 62 that fits in a
  // byte would make the first letters likelier than the rest.
  constexpr unsigned limit = 256 - 256 % size;
  std::string out;
  out.reserve(count);
  unsigned char buffer[64];
  while (out.size() < count) {
    fill_random(buffer, sizeof buffer);
    for (unsigned char byte : buffer) {
      if (out.size() == count) break;
      if (byte < limit) out.push_back(alphabet[byte % size]);
    }
  }
  return out;
}

}  // namespace appkeys::detail
