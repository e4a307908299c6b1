// appkeys — the libcurl handles behind CurlMultiTransport's loop: its multi handle, the
// share through which its connections resume TLS sessions, and idle easy handles.
#pragma once

#include <appkeys/transport/curl_detail/handles.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace appkeys::curl_detail {

/// Owns the CURLM that CurlMultiTransport's loop drives, the CURLSH its easy handles
/// use, and the easy handles kept for reuse; frees the idle ones first. Must outlive
/// every easy handle added to the multi handle.
///
/// Thread safety: multi() and share() may be read from any thread; of what they give,
/// only curl_multi_wakeup may be called from a thread other than the loop's. The easy
/// handles (take_easy, give_back, drop_idle) are the loop thread's.
class MultiHandles {
 public:
  /// A multi handle that runs at most `max_connections` connections per host,
  /// multiplexing HTTP/2 where it can; multi() is null when libcurl could not be set up.
  explicit MultiHandles(std::size_t max_connections) noexcept {
    if (global_init() != CURLE_OK) return;
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return;
    const auto per_host = static_cast<long>(
        std::min<std::size_t>(max_connections, static_cast<std::size_t>(1) << 30));
    const bool ok =
        curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, per_host) == CURLM_OK &&
        curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) == CURLM_OK;
    // Every easy handle of the multi already shares its connection and DNS caches. The
    // share adds TLS sessions, so a new connection to a known host resumes one. No lock
    // callbacks: only the loop thread ever runs a transfer.
    share_ = curl_share_init();
    if (share_ != nullptr &&
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
      curl_share_cleanup(share_);
      share_ = nullptr;
    }
    if (!ok) {
      curl_multi_cleanup(multi_);
      multi_ = nullptr;
    }
  }

  MultiHandles(const MultiHandles&) = delete;
  MultiHandles& operator=(const MultiHandles&) = delete;

  ~MultiHandles() {
    idle_.clear();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  /// The multi handle; null when libcurl could not be set up.
  CURLM* multi() const noexcept { return multi_; }
  /// The TLS session share; null when libcurl could not make one (sessions are then
  /// not shared between connections).
  CURLSH* share() const noexcept { return share_; }

  /// An easy handle for one transfer: an idle one, else a new one; null when
  /// curl_easy_init fails.
  std::unique_ptr<Handle> take_easy() {
    std::unique_ptr<Handle> handle;
    if (!idle_.empty()) {
      handle = std::move(idle_.back());
      idle_.pop_back();
    } else {
      handle = std::make_unique<Handle>();
      handle->easy = curl_easy_init();
      if (handle->easy == nullptr) handle.reset();
    }
    return handle;
  }

  /// Takes back a transfer's handle (if it has one) for reuse, keeping a bounded
  /// number idle: a handle holds buffers.
  void give_back(std::unique_ptr<Handle>& handle) {
    if (!handle) return;
    constexpr std::size_t max_idle = 64;
    // Forget the transfer's options: they point into buffers that die with its call.
    // The reset keeps the handle's caches; connections live in the multi handle.
    curl_easy_reset(handle->easy);
    if (idle_.size() < max_idle) idle_.push_back(std::move(handle));
    handle.reset();
  }

  /// Frees every idle easy handle.
  void drop_idle() noexcept { idle_.clear(); }

 private:
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  std::vector<std::unique_ptr<Handle>> idle_;
};

}  // namespace appkeys::curl_detail
