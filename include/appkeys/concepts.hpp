// appkeys — the two policies: Transport (how bytes move) and Executor (how a call runs).
#pragma once

#include <appkeys/detail/unique_function.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>

#include <concepts>
#include <type_traits>

namespace appkeys {

/// Transport: moves one HttpRequest to the server and brings back its HttpResponse.
///
/// Requirements, one by one:
/// 1. `t.send(r)` with `T& t` and `const HttpRequest& r` is valid and returns exactly
///    `Result<HttpResponse>`.
/// 2. Any HTTP status is a *response*: send returns a value for a 404 or a 500. Only a
///    failure to exchange the request is an error, reported as AppError with
///    errc::connection_failed, timeout, tls, insecure_transport, response_too_large,
///    transport, or invalid_argument for a request that cannot be sent as given (a
///    malformed URL or header), the latter before any I/O.
/// 3. send honours `r.timeout` as a bound on the whole exchange, and never follows a
///    redirect: a 3xx is returned as a response.
/// 4. T is move-constructible: App takes its transport by value.
/// 5. send may be called from several threads at once (FutureExec, or one App shared
///    by threads); a transport that cannot allow that must serialize internally.
/// 6. send never logs or reports the Authorization header or the body: they carry
///    tokens, passwords and key values.
///
/// Requirements 2, 3, 5 and 6 are semantic: the compiler checks 1 and 4.
template <class T>
concept Transport = std::move_constructible<T> && requires(T& t, const HttpRequest& r) {
  { t.send(r) } -> std::same_as<Result<HttpResponse>>;
};

/// What an AsyncTransport calls when an exchange ends: with the response, or with the
/// AppError that ended it. Move-only, so it may own a promise or a coroutine handle.
using Completion = detail::UniqueFunction<void(Result<HttpResponse>)>;

/// AsyncTransport: starts an exchange and returns at once; the outcome arrives later
/// through a completion. This is what lets one thread keep thousands of calls in flight
/// (realm-core's `send_request_to_server(request, completion)` has the same shape).
///
/// Requirements, one by one:
/// 1. `t.async_send(std::move(r), std::move(c))` with `T& t`, an HttpRequest `r` and a
///    Completion `c` is valid. It takes ownership of both and returns without waiting
///    for the network.
/// 2. `c` is called exactly once, with what a Transport's `send(r)` would have returned
///    (Transport requirements 2, 3 and 6 hold for the outcome: statuses are responses,
///    `r.timeout` bounds the whole exchange including any time queued inside the
///    transport, redirects are not followed, nothing secret is logged).
/// 3. `c` runs either inline, before async_send returns (a request refused before any
///    I/O, or a transport with nothing to wait for, like the in-memory fake), or later on
///    a thread the transport owns. It never runs while the transport holds a lock that
///    async_send takes, so a completion may start new exchanges on the same transport.
/// 4. A completion must not block for long nor throw: it runs on the transport's thread,
///    where every other exchange waits for it. An exception escaping it is the
///    transport's to contain (it must not end the event loop).
/// 5. async_send may be called from any thread, including from inside a completion.
/// 6. Destroying the transport with exchanges in flight calls every pending completion
///    exactly once (with errc::shutting_down, or its real outcome) before the destructor
///    returns, and none after. Calling async_send once destruction has begun completes
///    with errc::shutting_down.
/// 7. T is move-constructible (App takes its transport by value); a moved-from transport
///    need not accept calls.
///
/// The compiler checks 1 and 7; the rest are semantic.
template <class T>
concept AsyncTransport = std::move_constructible<T> && requires(T& t, HttpRequest r, Completion c) {
  t.async_send(std::move(r), std::move(c));
};

/// The optional hooks an AsyncTransport may offer, detected with requires-expressions:
///
/// - `bool t.in_loop_thread() const`: true when called on the transport's own
///   event-loop thread. A blocking call (SyncExec, NoThrowExec, a FutureExec future's
///   get()) made there would wait for an answer that only that thread can deliver; with
///   this hook the library fails such a call at once with errc::invalid_argument instead
///   of deadlocking. CurlMultiTransport and testing::FakeAsyncTransport offer it.
/// - `t.async_after(std::chrono::milliseconds delay, fn)`: calls the move-only `void()`
///   `fn` once, on the transport's thread, after `delay` (at once, from the destructor,
///   if the transport goes first). Retry backoff then uses the transport's loop; without
///   it the library keeps one small timer thread shared by every call of every App.
/// - `t.async_send(std::move(r), std::move(c), std::stop_token stop)`: as async_send,
///   and once `stop` is requested the transport abandons the exchange (closes its
///   connection, frees its buffers) and calls `c` at once with errc::cancelled, still
///   exactly once. A cancelled call (App::with_stop_token, or the stop token given to an
///   executor) then stops its transfer instead of letting it run to the end;
///   without the hook the call still completes with errc::cancelled at once, but the
///   exchange runs on in the transport until it ends. CurlMultiTransport offers it.
/// - `t.shut_down()`: does now what the destructor would (requirement 6: every pending
///   completion called with errc::shutting_down, intake closed, the transport's threads
///   joined), leaving the object to be destroyed later; called again, it does nothing.
///   When the last App or ApiKeyAuth handle goes, the library calls it (off the
///   transport's thread), so the transport's threads have ended when that destructor
///   returns, even while finished calls still hold the App's state. Without it the
///   transport lives on until the last call in flight lets go of it.

/// Where a call's outcome goes: called exactly once with the Result.
template <class X>
using OperationCompletion = detail::UniqueFunction<void(Result<X>)>;

/// StartableOperation: what App and ApiKeyAuth give an Executor for each call. It can run
/// either way, and the executor picks:
///
/// 1. `typename Op::value_type` is the X the call produces (maybe void).
/// 2. `op.run_blocking()` runs the call on the calling thread and returns Result<X>;
///    `op()` is the same (so an executor written for plain callables still works).
/// 3. `op.start(completion)` starts the call and calls `completion(Result<X>)` exactly
///    once. When `Op::nonblocking` is true (the transport is an AsyncTransport) start
///    returns at once, holds no thread while requests are in flight, and the completion
///    runs on the transport's thread (or inline, for a call refused before any I/O);
///    otherwise start runs the call blocking and completes before it returns.
/// 4. Each operation is used once: run_blocking(), operator() or start(), not two.
/// 5. Nothing throws: failures are the AppError in the Result.
template <class Op>
concept StartableOperation = requires(Op& op,
                                      OperationCompletion<typename Op::value_type> completion) {
  typename Op::value_type;
  { op.run_blocking() } -> std::same_as<Result<typename Op::value_type>>;
  { op() } -> std::same_as<Result<typename Op::value_type>>;
  op.start(std::move(completion));
  { Op::nonblocking } -> std::convertible_to<bool>;
};

namespace detail {
/// An operation whose start() holds no thread while the call is in flight: executors
/// that can wait by completion start these instead of running them on a thread.
template <class Op>
concept NonblockingOperation = StartableOperation<Op> && Op::nonblocking;

/// Stand-in operations used only to state the Executor concept.
template <class X>
struct ProbeOperation {
  using value_type = X;
  static constexpr bool nonblocking = false;
  Result<X> run_blocking() const;
  Result<X> operator()() const;
  void start(OperationCompletion<X>) const;
};
}  // namespace detail

/// Executor: decides how a call runs and what the caller receives.
///
/// Each call reaches the executor as a StartableOperation `op` (see above): the
/// executor either runs it blocking (SyncExec, NoThrowExec, FutureExec over a blocking
/// transport) or starts it with a completion (FutureExec, CoroExec and CallbackExec
/// when `op.nonblocking`: no thread is held while the call is in flight).
///
/// Requirements, one by one:
/// 1. `typename E::template result<X>` names what a call returns for every X,
///    including void (SyncExec: X; NoThrowExec: Result<X>; FutureExec: std::future<X>).
/// 2. `e.run(op)` accepts any StartableOperation and returns exactly `E::result<X>`.
/// 3. run uses op exactly once (run_blocking(), op() or start()), and the value or
///    AppError it produced reaches the caller unchanged (SyncExec throws the AppError;
///    FutureExec stores it in the future).
/// 4. E is copy-constructible: App hands a copy to every ApiKeyAuth. Copies may share
///    state (FutureExec's copies share one pool).
/// 5. run may be called from several threads at once.
///
/// The shipped executors also accept a plain callable returning Result<X> (run as
/// run_blocking would be). The compiler checks 1, 2 and 4 through the probes below;
/// tests/executor_test.cpp checks every shipped executor against this concept (a
/// static_assert in each executor's header would be compiled again by every program).
template <class E>
concept Executor = std::copy_constructible<E> &&
    requires(E& e, detail::ProbeOperation<int> op, detail::ProbeOperation<void> void_op) {
  typename E::template result<int>;
  typename E::template result<void>;
  { e.run(op) } -> std::same_as<typename E::template result<int>>;
  { e.run(void_op) } -> std::same_as<typename E::template result<void>>;
};

}  // namespace appkeys
