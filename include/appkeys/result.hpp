// appkeys — Result<T>: a value or an AppError.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/error.hpp>

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

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
/// Thread safety: like a std::variant; distinct objects are independent.
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, AppError>,
                "Result<AppError> would be ambiguous");

 public:
  using value_type = T;         ///< What a success holds.
  using error_type = AppError;  ///< What a failure holds.

  ///@{
  /// A success holding `value` (implicit, so an operation can `return value;`).
  Result(const T& value) : state_(std::in_place_index<0>, value) {}
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}
  ///@}
  /// A failure (implicit, so an operation can `return AppError(...);`).
  Result(AppError error) : state_(std::in_place_index<1>, std::move(error)) {}

  /// True on success.
  bool has_value() const noexcept { return state_.index() == 0; }
  /// has_value(): `if (auto key = keys.create("x")) ...`.
  explicit operator bool() const noexcept { return has_value(); }

  ///@{
  /// The value; on a failure, throws the AppError (aborts without exceptions).
  T& value() & {
    throw_if_error();
    return *std::get_if<0>(&state_);
  }
  const T& value() const& {
    throw_if_error();
    return *std::get_if<0>(&state_);
  }
  T&& value() && {
    throw_if_error();
    return std::move(*std::get_if<0>(&state_));
  }
  ///@}

  ///@{
  /// The failure. Precondition: !has_value().
  const AppError& error() const& noexcept {
    assert(!has_value());
    return *std::get_if<1>(&state_);
  }
  AppError&& error() && noexcept {
    assert(!has_value());
    return std::move(*std::get_if<1>(&state_));
  }
  ///@}

  ///@{
  /// The value on success, else `fallback` converted to T.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? *std::get_if<0>(&state_) : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    return has_value() ? std::move(*std::get_if<0>(&state_))
                       : static_cast<T>(std::forward<U>(fallback));
  }
  ///@}

  ///@{
  /// The value, unchecked. Precondition: has_value().
  T& operator*() & noexcept { return *std::get_if<0>(&state_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&state_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&state_)); }
  T* operator->() noexcept { return std::get_if<0>(&state_); }
  const T* operator->() const noexcept { return std::get_if<0>(&state_); }
  ///@}

 private:
  void throw_if_error() const {
    if (!has_value()) APPKEYS_THROW(*std::get_if<1>(&state_));
  }

  std::variant<T, AppError> state_;
};

/// Result of an operation that returns nothing on success.
///
/// Thread safety: like a std::optional; distinct objects are independent.
template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;      ///< A success holds nothing.
  using error_type = AppError;  ///< What a failure holds.

  /// A success.
  Result() noexcept = default;
  /// A failure (implicit, so an operation can `return AppError(...);`).
  Result(AppError error) : error_(std::move(error)) {}

  /// True on success.
  bool has_value() const noexcept { return !error_.has_value(); }
  /// has_value(): `if (keys.remove(id)) ...`.
  explicit operator bool() const noexcept { return has_value(); }

  /// Nothing on success; on a failure, throws the AppError (aborts without exceptions).
  void value() const {
    if (error_) APPKEYS_THROW(*error_);
  }

  ///@{
  /// The failure. Precondition: !has_value().
  const AppError& error() const& noexcept {
    assert(error_.has_value());
    return *error_;
  }
  AppError&& error() && noexcept {
    assert(error_.has_value());
    return std::move(*error_);
  }
  ///@}

 private:
  std::optional<AppError> error_;
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
