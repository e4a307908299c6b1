// appkeys — jobs and where they go: the vocabulary CoroExec and CallbackExec share to
// let the caller choose the threads an operation runs and completes on.
#pragma once

#include <appkeys/detail/unique_function.hpp>

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys {

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
