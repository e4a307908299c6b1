// appkeys — ObjectId, the 12-byte id of keys, users and devices.
#pragma once

#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace appkeys {

/// A BSON ObjectId: 12 bytes, written on the wire as 24 lowercase hex characters.
///
/// from_hex is the only way to make one from text, and it accepts nothing but 24 hex
/// digits, so an ObjectId is always safe to put in a URL path.
///
/// Thread safety: a value type; distinct objects are independent.
class ObjectId {
 public:
  /// The 12 bytes, most significant first.
  using bytes_type = std::array<std::uint8_t, 12>;

  /// The all-zero id.
  constexpr ObjectId() noexcept = default;
  /// The id with these bytes.
  constexpr explicit ObjectId(const bytes_type& bytes) noexcept : bytes_(bytes) {}

  /// Parses 24 hex characters (either case); anything else is errc::invalid_argument.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  static Result<ObjectId> from_hex(std::string_view text) {
    if (text.size() != 24) {
      return AppError(errc::invalid_argument, "invalid ObjectId: expected 24 hex characters, got " +
                                                  std::to_string(text.size()) + " characters");
    }
    bytes_type bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const int high = hex_digit(text[2 * i]);
      const int low = hex_digit(text[2 * i + 1]);
      if (high < 0 || low < 0) {
        return AppError(errc::invalid_argument, "invalid ObjectId: character at position " +
                                                    std::to_string(high < 0 ? 2 * i : 2 * i + 1) +
                                                    " is not a hex digit");
      }
      bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return ObjectId(bytes);
  }

  /// True when `text` is exactly 24 hex characters.
  static constexpr bool is_valid_hex(std::string_view text) noexcept {
    if (text.size() != 24) return false;
    for (char c : text) {
      if (hex_digit(c) < 0) return false;
    }
    return true;
  }

  /// 24 lowercase hex characters.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  std::string to_hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text(24, '0');
    for (std::size_t i = 0; i < bytes_.size(); ++i) {
      text[2 * i] = digits[bytes_[i] >> 4];
      text[2 * i + 1] = digits[bytes_[i] & 0x0f];
    }
    return text;
  }

  /// The 12 bytes.
  constexpr const bytes_type& bytes() const noexcept { return bytes_; }
  /// True for the all-zero id (what a default-constructed ObjectId holds).
  constexpr bool is_zero() const noexcept { return *this == ObjectId{}; }

  friend constexpr bool operator==(const ObjectId&, const ObjectId&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const ObjectId&,
                                                    const ObjectId&) noexcept = default;

  friend std::ostream& operator<<(std::ostream& out, const ObjectId& id) {
    return out << id.to_hex();
  }

 private:
  static constexpr int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bytes_type bytes_{};
};

}  // namespace appkeys

/// Hashes an ObjectId, so it can key std::unordered_map and std::unordered_set.
///
/// Thread safety: stateless; may be called from any number of threads.
template <>
struct std::hash<appkeys::ObjectId> {
  /// A hash of the 12 bytes.
  std::size_t operator()(const appkeys::ObjectId& id) const noexcept {
    // FNV-1a over the 12 bytes: ids are random or time-prefixed, so any mixing will do.
    std::uint64_t hash = 14695981039346656037ull;
    for (std::uint8_t byte : id.bytes()) {
      hash = (hash ^ byte) * 1099511628211ull;
    }
    return static_cast<std::size_t>(hash);
  }
};
