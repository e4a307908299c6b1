// appkeys — CurlMultiTransport: libcurl's multi interface driven by one event-loop thread
// the transport owns; an AsyncTransport and a (blocking) Transport.
//
// Needs libcurl (7.85 or newer): link with `-lcurl`, or `pkg-config --libs libcurl`.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/unique_function.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/curl_detail/multi_loop.hpp>
#include <appkeys/transport/curl_options.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

namespace appkeys {

/// A transport over libcurl's multi interface: one event-loop thread, owned by the
/// transport, drives every exchange, so thousands of calls can be in flight while the
/// process holds one thread for them (see AsyncTransport).
///
/// - The loop: other threads only queue work (under a short lock) and wake the loop
///   (curl_multi_wakeup); the loop thread alone calls libcurl (curl_multi_poll).
/// - Connections: reused between calls and shared by every call to the same host; at
///   most `Options::max_connections` (default 64) open to one host at once. Calls beyond
///   what those connections can carry wait in the transport's own queue, in order,
///   holding no easy handle (so no libcurl buffers) until they can run. Over https,
///   HTTP/2 is negotiated where the server offers it, and then many calls share each
///   connection (libcurl's CURLPIPE_MULTIPLEX, with CURLOPT_PIPEWAIT).
/// - Timeouts: `request.timeout` bounds the whole exchange from the moment async_send
///   is called, time spent waiting for a connection included; a call still waiting when
///   it runs out completes with errc::timeout without being sent.
/// - The same safe defaults as CurlTransport, from the same code
///   (BasicCurlOptions, prepare, configure, outcome): certificates and host
///   names verified (TLS 1.2 or newer), plain http:// only to loopback unless allowed,
///   no proxy from the environment unless asked, http and https only, redirects returned
///   and never followed, responses capped at max_response_bytes, messages free of
///   secrets; exactly the request's method, headers and body reach the server.
/// - Failures: as CurlTransport, with errc::shutting_down for calls the transport's
///   destruction ended.
/// - Name resolution runs off the loop where libcurl has an asynchronous resolver
///   (CURL_VERSION_ASYNCHDNS: the threaded resolver or c-ares, as in Debian's and most
///   distributions' builds); a libcurl without one resolves on the loop thread, and a
///   slow DNS answer then holds up every call. CURLOPT_NOSIGNAL is always set.
/// - With a proxy, calls are grouped by their target's origin, while libcurl counts
///   connections per proxy: calls beyond max_connections then wait inside libcurl
///   (holding an easy handle) rather than in this transport's queue; the timeout still
///   counts that wait.
///
/// How it meets AsyncTransport, requirement by requirement:
/// 1. async_send(HttpRequest, Completion) takes both and returns at once: it checks the
///    request (no I/O), queues it under a short lock and wakes the loop.
/// 2. The completion runs exactly once: with the response, the AppError that ended the
///    exchange, errc::timeout (including time queued), or errc::shutting_down.
/// 3. It runs inline, before async_send returns, for a request refused before any I/O
///    (invalid_argument, insecure_transport) or made once destruction began
///    (shutting_down); otherwise on the loop thread, after curl_multi_info_read, outside
///    every libcurl callback and holding no lock of the transport, so it may call
///    async_send or async_after.
/// 4. A completion (or an async_after function) that throws does not end the loop: the
///    exception is caught and dropped (there is no caller to give it to), and the other
///    calls go on. A completion that blocks stalls every call of this transport.
/// 5. async_send may be called from any thread, including from inside a completion.
/// 6. The destructor stops intake, completes every queued and in-flight call exactly
///    once with errc::shutting_down, drops pending async_after functions unrun, frees
///    every easy handle, and joins the loop thread: no completion runs after it
///    returns. The one exception is a destructor that runs on the loop thread itself
///    (a completion releasing the transport's last owner): a thread cannot join itself,
///    so the destructor returns at once and the loop completes the remaining calls with
///    errc::shutting_down right after that completion returns, then ends and frees its
///    state on its own.
/// 7. Move-constructible (the state lives behind a shared_ptr); a moved-from transport
///    completes every call inline with errc::transport.
///
/// As a Transport, send(r) is async_send plus a wait for the completion; called on the
/// loop thread (from a completion) it would wait for itself, so it fails at once with
/// errc::invalid_argument instead (in_loop_thread() tells callers where they are).
///
/// libcurl is initialised on first construction, once per process, and never cleaned up.
///
/// Thread safety: async_send, async_after, send and in_loop_thread may be called
/// concurrently from any number of threads (the loop thread included, except for send);
/// constructing, assigning and destroying an object must not overlap with calls on that
/// same object.
class CurlMultiTransport {
 public:
  /// How the transport connects: the options CurlTransport has (same members, same safe
  /// defaults), except that max_connections counts connections per host, default 64.
  using Options = curl_detail::MultiOptions;
  using options_type = Options;  ///< What the transport is built from.

  /// A transport with the default Options.
  CurlMultiTransport() : CurlMultiTransport(Options{}) {}

  /// A transport configured by `options`; starts the loop thread.
  explicit CurlMultiTransport(Options options)
      : loop_(detail::share_new<curl_detail::MultiLoop>(std::move(options))) {
    loop_->start();
  }

  CurlMultiTransport(const CurlMultiTransport&) = delete;
  CurlMultiTransport& operator=(const CurlMultiTransport&) = delete;

  /// Takes over `other`'s loop and calls; `other` is left moved-from.
  CurlMultiTransport(CurlMultiTransport&& other) noexcept = default;

  /// Shuts down this transport's loop as the destructor does, then takes over `other`'s.
  CurlMultiTransport& operator=(CurlMultiTransport&& other) {
    if (this != &other) {
      shut_down();
      loop_ = std::move(other.loop_);
    }
    return *this;
  }

  /// Completes every pending call with errc::shutting_down and joins the loop thread
  /// (see the class comment, requirement 6, for a destructor running on that thread).
  ~CurlMultiTransport() { shut_down(); }

  /// The options in effect (max_connections 0 reads as 1). Precondition: not moved from.
  const Options& options() const noexcept { return loop_->options(); }

  /// Starts sending `request` and returns at once; `completion` is called exactly once
  /// with the response or the AppError that ended the exchange (see the class comment
  /// for where it runs).
  void async_send(HttpRequest request, Completion completion) {
    if (!loop_) {
      curl_detail::run_completion(
          completion, AppError(errc::transport, "CurlMultiTransport: used after being moved from"));
      return;
    }
    loop_->async_send(std::move(request), std::move(completion));
  }

  /// As async_send(request, completion), and abandons the exchange once `stop` is
  /// requested: the loop removes its transfer from the multi handle, which closes its
  /// connection (or takes it out of the queue, unsent), and calls `completion` with
  /// errc::cancelled, still exactly once (inline, if `stop` was requested already). The
  /// completion always runs on the loop thread or inline, never on the thread that
  /// requested the stop. A response that arrives first wins: the completion then gets it.
  void async_send(HttpRequest request, Completion completion, std::stop_token stop) {
    if (!loop_) {
      curl_detail::run_completion(
          completion, AppError(errc::transport, "CurlMultiTransport: used after being moved from"));
      return;
    }
    loop_->async_send(std::move(request), std::move(completion), std::move(stop));
  }

  /// Runs `fn` on the loop thread once `delay` has passed (a timer in the loop, e.g. for
  /// retry backoff without a sleeping thread). If the transport is destroyed first, `fn`
  /// is dropped without running (destroyed, on the loop thread or in the destructor). An
  /// exception escaping `fn` is caught and dropped. On a moved-from transport `fn` is
  /// dropped at once.
  void async_after(std::chrono::milliseconds delay, detail::UniqueFunction<void()> fn) {
    if (loop_) loop_->after(delay, std::move(fn));
  }

  /// Does now what the destructor does (see the class comment, requirement 6): every
  /// pending call completes with errc::shutting_down, later calls are refused that way,
  /// and the loop thread is joined (unless this is that thread). Idempotent.
  void shut_down() {
    if (loop_) loop_->shut_down();
  }

  /// True on the transport's loop thread: where completions and async_after functions
  /// run, and where a blocking send() would deadlock.
  bool in_loop_thread() const noexcept { return loop_ && loop_->in_loop_thread(); }

  /// Sends `request` and waits for the outcome (async_send plus a wait). On the loop
  /// thread it fails at once with errc::invalid_argument instead of deadlocking.
  Result<HttpResponse> send(const HttpRequest& request) {
    if (in_loop_thread()) {
      return AppError(errc::invalid_argument,
                      "CurlMultiTransport: blocking call on the transport's loop thread would "
                      "deadlock (use async_send from a completion)");
    }
    struct Waiter {
      std::mutex mutex;
      std::condition_variable done;
      std::optional<Result<HttpResponse>> result;
    };
    auto waiter = std::make_shared<Waiter>();
    async_send(request, [waiter](Result<HttpResponse> result) {
      {
        std::lock_guard<std::mutex> lock(waiter->mutex);
        waiter->result.emplace(std::move(result));
      }
      waiter->done.notify_one();
    });
    std::unique_lock<std::mutex> lock(waiter->mutex);
    // No timeout of its own: the completion is certain (request.timeout bounds the
    // exchange, and destruction completes every call).
    waiter->done.wait(lock, [&] { return waiter->result.has_value(); });
    return std::move(*waiter->result);
  }

 private:
  std::shared_ptr<curl_detail::MultiLoop> loop_;
};

static_assert(AsyncTransport<CurlMultiTransport> && Transport<CurlMultiTransport>);

}  // namespace appkeys
