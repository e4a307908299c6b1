// appkeys — Slot<T>: room for one T, empty or full; what the step machines and drivers
// hold their sub-machines and outcomes in.
#pragma once

#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace appkeys::detail {

/// A T that may be absent: the part of std::optional the library itself uses (emplace,
/// reset, `*`, `->`, a bool test, moves), for internal state only.
///
/// Why not std::optional: at -O0 each std::optional<T> emits some forty functions
/// through its five layers of bases (payload, storage, copy/move bases), and every
/// program that makes calls holds one per step machine and per outcome type (about
/// twenty types for the six key calls); a Slot emits one function per member used.
/// Users never see it: the public API keeps std::optional where it has one.
///
/// Thread safety: like a T; distinct objects are independent.
template <class T>
class Slot {
 public:
  Slot() noexcept {}
  /// Full, holding `value` (moved in); implicit, as std::optional's is.
  Slot(T&& value) noexcept(std::is_nothrow_move_constructible_v<T>) { emplace(std::move(value)); }
  Slot(const Slot& other) requires std::is_copy_constructible_v<T> {
    if (other.full_) emplace(other.value_);
  }
  Slot(Slot&& other) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (other.full_) emplace(std::move(other.value_));
  }
  /// Copies first, so that a copy that throws leaves *this as it was (Result<void>
  /// holds its error in a Slot: a failed copy must not turn a failure into a success).
  Slot& operator=(const Slot& other) requires std::is_copy_constructible_v<T> {
    if (this == &other) return *this;
    if (!other.full_) {
      reset();
      return *this;
    }
    T copy(other.value_);
    emplace(std::move(copy));
    return *this;
  }
  Slot& operator=(Slot&& other) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &other) {
      reset();
      if (other.full_) emplace(std::move(other.value_));
    }
    return *this;
  }
  ~Slot() { reset(); }

  /// Destroys what it held, if anything, then constructs a T from `args`. If that
  /// throws, the slot is left empty.
  template <class... Args>
  T& emplace(Args&&... args) {
    reset();
    ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<Args>(args)...);
    full_ = true;
    return value_;
  }

  void reset() noexcept {
    if (full_) {
      full_ = false;
      value_.~T();
    }
  }

  bool has_value() const noexcept { return full_; }
  explicit operator bool() const noexcept { return full_; }

  // Unchecked, as std::optional's are: the callers test first.
  T& operator*() & noexcept { return value_; }
  const T& operator*() const& noexcept { return value_; }
  T&& operator*() && noexcept { return std::move(value_); }
  T* operator->() noexcept { return std::addressof(value_); }
  const T* operator->() const noexcept { return std::addressof(value_); }

 private:
  union {
    T value_;
  };
  bool full_ = false;
};

}  // namespace appkeys::detail
