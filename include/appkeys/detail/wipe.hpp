// appkeys — wipe: the one way the library overwrites memory that held a secret.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

namespace appkeys::detail {

/// Overwrites `size` bytes at `data` with zeros, in a way the compiler may not drop as
/// a dead store before the memory is freed (a plain memset may be). With GCC and Clang:
/// memset, then an empty asm statement that the compiler must assume reads the bytes
/// (the barrier BoringSSL's OPENSSL_cleanse uses), so the zeros are written at memset's
/// speed; a key or token is wiped several times per request. Elsewhere: writes through
/// a volatile pointer, one byte at a time.
inline void wipe_bytes(void* data, std::size_t size) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  if (size == 0) return;
  std::memset(data, 0, size);
  __asm__ __volatile__("" : : "r"(data) : "memory");
#else
  volatile unsigned char* bytes = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = 0;
#endif
}

/// Overwrites a string's bytes, then empties it: bodies, headers and JSON values that
/// carried a password, token or key value are scrubbed once the library has taken
/// what it needs from them.
inline void wipe(std::string& text) noexcept {
  wipe_bytes(text.data(), text.size());
  text.clear();
}

}  // namespace appkeys::detail
