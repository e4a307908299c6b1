// appkeys — wipe: the one way the library overwrites memory that held a secret.
#pragma once

#include <cstddef>
#include <string>

namespace appkeys::detail {

/// Overwrites `size` bytes at `data` with zeros. Writes through a volatile pointer are
/// observable behaviour, so the compiler may not drop them as dead stores before the
/// memory is freed (a plain memset may be).
inline void wipe_bytes(void* data, std::size_t size) noexcept {
  volatile unsigned char* bytes = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = 0;
}

/// Overwrites a string's bytes, then empties it: bodies, headers and JSON values that
/// carried a password, token or key value are scrubbed once the library has taken
/// what it needs from them.
inline void wipe(std::string& text) noexcept {
  wipe_bytes(text.data(), text.size());
  text.clear();
}

}  // namespace appkeys::detail
