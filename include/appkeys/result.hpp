// appkeys — Result<T>: a value or an AppError.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/error.hpp>

#include <cassert>
#include <new>
#include <type_traits>
#include <utility>

namespace appkeys {

/// A value of type T or the AppError that prevented it, in the style of
/// std::expected<T, AppError> (which GCC 12's C++20 mode does not ship) and
/// google-cloud-cpp's StatusOr. Use it as cpp-httplib results are used:
///
///     if (auto key = keys.fetch(id)) use(*key); else log(key.error().what());
///
/// Unlike std::expected, value() on an error throws the AppError itself (not
/// bad_expected_access), so one catch clause handles every executor. Without
/// exceptions, value() on an error prints the (secret-free) message and aborts.
///
/// A tagged union written out, not a std::variant<T, AppError>: every program makes
/// Results of a dozen types, and at -O0 each std::variant emits some ninety functions
/// of visitation machinery (written out, a six-call client emits a fifth fewer). An
/// assignment that changes a success into a failure or back leaves the target as it
/// was if copying or moving T throws (AppError moves without throwing). The members read
/// has_value_ themselves instead of calling has_value() or a shared helper: at -O0 each
/// such call is one more function emitted for every Result type a program uses.
///
/// Thread safety: like a std::variant; distinct objects are independent.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, AppError>,
                "Result<AppError> would be ambiguous");
  static_assert(std::is_nothrow_move_constructible_v<AppError>);

 public:
  using value_type = T;         ///< What a success holds.
  using error_type = AppError;  ///< What a failure holds.

  ///@{
  /// A success holding `value` (implicit, so an operation can `return value;`).
  Result(const T& value) : value_(value), has_value_(true) {}
  Result(T&& value) : value_(std::move(value)), has_value_(true) {}
  ///@}
  /// A failure (implicit, so an operation can `return AppError(...);`).
  Result(AppError error) noexcept : error_(std::move(error)), has_value_(false) {}

  ///@{
  /// Copies or moves the value or the error that `other` holds.
  Result(const Result& other) requires std::is_copy_constructible_v<T>
      : has_value_(other.has_value_) {
    construct_from(other);
  }
  Result(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
      : has_value_(other.has_value_) {
    construct_from(std::move(other));
  }
  ///@}
  ///@{
  /// Holds what `other` holds. If a success meets a failure and copying or moving T
  /// throws, *this keeps what it held.
  Result& operator=(const Result& other) requires std::is_copy_constructible_v<T> {
    assign(other);
    return *this;
  }
  Result& operator=(Result&& other) noexcept(
      std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_move_assignable_v<T>) {
    assign(std::move(other));
    return *this;
  }
  ///@}
  ~Result() {
    if (has_value_) {
      value_.~T();
    } else {
      error_.~AppError();
    }
  }

  /// True on success.
  bool has_value() const noexcept { return has_value_; }
  /// has_value(): `if (auto key = keys.create("x")) ...`.
  explicit operator bool() const noexcept { return has_value_; }

  ///@{
  /// The value; on a failure, throws the AppError (aborts without exceptions).
  T& value() & {
    if (!has_value_) APPKEYS_THROW(error_);
    return value_;
  }
  const T& value() const& {
    if (!has_value_) APPKEYS_THROW(error_);
    return value_;
  }
  T&& value() && {
    if (!has_value_) APPKEYS_THROW(error_);
    return std::move(value_);
  }
  ///@}

  ///@{
  /// The failure. Precondition: !has_value().
  const AppError& error() const& noexcept {
    assert(!has_value_);
    return error_;
  }
  AppError&& error() && noexcept {
    assert(!has_value_);
    return std::move(error_);
  }
  ///@}

  ///@{
  /// The value on success, else `fallback` converted to T.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value_ ? value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    return has_value_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback));
  }
  ///@}

  ///@{
  /// The value, unchecked. Precondition: has_value().
  T& operator*() & noexcept { return value_; }
  const T& operator*() const& noexcept { return value_; }
  T&& operator*() && noexcept { return std::move(value_); }
  T* operator->() noexcept { return &value_; }
  const T* operator->() const noexcept { return &value_; }
  ///@}

 private:
  /// Constructs in the member has_value_ names, from that member of `other` (a
  /// Result, as an lvalue to copy or an rvalue to move).
  template <class Other>
  void construct_from(Other&& other) {
    if (has_value_) {
      ::new (static_cast<void*>(&value_)) T(std::forward<Other>(other).value_);
    } else {
      ::new (static_cast<void*>(&error_)) AppError(std::forward<Other>(other).error_);
    }
  }

  /// The assignments: member to member when both hold the same kind, else replace()
  /// (from a copy made first when `other` is an lvalue, so that a throwing copy leaves
  /// *this untouched).
  template <class Other>
  void assign(Other&& other) {
    if (this == &other) return;
    if (has_value_ && other.has_value_) {
      value_ = std::forward<Other>(other).value_;
    } else if (!has_value_ && !other.has_value_) {
      error_ = std::forward<Other>(other).error_;
    } else if constexpr (std::is_lvalue_reference_v<Other>) {
      replace(Result(other));
    } else {
      replace(std::move(other));
    }
  }

  /// Becomes what `other` holds, which is of the other kind. Leaves *this as it was if
  /// moving T throws.
  void replace(Result&& other) {
    if (other.has_value_) {
      AppError kept(std::move(error_));  // noexcept, so the error can be put back
      error_.~AppError();
#if APPKEYS_HAS_EXCEPTIONS
      try {
        ::new (static_cast<void*>(&value_)) T(std::move(other.value_));
      } catch (...) {
        ::new (static_cast<void*>(&error_)) AppError(std::move(kept));
        throw;
      }
#else
      ::new (static_cast<void*>(&value_)) T(std::move(other.value_));
#endif
      has_value_ = true;
    } else {
      AppError incoming(std::move(other.error_));
      value_.~T();
      ::new (static_cast<void*>(&error_)) AppError(std::move(incoming));
      has_value_ = false;
    }
  }

  union {
    T value_;
    AppError error_;
  };
  bool has_value_;
};

/// Result of an operation that returns nothing on success.
///
/// Thread safety: like a std::optional<AppError>; distinct objects are independent.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;      ///< A success holds nothing.
  using error_type = AppError;  ///< What a failure holds.

  /// A success.
  Result() noexcept = default;
  /// A failure (implicit, so an operation can `return AppError(...);`).
  Result(AppError error) { error_.emplace(std::move(error)); }

  /// True on success.
  bool has_value() const noexcept { return !error_; }
  /// has_value(): `if (keys.remove(id)) ...`.
  explicit operator bool() const noexcept { return !error_; }

  /// Nothing on success; on a failure, throws the AppError (aborts without exceptions).
  void value() const {
    if (error_) APPKEYS_THROW(*error_);
  }

  ///@{
  /// The failure. Precondition: !has_value().
  const AppError& error() const& noexcept {
    assert(error_);
    return *error_;
  }
  AppError&& error() && noexcept {
    assert(error_);
    return std::move(*error_);
  }
  ///@}

 private:
  detail::Slot<AppError> error_;
};

namespace detail {
template <class R>
struct result_traits;
template <class T>
struct result_traits<Result<T>> {
  using value_type = T;
};
}  // namespace detail

/// The T of a callable returning Result<T>; how executors learn what they produce.
template <class F>
using operation_value_t =
    typename detail::result_traits<std::remove_cvref_t<std::invoke_result_t<F&>>>::value_type;

}  // namespace appkeys
