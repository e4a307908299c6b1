// appkeys — Secret: a key value, password or token that never prints.
#pragma once

#include <appkeys/detail/wipe.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#if defined(__has_include)
#if __has_include(<format>)
#include <format>
#endif
#endif

namespace appkeys {

/// Owns a secret string (an API key value, a password, a token).
///
/// - reveal() is the only way to read it, so every use is greppable;
/// - printing (operator<<, std::format where available) shows "[redacted]";
/// - the bytes live in one heap block that is overwritten with zeros before it is
///   freed, and a move steals the block, so no copy of the secret is left behind by
///   the library's own moves (a std::string's small-buffer move would leave one);
/// - == compares in time that depends only on the lengths, not on the contents.
///
/// Thread safety: a value type; const member functions may be called concurrently.
class Secret {
 public:
  /// What printing a Secret shows instead of its value.
  static constexpr std::string_view redacted = "[redacted]";

  /// An empty secret.
  Secret() noexcept = default;
  /// Copies `value` into a block of its own.
  explicit Secret(std::string_view value) { assign(value); }
  /// Copies the value into a block of its own.
  Secret(const Secret& other) { assign(other.reveal()); }
  /// Takes `other`'s block; `other` is left empty.
  Secret(Secret&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  /// Replaces the value with a copy of `other`'s; the old one is wiped.
  Secret& operator=(const Secret& other) {
    if (this != &other) {
      Secret copy(other);
      swap(copy);
    }
    return *this;
  }
  /// Takes `other`'s block; the old value is wiped and `other` is left empty.
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      Secret taken(std::move(other));
      swap(taken);
    }
    return *this;
  }
  ~Secret() { wipe(); }

  /// The secret itself. Valid while this Secret lives and is not assigned to.
  std::string_view reveal() const noexcept {
    return data_ ? std::string_view(data_, size_) : std::string_view();
  }
  /// True when there is no value (or it is "").
  bool empty() const noexcept { return size_ == 0; }
  /// The value's length in bytes (not secret).
  std::size_t size() const noexcept { return size_; }

  /// Exchanges the two values without copying either.
  void swap(Secret& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
  }

  /// Constant-time comparison: the loop runs over the longer length whatever the bytes.
  friend bool operator==(const Secret& a, const Secret& b) noexcept {
    return constant_time_equal(a.reveal(), b.reveal());
  }

  /// True when `a` and `b` are equal, in time that depends only on their lengths.
  static bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
      const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
      diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
  }

  friend std::ostream& operator<<(std::ostream& out, const Secret&) { return out << redacted; }

 private:
  void assign(std::string_view value) {
    if (value.empty()) return;
    data_ = new char[value.size()];
    std::memcpy(data_, value.data(), value.size());
    size_ = value.size();
  }

  void wipe() noexcept {
    if (data_ == nullptr) return;
    detail::wipe_bytes(data_, size_);
    delete[] data_;
    data_ = nullptr;
    size_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace appkeys

#if defined(__cpp_lib_format)
template <class CharT>
struct std::formatter<appkeys::Secret, CharT> : std::formatter<std::string_view, CharT> {
  template <class Context>
  auto format(const appkeys::Secret&, Context& ctx) const {
    return std::formatter<std::string_view, CharT>::format(appkeys::Secret::redacted, ctx);
  }
};
#endif
