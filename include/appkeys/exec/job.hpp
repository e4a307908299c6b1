// appkeys — jobs and where they go: the vocabulary CoroExec and CallbackExec share to
// let the caller choose the threads an operation runs and completes on.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys {
namespace detail {

template <class Signature>
class UniqueFunction;

/// A move-only `R()` callable: std::function without the copy requirement, so an
/// operation that owns move-only state can still be type-erased (std::move_only_function
/// is C++23, which GCC 12's C++20 mode does not ship).
///
/// Thread safety: like a unique_ptr; distinct objects are independent.
template <class R>
class UniqueFunction<R()> {
 public:
  UniqueFunction() noexcept = default;

  template <class F>
  requires(!std::same_as<std::remove_cvref_t<F>, UniqueFunction> &&
           std::is_invocable_r_v<R, std::decay_t<F>&>) explicit UniqueFunction(F&& f)
      : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}

  UniqueFunction(UniqueFunction&&) noexcept = default;
  UniqueFunction& operator=(UniqueFunction&&) noexcept = default;

  /// Precondition: holds a callable.
  R operator()() { return impl_->call(); }

  explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual R call() = 0;
  };
  template <class F>
  struct Impl final : Base {
    template <class G>
    explicit Impl(G&& g) : f(std::forward<G>(g)) {}
    R call() override { return f(); }
    F f;
  };

  std::unique_ptr<Base> impl_;
};

}  // namespace detail

/// Hands a job to some thread that will run it later: a thread pool, an event loop, a
/// GUI thread. This is the shape of `asio::post(ctx, f)`, `QMetaObject::invokeMethod`
/// or any queue, so an application plugs its own loop in with a one-line lambda.
///
/// A post function must (1) run every job it accepts exactly once, (2) be callable from
/// any thread, and (3) make what happened before the post visible to the job (every
/// mutex- or atomic-based queue does). Jobs are copyable, as std::function requires;
/// the executors keep move-only state behind a shared pointer.
using PostFunction = std::function<void(std::function<void()>)>;

/// A type with `post(std::function<void()>)`, such as ThreadPool or RunLoop.
template <class P>
concept PostTarget = requires(P& target, std::function<void()> job) {
  target.post(std::move(job));
};

/// A PostFunction that posts to `target`, which must outlive every job posted to it
/// (and so every call in flight through an executor that uses it).
template <PostTarget P>
PostFunction post_to(P& target) {
  return [&target](std::function<void()> job) { target.post(std::move(job)); };
}

}  // namespace appkeys
