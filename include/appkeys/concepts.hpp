// appkeys — the two policies: Transport (how bytes move) and Executor (how a call runs).
#pragma once

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

namespace detail {
/// A stand-in operation used only to state the Executor concept.
struct ProbeOperation {
  Result<int> operator()() const { return 0; }
};
struct ProbeVoidOperation {
  Result<void> operator()() const { return {}; }
};
}  // namespace detail

/// Executor: decides where an operation runs and what the caller receives.
///
/// An operation is a move-only-friendly callable `f` with `f()` returning `Result<X>`;
/// it does the blocking work (build request, send, parse) and must not throw.
///
/// Requirements, one by one:
/// 1. `typename E::template result<X>` names what a call returns for every X,
///    including void (SyncExec: X; NoThrowExec: Result<X>; FutureExec: std::future<X>).
/// 2. `e.run(f)` accepts any such operation and returns exactly `E::result<X>`.
/// 3. run invokes f exactly once, and the value or AppError that f produced reaches
///    the caller unchanged (SyncExec throws the AppError; FutureExec stores it in the
///    future).
/// 4. E is copy-constructible: App hands a copy to every ApiKeyAuth. Copies may share
///    state (FutureExec's copies share one pool).
/// 5. run may be called from several threads at once.
///
/// The compiler checks 1, 2 and 4 through the probes below.
template <class E>
concept Executor = std::copy_constructible<E> &&
    requires(E& e, detail::ProbeOperation op, detail::ProbeVoidOperation void_op) {
  typename E::template result<int>;
  typename E::template result<void>;
  { e.run(op) } -> std::same_as<typename E::template result<int>>;
  { e.run(void_op) } -> std::same_as<typename E::template result<void>>;
};

}  // namespace appkeys
