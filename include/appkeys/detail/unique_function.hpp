// appkeys — UniqueFunction: a move-only type-erased callable.
#pragma once

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys::detail {

template <class Signature>
class UniqueFunction;

/// A move-only `R(Args...)` callable: std::function without the copy requirement, so a
/// completion or an operation that owns move-only state (a std::promise, a coroutine
/// handle) can still be type-erased (std::move_only_function is C++23, which GCC 12's
/// C++20 mode does not ship).
///
/// Thread safety: like a unique_ptr; distinct objects are independent.
template <class R, class... Args>
class UniqueFunction<R(Args...)> {
 public:
  UniqueFunction() noexcept = default;

  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, UniqueFunction> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  UniqueFunction(F&& f) : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}

  UniqueFunction(UniqueFunction&&) noexcept = default;
  UniqueFunction& operator=(UniqueFunction&&) noexcept = default;

  /// Precondition: holds a callable.
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

  explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual R call(Args&&... args) = 0;
  };
  template <class F>
  struct Impl final : Base {
    template <class G>
    explicit Impl(G&& g) : f(std::forward<G>(g)) {}
    R call(Args&&... args) override { return f(std::forward<Args>(args)...); }
    F f;
  };

  std::unique_ptr<Base> impl_;
};

}  // namespace appkeys::detail
