// appkeys — CallbackExec: each call completes by invoking a handler `void(Result<T>)`.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/exec/guarded.hpp>
#include <appkeys/exec/job.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <cassert>
#include <concepts>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys {

class CallbackExec;

namespace detail {

/// Where CallbackExec runs calls and completes them, and what it does when a handler
/// throws; shared by every copy of the executor and every call in flight.
struct CallbackContexts {
  PostFunction run_on{};
  PostFunction complete_on{};
  std::function<void(std::exception_ptr)> on_handler_exception{};
};

/// Invokes the handler with the outcome. A handler that throws has nobody to throw
/// to (it may be running on a pool thread), so the exception goes to the executor's
/// hook, or ends the program when there is none; either way the executor, its pool
/// and every other call are untouched.
template <class Handler, class T>
void invoke_handler(Handler& handler, Result<T>&& outcome,
                    const CallbackContexts* contexts) noexcept {
  try {
    handler(std::move(outcome));
  } catch (...) {
    if (contexts && contexts->on_handler_exception) {
      contexts->on_handler_exception(std::current_exception());  // a throw here terminates
    } else {
      std::terminate();
    }
  }
}

/// A call in flight on another thread: the operation, then the outcome, and the
/// handler, kept together because jobs must be copyable (PostFunction).
template <class T, class Handler>
struct CallbackCall {
  UniqueFunction<Result<T>()> operation{};
  Handler handler{};
  std::shared_ptr<const CallbackContexts> contexts{};
  Slot<Result<T>> outcome{};

  /// On a run_on thread.
  static void run(const std::shared_ptr<CallbackCall>& self) {
    Result<T> result = run_guarded<T>(self->operation);
    self->operation = {};  // release what the operation holds before the handler runs
    if (self->contexts->complete_on) {
      // The post orders this thread's writes before the job reads them.
      self->outcome.emplace(std::move(result));
      self->contexts->complete_on([self] { complete(self); });
    } else {
      invoke_handler(self->handler, std::move(result), self->contexts.get());
    }
  }

  /// A non-blocking call's outcome, on the thread that completed it.
  static void arrive(const std::shared_ptr<CallbackCall>& self, Result<T> outcome) {
    const CallbackContexts* contexts = self->contexts.get();
    const PostFunction* post = nullptr;
    if (contexts && contexts->complete_on) {
      post = &contexts->complete_on;
    } else if (contexts && contexts->run_on) {
      post = &contexts->run_on;
    }
    if (post == nullptr) {
      invoke_handler(self->handler, std::move(outcome), contexts);
      return;
    }
    self->outcome.emplace(std::move(outcome));
    (*post)([self] { complete(self); });
  }

  /// On a complete_on thread.
  static void complete(const std::shared_ptr<CallbackCall>& self) {
    invoke_handler(self->handler, std::move(*self->outcome), self->contexts.get());
  }
};

}  // namespace detail

/// What a CallbackExec call returns: the call, described but not started. `then(h)`
/// starts it; `h` is invoked exactly once with the call's Result<T>, value or error:
///
///     keys.create("reporting").then([](appkeys::Result<appkeys::ApiKey> key) {
///       if (key) store(key->key->reveal()); else log(key.error().what());
///     });
///
/// A Deferred that is destroyed without then() never runs. It is move-only and
/// single-shot (then() is called on an rvalue: `std::move(call).then(h)` for a named one).
///
/// Thread safety: a unique owner, like unique_ptr; distinct objects are independent.
template <class T>
class [[nodiscard]] Deferred {
 public:
  /// What the handler receives, as Result<value_type>.
  using value_type = T;

  /// Moves the pending call; the source is left empty.
  Deferred(Deferred&&) noexcept = default;
  /// Moves the pending call; a call pending in `*this` is dropped without running.
  Deferred& operator=(Deferred&&) noexcept = default;

  /// Whether then() may still be called.
  bool valid() const noexcept {
    return static_cast<bool>(operation_) || static_cast<bool>(starter_);
  }

  /// Starts the call; `handler(Result<T>)` is invoked exactly once, on the thread the
  /// executor says (see CallbackExec), possibly before then() returns. The handler may
  /// be move-only. It should not throw: see CallbackExec::on_handler_exception.
  template <class Handler>
    requires(std::invocable<std::decay_t<Handler>&, Result<T>>)
  void then(Handler&& handler) && {
    assert(valid() && "then() on a Deferred that was already started or moved from");
    auto contexts = std::move(contexts_);
    auto operation = std::move(operation_);
    using Call = detail::CallbackCall<T, std::decay_t<Handler>>;
    if (starter_) {
      // Non-blocking: nothing runs on run_on; the completion arrives on the transport's
      // thread and the handler runs there, or on complete_on (else run_on) if given.
      auto starter = std::move(starter_);
      auto call = std::make_shared<Call>(Call{.operation = {},
                                              .handler = std::forward<Handler>(handler),
                                              .contexts = std::move(contexts)});
      starter([call](Result<T> outcome) { Call::arrive(call, std::move(outcome)); });
      return;
    }
    if (contexts && contexts->run_on) {
      auto call = std::make_shared<Call>(Call{.operation = std::move(operation),
                                              .handler = std::forward<Handler>(handler),
                                              .contexts = contexts});
      contexts->run_on([call] { Call::run(call); });
      return;
    }
    // Inline: the call runs here, before then() returns.
    Result<T> outcome = detail::run_guarded<T>(operation);
    operation = {};
    if (contexts && contexts->complete_on) {
      auto call = std::make_shared<Call>(Call{.operation = {},
                                              .handler = std::forward<Handler>(handler),
                                              .contexts = contexts,
                                              .outcome = std::move(outcome)});
      contexts->complete_on([call] { Call::complete(call); });
      return;
    }
    std::decay_t<Handler> local(std::forward<Handler>(handler));
    detail::invoke_handler(local, std::move(outcome), contexts.get());
  }

 private:
  friend class CallbackExec;

  using Starter = detail::UniqueFunction<void(OperationCompletion<T>)>;

  Deferred(std::shared_ptr<const detail::CallbackContexts> contexts,
           detail::UniqueFunction<Result<T>()> operation) noexcept
      : contexts_(std::move(contexts)), operation_(std::move(operation)) {}
  Deferred(std::shared_ptr<const detail::CallbackContexts> contexts, Starter starter) noexcept
      : contexts_(std::move(contexts)), starter_(std::move(starter)) {}

  std::shared_ptr<const detail::CallbackContexts> contexts_;
  detail::UniqueFunction<Result<T>()> operation_;  // a blocking call, or
  Starter starter_;                                // a non-blocking one
};

/// Each call returns a Deferred<T>, started with a completion handler `void(Result<T>)`:
/// the style of the official C++ core's completion handlers, with Result<T> carrying
/// value or AppError in one argument.
///
///     auto keys = app.api_keys(user);   // App<CurlTransport, CallbackExec>
///     keys.fetch_all().then([](appkeys::Result<std::vector<appkeys::ApiKey>> all) { ... });
///
/// | executor                      | the blocking call runs | the handler runs            |
/// |-------------------------------|------------------------|-----------------------------|
/// | `CallbackExec{}`              | inline, inside then()  | inline, before then() returns |
/// | `CallbackExec{pool}`          | on a pool thread       | on that pool thread         |
/// | `CallbackExec{pool, loop}`    | on a pool thread       | on the thread running `loop` |
///
/// `pool` and `loop` are anything with `post(std::function<void()>)` (ThreadPool,
/// RunLoop, your own), referenced, not owned: they must outlive every call in flight.
/// Or pass PostFunctions (`CallbackExec{run_on, complete_on}`) for asio, a UI loop or
/// any queue. Each handler is invoked exactly once, failure included, provided the post
/// functions run every job they accept.
///
/// An operation that throws (it should not: failures are values) reaches the handler as
/// an error like any other: errc::transport without the exception's text, or the
/// AppError it threw.
///
/// A handler that throws: the exception cannot travel back to whoever called then()
/// (that thread may be long gone), so by default the program ends (std::terminate, as
/// for an exception leaving a std::thread). `on_handler_exception(hook)` gives an
/// executor that hands the exception to `hook` instead, on the handler's thread, and
/// carries on: the call is complete, the pool and other calls are unaffected.
///
/// Over an AsyncTransport (CurlMultiTransport, testing::FakeAsyncTransport) no thread is
/// held while a call is in flight: then() starts the call and returns, and the handler
/// runs on the transport's thread when it completes, or on `complete_on` (else
/// `run_on`) if given. A handler on the transport's thread must not block (a blocking
/// call there fails with errc::invalid_argument); it may start new calls.
///
/// Copies share the chosen contexts. Needs exceptions.
///
/// Thread safety: run may be called from any number of threads at once; each Deferred
/// is then owned by one caller.
class CallbackExec {
 public:
  /// What a call returns: a Deferred<T>, started by then(handler).
  template <class T>
  using result = Deferred<T>;

  /// Runs calls and handlers inline: no threads.
  CallbackExec() = default;

  /// Runs each call on a job given to `run_on` (inline if empty) and each handler on a
  /// job given to `complete_on` (or, if empty, right where the call ran). (A template
  /// only so that it is compiled where it is used, as on_handler_exception: see
  /// detail/dependent.hpp.)
  template <class = void>
  explicit CallbackExec(PostFunction run_on, PostFunction complete_on = nullptr)
      : contexts_(detail::share_new<const detail::CallbackContexts>(detail::CallbackContexts{
            .run_on = std::move(run_on), .complete_on = std::move(complete_on)})) {}

  /// Runs each call on `run_on` (a ThreadPool, a RunLoop or anything with post()); the
  /// handler runs right after it, on the same thread. `run_on` must outlive the calls.
  template <PostTarget RunOn>
  explicit CallbackExec(RunOn& run_on) : CallbackExec(post_to(run_on)) {}

  /// Runs each call on `run_on` and each handler on `complete_on` (e.g. a RunLoop the
  /// caller's thread drives). Both must outlive the calls.
  template <PostTarget RunOn, PostTarget CompleteOn>
  CallbackExec(RunOn& run_on, CompleteOn& complete_on)
      : CallbackExec(post_to(run_on), post_to(complete_on)) {}

  /// A copy of this executor whose handlers' exceptions go to `hook` (called on the
  /// handler's thread; if the hook throws too, the program ends).
  template <class = void>
  CallbackExec on_handler_exception(std::function<void(std::exception_ptr)> hook) const {
    detail::CallbackContexts contexts = contexts_ ? *contexts_ : detail::CallbackContexts{};
    contexts.on_handler_exception = std::move(hook);
    CallbackExec copy;
    copy.contexts_ = detail::share_new<const detail::CallbackContexts>(std::move(contexts));
    return copy;
  }

  /// The Executor requirement: wraps `operation` in a Deferred; nothing runs until
  /// then() is called on it.
  template <class F>
  result<operation_value_t<F>> run(F&& operation) const {
    using T = operation_value_t<F>;
    if constexpr (detail::NonblockingOperation<std::decay_t<F>>) {
      return Deferred<T>(contexts_, typename Deferred<T>::Starter(
                                        [op = std::decay_t<F>(std::forward<F>(operation))](
                                            OperationCompletion<T> completion) mutable {
                                          op.start(std::move(completion));
                                        }));
    } else {
      return Deferred<T>(contexts_,
                         detail::UniqueFunction<Result<T>()>(std::forward<F>(operation)));
    }
  }

 private:
  std::shared_ptr<const detail::CallbackContexts> contexts_;
};

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
