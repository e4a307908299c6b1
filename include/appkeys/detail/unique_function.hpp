// appkeys — UniqueFunction: a move-only type-erased callable.
#pragma once

#include <concepts>
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

  // The callable is held by a plain owning pointer, not a std::unique_ptr<Impl<F>>:
  // at -O0 every std::unique_ptr specialization emits some fifty functions (its tuple,
  // deleter and accessors), and a program makes a UniqueFunction from dozens of
  // distinct lambdas. Ownership is this class's alone, so its five members say it.
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, UniqueFunction> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  UniqueFunction(F&& f) : impl_(new Impl<std::decay_t<F>>(std::forward<F>(f))) {}

  UniqueFunction(UniqueFunction&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}
  UniqueFunction& operator=(UniqueFunction&& other) noexcept {
    if (this != &other) {
      delete impl_;
      impl_ = std::exchange(other.impl_, nullptr);
    }
    return *this;
  }
  UniqueFunction(const UniqueFunction&) = delete;
  UniqueFunction& operator=(const UniqueFunction&) = delete;
  ~UniqueFunction() { delete impl_; }

  /// Precondition: holds a callable.
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

  explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  struct Base {
    Base() = default;
    Base(const Base&) = delete;
    Base& operator=(const Base&) = delete;
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

  Base* impl_ = nullptr;  // owned
};

}  // namespace appkeys::detail
