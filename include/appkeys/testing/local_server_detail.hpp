// appkeys — LocalServer's helpers: the backend concept, its worker pool, header filters,
// the replies it makes by itself, and the access log's view of a request.
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

/// The reason phrase of a status httplib answers by itself.
inline const char* status_text(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "page not found";
    case 405:
      return "method not allowed";
    case 413:
      return "payload too large";
    case 414:
      return "URI too long";
    case 416:
      return "range not satisfiable";
    default:
      return "error";
  }
}

/// 405 with the methods the server routes.
inline void method_not_allowed(httplib::Response& res) {
  res.status = 405;
  res.set_header("Allow", "GET, HEAD, POST, PUT, DELETE");
  res.set_content("405 method not allowed", "text/plain; charset=utf-8");
}

/// The rest of a refused body is still on the wire, and httplib 0.11 would read it
/// as further requests, answering each with 400 for as long as the client sends.
/// The connection must close after this response, which httplib offers no switch
/// for ("Connection: close" in a handler's response is not read back): a content
/// provider that writes the whole response body and then reports failure makes
/// httplib end the connection once the response is on the wire.
inline void close_after_sending(httplib::Response& res) {
  std::string body = std::move(res.body);
  res.body.clear();
  std::string type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");
  res.headers.erase("Content-Length");
  res.set_header("Connection", "close");
  const std::size_t length = body.size();
  res.set_content_provider(
      length, type,
      [body = std::move(body)](std::size_t offset, std::size_t, httplib::DataSink& sink) {
        if (offset < body.size()) sink.write(body.data() + offset, body.size() - offset);
        return false;  // the body is complete; "failing" here closes the connection
      });
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
