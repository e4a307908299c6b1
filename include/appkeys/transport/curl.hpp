// appkeys — CurlTransport: a Transport over libcurl's easy interface, with a pool of
// kept-alive handles.
//
// Needs libcurl (7.85 or newer, for CURLOPT_PROTOCOLS_STR): link with `-lcurl`, or
// `pkg-config --libs libcurl`.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/curl_detail/configure.hpp>
#include <appkeys/transport/curl_detail/handles.hpp>
#include <appkeys/transport/curl_detail/outcome.hpp>
#include <appkeys/transport/curl_detail/prepared.hpp>
#include <appkeys/transport/curl_detail/response.hpp>
#include <appkeys/transport/curl_options.hpp>

#include <curl/curl.h>

#include <array>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace appkeys {

/// How a CurlTransport connects: the options both libcurl transports share (see
/// BasicCurlOptions), with max_connections = 8 pooled handles by default.
/// `CurlTransport{{.ca_file = "/etc/my-ca.pem"}}` changes only what it names.
using CurlTransportOptions = BasicCurlOptions<curl_detail::EasyTransportTraits>;

namespace curl_detail {

/// Everything the copies of one CurlTransport share: options, the CURLSH and the pool.
class State {
 public:
  explicit State(CurlTransportOptions options) : options_(std::move(options)) {
    if (options_.max_connections == 0) options_.max_connections = 1;
    init_code_ = global_init();
    if (init_code_ != CURLE_OK) return;
    share_ = curl_share_init();
    if (share_ == nullptr) return;
    // Only DNS answers are shared between the handles. Not shared, on purpose:
    // - connections: libcurl documents sharing its connection cache between
    //   concurrently running threads as unsupported, so each handle keeps its own
    //   kept-alive connections;
    // - TLS sessions: with OpenSSL, this libcurl hands one SSL_SESSION object to
    //   handles running in different threads, and OpenSSL copies and changes it while
    //   a handshake runs (TLS 1.3 session tickets) outside the share's lock. That is a
    //   data race (ThreadSanitizer found it in this library's tests; see curl/curl
    //   PR 14751 and openssl/openssl issue 24629). Each handle still resumes its own
    //   sessions, so reconnections stay cheap.
    bool ok =
        curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &State::lock) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &State::unlock) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_USERDATA, static_cast<void*>(this)) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK;
    if (!ok) {
      curl_share_cleanup(share_);
      share_ = nullptr;
    }
  }

  State(const State&) = delete;
  State& operator=(const State&) = delete;

  ~State() {
    // Handles first: a share cannot be cleaned up while handles still use it.
    idle_.clear();
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  const CurlTransportOptions& options() const noexcept { return options_; }
  CURLcode init_code() const noexcept { return init_code_; }
  CURLSH* share() const noexcept { return share_; }

  /// Waits until a handle is free (or may be created) or `deadline` passes.
  /// Returns an empty handle on timeout; sets `failed` when a handle could not be created.
  OwnedHandle acquire(std::chrono::steady_clock::time_point deadline, bool& failed) {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    const bool ready = pool_ready_.wait_until(
        lock, deadline, [this] { return !idle_.empty() || created_ < options_.max_connections; });
    if (!ready) return {};
    if (!idle_.empty()) {
      // Last in, first out: the most recently used handle most likely still has a
      // live connection to the server.
      OwnedHandle handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
    ++created_;
    lock.unlock();
    OwnedHandle handle(new Handle());
    handle->easy = curl_easy_init();
    if (handle->easy == nullptr) {
      lock.lock();
      --created_;
      lock.unlock();
      pool_ready_.notify_one();
      failed = true;
      return {};
    }
    return handle;
  }

  void release(OwnedHandle handle) {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      idle_.push_back(std::move(handle));
    }
    pool_ready_.notify_one();
  }

 private:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    auto* self = static_cast<State*>(user);
    self->share_locks_[slot(data)].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    auto* self = static_cast<State*>(user);
    self->share_locks_[slot(data)].unlock();
  }
  static std::size_t slot(curl_lock_data data) noexcept {
    const auto index = static_cast<std::size_t>(data);
    return index < static_cast<std::size_t>(CURL_LOCK_DATA_LAST) ? index : 0;
  }

  CurlTransportOptions options_;
  CURLcode init_code_ = CURLE_FAILED_INIT;
  // One mutex per kind of data libcurl may lock (the DNS cache and the share's own
  // bookkeeping are used), indexed by curl_lock_data, as libcurl's documentation asks.
  std::array<std::mutex, static_cast<std::size_t>(CURL_LOCK_DATA_LAST)> share_locks_;
  CURLSH* share_ = nullptr;

  std::mutex pool_mutex_;
  std::condition_variable pool_ready_;
  std::vector<OwnedHandle> idle_;
  std::size_t created_ = 0;
};

/// Gives a handle back to the pool on every path out of send().
class Lease {
 public:
  Lease(State& state, OwnedHandle handle) : state_(&state), handle_(std::move(handle)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (!handle_) return;
    // Forget the request's options before the handle goes back: they point into
    // buffers (URL, headers, body, callbacks' data) that die with send(). The reset
    // keeps the handle's connections and caches.
    curl_easy_reset(handle_->easy);
    state_->release(std::move(handle_));
  }
  Handle& operator*() const noexcept { return *handle_; }
  Handle* operator->() const noexcept { return handle_.get(); }

 private:
  State* state_;
  OwnedHandle handle_;
};

}  // namespace curl_detail

/// A Transport over libcurl.
///
/// - Keep-alive: a pool of up to `max_connections` easy handles, each running one
///   request at a time and keeping its connections (and TLS sessions) between
///   requests. DNS answers are shared between the handles (a CURLSH with one mutex per
///   kind of data); connections and TLS sessions are not (see curl_detail::State,
///   which says why). When every
///   handle is busy, send() waits for one; the wait counts against the request's
///   timeout (errc::timeout when it runs out), so the number of sockets stays bounded
///   under any load.
/// - Secure by default: certificates and host names are verified (TLS 1.2 or newer);
///   plain http:// is refused before any I/O unless the host is loopback; no proxy is
///   taken from the environment unless asked; only http and https are spoken;
///   redirects are returned, never followed.
/// - Exactly the request: its method, its headers (libcurl's own `Accept: */*`,
///   `Expect: 100-continue` and form Content-Type are suppressed), its body byte for
///   byte. POST and PUT always announce their length (`Content-Length: 0` when
///   empty); a PUT or DELETE without a body sends none and no Content-Type; a DELETE
///   or GET without a body sends no Content-Length.
/// - Failures: errc::connection_failed, timeout, tls, insecure_transport,
///   response_too_large or transport once the exchange has started; before any I/O,
///   errc::invalid_argument for a request that cannot be sent as given (a URL libcurl
///   cannot parse, a scheme other than http(s), user info in the URL, a header that
///   would break the request's framing, a timeout that is not positive), as
///   HttplibTransport does. Messages come from libcurl's error buffer plus the method
///   and the URL's origin; they never contain the Authorization header, the body or
///   proxy credentials.
/// - libcurl itself re-sends a request once, on a fresh connection, when a reused
///   kept-alive connection turns out to be closed before any byte of the response
///   arrived (a server's idle timeout racing the request), POSTs included; there is
///   no option to turn that off. For this protocol it is benign: a server that closed
///   an idle connection never saw the request, and in the rare case that it did (it
///   died before answering) a repeated create fails with api_key_already_exists
///   instead of making a second key, and a repeated log-in only opens another session.
///
/// Copies share one pool (a cheap handle, like App). libcurl is initialised on first
/// construction, once per process, and never cleaned up.
///
/// Thread safety: send() may be called concurrently from any number of threads on
/// the same object or its copies; constructing, assigning and destroying an object
/// must not overlap with calls on that same object.
class CurlTransport {
 public:
  using options_type = CurlTransportOptions;  ///< What the transport is built from.

  CurlTransport() : CurlTransport(CurlTransportOptions{}) {}
  /// A transport configured by `options` (CurlTransport() uses the defaults).
  explicit CurlTransport(CurlTransportOptions options)
      : state_(detail::share_new<curl_detail::State>(std::move(options))) {}

  /// Precondition: not moved from.
  const CurlTransportOptions& options() const noexcept { return state_->options(); }

  /// Sends `request` on a pooled handle; any HTTP status is a response, failures to
  /// get one are errc::insecure_transport (before any I/O), connection_failed,
  /// timeout, tls, transport or response_too_large.
  Result<HttpResponse> send(const HttpRequest& request) {
    using namespace curl_detail;
    const auto deadline = std::chrono::steady_clock::now() + capped_timeout(request);
    const std::shared_ptr<State> state = state_;  // keeps the pool alive while we run
    if (!state) return AppError(errc::transport, "CurlTransport: used after being moved from");
    if (state->init_code() != CURLE_OK || state->share() == nullptr) {
      return AppError(errc::transport, "CurlTransport: libcurl could not be initialised");
    }
    const CurlTransportOptions& options = state->options();

    // Checks that need no I/O come first, so a refused request never touches a socket.
    auto prepared = prepare(request, options);
    if (!prepared) return std::move(prepared).error();

    bool create_failed = false;
    auto acquired = state->acquire(deadline, create_failed);
    if (!acquired) {
      if (create_failed) return AppError(errc::transport, "CurlTransport: curl_easy_init failed");
      return AppError(errc::timeout,
                      "CurlTransport: no connection became free within the request's timeout");
    }
    Lease handle(*state, std::move(acquired));
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      return AppError(errc::timeout,
                      "CurlTransport: no connection became free within the request's timeout");
    }

    Exchange exchange;
    exchange.max_bytes = options.max_response_bytes;
    const CURLcode setup = configure(*handle, state->share(), options, request, prepared->body,
                                     prepared->target, prepared->headers, exchange, remaining);
    if (setup != CURLE_OK) {
      return AppError(errc::transport, std::string("CurlTransport: libcurl refused an option (") +
                                           curl_easy_strerror(setup) + ")");
    }
    const CURLcode code = curl_easy_perform(handle->easy);
    return outcome(code, exchange, *handle, request, prepared->target, prepared->headers, options);
  }

 private:
  std::shared_ptr<curl_detail::State> state_;
};

static_assert(Transport<CurlTransport>);

}  // namespace appkeys
