// appkeys — LocalServer's helpers: the backend concept, its worker pool, header filters
// and the access log's view of a request.
#pragma once

#include <appkeys/http.hpp>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys::testing {

/// What LocalServer can serve: anything answering an HttpRequest with an HttpResponse
/// (FakeBackend, or a server backed by a real store), safely from several threads at
/// once.
template <class B>
concept ServableBackend = requires(B& backend, const HttpRequest& request) {
  { backend.handle(request) } -> std::same_as<HttpResponse>;
};

namespace local_server_detail {

/// A thread pool that counts the connections it is handed: httplib's server enqueues
/// exactly one task per accepted connection.
class CountingPool final : public httplib::TaskQueue {
 public:
  CountingPool(std::size_t threads, std::atomic<std::size_t>& accepted)
      : pool_(threads), accepted_(accepted) {}
  void enqueue(std::function<void()> task) override {
    accepted_.fetch_add(1, std::memory_order_relaxed);
    pool_.enqueue(std::move(task));
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  std::atomic<std::size_t>& accepted_;
};

/// The backend's body limit when it tells it (FakeBackend does), else a cap large
/// enough never to pre-empt the backend's own 413 (which then answers for bodies above
/// its limit).
template <class Backend>
std::size_t body_limit(const Backend& backend) {
  if constexpr (requires { backend.options().max_body_bytes; }) {
    return backend.options().max_body_bytes;
  } else {
    (void)backend;
    return std::size_t{64} * 1024 * 1024;
  }
}

/// Headers httplib 0.11 invents on every request it receives (the peer's and its own
/// address); they were not sent by the client, so the backend must not see them.
inline bool is_httplib_pseudo_header(std::string_view name) noexcept {
  return detail::iequals(name, "REMOTE_ADDR") || detail::iequals(name, "REMOTE_PORT") ||
         detail::iequals(name, "LOCAL_ADDR") || detail::iequals(name, "LOCAL_PORT");
}

/// Framing headers belong to the HTTP layer, which computes its own.
inline bool is_framing_header(std::string_view name) noexcept {
  return detail::iequals(name, "Content-Length") || detail::iequals(name, "Transfer-Encoding") ||
         detail::iequals(name, "Connection") || detail::iequals(name, "Keep-Alive");
}

/// `text` fit for one log line: bytes outside printable ASCII become "%XX" (a '%'
/// already there stays: targets arrive percent-encoded), at most `limit` bytes of input
/// are kept ("..." marks a cut), "-" for empty text.
inline std::string loggable(std::string_view text, std::size_t limit) {
  if (text.empty()) return "-";
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte > 0x20 && byte < 0x7f) {
      out += static_cast<char>(byte);
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0x0f];
    }
  }
  if (text.size() > limit) out += "...";
  return out;
}

/// The path of a request target: everything before its query string or fragment.
inline std::string_view target_path(std::string_view target) noexcept {
  return target.substr(0, target.find_first_of("?#"));
}

/// When the request this worker thread is serving was routed. httplib serves one
/// request at a time per thread and runs the pre-routing handler and the logger on the
/// thread that serves the request, so a thread-local carries the time from one to the
/// other; the logger clears it, so a request refused before routing has none.
inline std::optional<std::chrono::steady_clock::time_point>& routed_at() noexcept {
  thread_local std::optional<std::chrono::steady_clock::time_point> time;
  return time;
}

}  // namespace local_server_detail
}  // namespace appkeys::testing
