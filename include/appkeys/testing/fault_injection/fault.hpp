// appkeys — Fault: one scripted misbehaviour of the network or the server (its FaultKind)
// and the requests it may hit, for testing::FaultInjectingTransport to play.
#pragma once

#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys::testing {

/// What goes wrong with one request. "Forwarded" kinds reach the inner transport, so
/// the server's state changes even though the caller sees a failure; the others are
/// answered (or failed) in front of the server, which never sees the request.
enum class FaultKind {
  refuse_connection,    // not forwarded; errc::connection_failed
  timeout_before_send,  // not forwarded; errc::timeout
  timeout_after_send,   // forwarded, answer dropped; errc::timeout
  reset_mid_response,   // forwarded, answer dropped; errc::transport
  truncate_body,        // forwarded; body cut at `bytes`, status and headers kept
  oversized_body,       // forwarded; body replaced by `bytes` bytes of `fill`
  wrong_content_type,   // forwarded; Content-Type replaced, body kept
  html_error_page,      // not forwarded; an HTML page with `status`, as a proxy sends
  json_error,           // not forwarded; `status` with a PROTOCOL.md §5 JSON error body
  throttle,             // not forwarded; 429 with Retry-After
  plain_status,         // not forwarded; `status` with a short text/plain body
  replace_body,         // forwarded; body replaced by given bytes, status and headers kept
};

constexpr std::string_view to_string(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::refuse_connection:
      return "refuse_connection";
    case FaultKind::timeout_before_send:
      return "timeout_before_send";
    case FaultKind::timeout_after_send:
      return "timeout_after_send";
    case FaultKind::reset_mid_response:
      return "reset_mid_response";
    case FaultKind::truncate_body:
      return "truncate_body";
    case FaultKind::oversized_body:
      return "oversized_body";
    case FaultKind::wrong_content_type:
      return "wrong_content_type";
    case FaultKind::html_error_page:
      return "html_error_page";
    case FaultKind::json_error:
      return "json_error";
    case FaultKind::throttle:
      return "throttle";
    case FaultKind::plain_status:
      return "plain_status";
    case FaultKind::replace_body:
      return "replace_body";
  }
  return "unknown";
}

/// True when a fault of this kind lets the request reach the inner transport.
constexpr bool forwards_request(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::timeout_after_send:
    case FaultKind::reset_mid_response:
    case FaultKind::truncate_body:
    case FaultKind::oversized_body:
    case FaultKind::wrong_content_type:
    case FaultKind::replace_body:
      return true;
    default:
      return false;
  }
}

namespace fault_detail {
/// JSON string escaping for the bodies this header writes; enough for test text.
inline std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(byte));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

inline void set_content_type(Headers& headers, std::string_view type) {
  headers.erase("Content-Type");  // every spelling: the comparator ignores case
  if (!type.empty()) headers.emplace("Content-Type", std::string(type));
}
}  // namespace fault_detail

/// One scripted fault, and which requests it may hit. Built by the named factories,
/// then narrowed with on(), url_contains(), url_ends_with() and times():
///
///     Fault::truncate_body(20).on(HttpMethod::post).url_ends_with("/auth/api_keys")
///
/// A fault with no restriction hits the next request of any kind.
///
/// Thread safety: a value type; distinct objects are independent.
class Fault {
 public:
  /// The connection is refused: the request never reaches the server
  /// (errc::connection_failed).
  static Fault refuse_connection() { return Fault(FaultKind::refuse_connection); }
  /// The request times out before it is sent (errc::timeout); the server never sees it.
  static Fault timeout_before_send() { return Fault(FaultKind::timeout_before_send); }
  /// The server handles the request, but the answer never comes back (errc::timeout).
  static Fault timeout_after_send() { return Fault(FaultKind::timeout_after_send); }
  /// The server handles the request, and the connection drops while the answer comes
  /// back (errc::transport).
  static Fault reset_mid_response() { return Fault(FaultKind::reset_mid_response); }

  /// The real answer with its body cut after `bytes` bytes (a dropped connection that
  /// the transport did not notice, or a lying Content-Length).
  static Fault truncate_body(std::size_t bytes) {
    Fault fault(FaultKind::truncate_body);
    fault.bytes_ = bytes;
    return fault;
  }
  /// The real status and headers with a body of `mebibytes` MiB of `fill`, for clients
  /// that must neither crash nor hang on a huge answer.
  static Fault oversized_body(std::size_t mebibytes, char fill = 'x') {
    Fault fault(FaultKind::oversized_body);
    fault.bytes_ = mebibytes * 1024 * 1024;
    fault.fill_ = fill;
    return fault;
  }
  /// The real answer relabelled, e.g. JSON served as text/html by a misconfigured proxy.
  static Fault wrong_content_type(std::string content_type = "text/html; charset=utf-8") {
    Fault fault(FaultKind::wrong_content_type);
    fault.content_type_ = std::move(content_type);
    return fault;
  }
  /// The error page a reverse proxy sends when the server behind it is gone.
  static Fault html_error_page(int status = 502) {
    Fault fault(FaultKind::html_error_page);
    fault.status_ = status;
    fault.content_type_ = "text/html; charset=utf-8";
    fault.body_ = "<html><head><title>" + std::to_string(status) +
                  " Bad Gateway</title></head><body><center><h1>" + std::to_string(status) +
                  " Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";
    return fault;
  }
  /// A PROTOCOL.md §5 error body. An empty `error_code` or `message` leaves that member
  /// out, so every branch of the client's error mapping can be reached.
  static Fault json_error(int status, std::string_view error_code, std::string_view message,
                          std::string_view link = {}) {
    Fault fault(FaultKind::json_error);
    fault.status_ = status;
    fault.content_type_ = "application/json";
    std::string body = "{";
    auto member = [&body](std::string_view name, std::string_view value) {
      if (value.empty()) return;
      if (body.size() > 1) body += ',';
      body += fault_detail::json_quote(name) + ':' + fault_detail::json_quote(value);
    };
    member("error", message);
    member("error_code", error_code);
    member("link", link);
    body += '}';
    fault.body_ = std::move(body);
    return fault;
  }
  /// 429 Too Many Requests with `Retry-After: <seconds>`.
  static Fault throttle(std::chrono::seconds retry_after) {
    Fault fault(FaultKind::throttle);
    fault.status_ = 429;
    fault.content_type_ = "text/plain; charset=utf-8";
    fault.body_ = "Too Many Requests";
    fault.retry_after_ = retry_after;
    return fault;
  }
  /// A bare status (500, 502, 503...) with a short text/plain body.
  static Fault plain_status(int status) {
    Fault fault(FaultKind::plain_status);
    fault.status_ = status;
    fault.content_type_ = "text/plain; charset=utf-8";
    fault.body_ = "HTTP " + std::to_string(status);
    return fault;
  }
  /// The real status and headers with `body` instead of the real body: malformed JSON,
  /// wrongly typed JSON, `null`, `[]`, or nothing at all.
  static Fault replace_body(std::string body) {
    Fault fault(FaultKind::replace_body);
    fault.body_ = std::move(body);
    return fault;
  }

  ///@{
  /// Only requests with this method.
  Fault& on(HttpMethod method) & {
    method_ = method;
    return *this;
  }
  Fault&& on(HttpMethod method) && { return std::move(on(method)); }
  ///@}
  ///@{
  /// Only requests whose URL contains `text`.
  Fault& url_contains(std::string text) & {
    url_contains_ = std::move(text);
    return *this;
  }
  Fault&& url_contains(std::string text) && { return std::move(url_contains(std::move(text))); }
  ///@}
  ///@{
  /// Only requests whose URL ends with `text` ("/auth/api_keys" is the list, not one key).
  Fault& url_ends_with(std::string text) & {
    url_suffix_ = std::move(text);
    return *this;
  }
  Fault&& url_ends_with(std::string text) && { return std::move(url_ends_with(std::move(text))); }
  ///@}
  ///@{
  /// Hit `count` matching requests (default 1) before leaving the script, e.g. to
  /// outlast a RetryPolicy.
  Fault& times(int count) & {
    remaining_ = count < 1 ? 1 : count;
    return *this;
  }
  Fault&& times(int count) && { return std::move(times(count)); }
  ///@}

  /// What this fault does.
  FaultKind kind() const noexcept { return kind_; }
  /// The status it answers with (0 for kinds that keep the real one or give none).
  int status() const noexcept { return status_; }
  /// Matching requests this fault will still hit.
  int remaining() const noexcept { return remaining_; }
  /// Counts one hit (FaultInjectingTransport calls it).
  void consume_one() noexcept { --remaining_; }

  /// True when `request` passes every restriction (method, URL).
  bool matches(const HttpRequest& request) const {
    if (method_ && *method_ != request.method) return false;
    if (!url_contains_.empty() && request.url.find(url_contains_) == std::string::npos) {
      return false;
    }
    if (!url_suffix_.empty()) {
      const auto& url = request.url;
      if (url.size() < url_suffix_.size() ||
          url.compare(url.size() - url_suffix_.size(), url_suffix_.size(), url_suffix_) != 0) {
        return false;
      }
    }
    return true;
  }

  /// The outcome for a request that `inner` answered with `forwarded` (only used for
  /// forwarding kinds; an inner failure passes through untouched, since nothing
  /// arrived to be damaged).
  Result<HttpResponse> apply(Result<HttpResponse> forwarded) const {
    switch (kind_) {
      case FaultKind::refuse_connection:
        return AppError(errc::connection_failed, "injected fault: connection refused");
      case FaultKind::timeout_before_send:
        return AppError(errc::timeout, "injected fault: timed out before the request was sent");
      case FaultKind::timeout_after_send:
        return AppError(errc::timeout,
                        "injected fault: timed out waiting for the response (the server "
                        "may have processed the request)");
      case FaultKind::reset_mid_response:
        return AppError(errc::transport,
                        "injected fault: connection reset while reading the response");
      case FaultKind::html_error_page:
      case FaultKind::json_error:
      case FaultKind::throttle:
      case FaultKind::plain_status:
        return synthetic_response();
      case FaultKind::truncate_body:
      case FaultKind::oversized_body:
      case FaultKind::wrong_content_type:
      case FaultKind::replace_body:
        break;
    }
    if (!forwarded) return forwarded;
    HttpResponse response = std::move(forwarded).value();
    switch (kind_) {
      case FaultKind::truncate_body:
        if (response.body.size() > bytes_) response.body.resize(bytes_);
        break;
      case FaultKind::oversized_body:
        response.body.assign(bytes_, fill_);
        break;
      case FaultKind::wrong_content_type:
        fault_detail::set_content_type(response.headers, content_type_);
        break;
      case FaultKind::replace_body:
        response.body = body_;
        break;
      default:
        break;
    }
    return response;
  }

 private:
  explicit Fault(FaultKind kind) noexcept : kind_(kind) {}

  HttpResponse synthetic_response() const {
    HttpResponse response{status_, {}, body_};
    fault_detail::set_content_type(response.headers, content_type_);
    if (retry_after_)
      response.headers.emplace("Retry-After", std::to_string(retry_after_->count()));
    return response;
  }

  FaultKind kind_;
  int status_ = 0;
  std::size_t bytes_ = 0;
  char fill_ = 'x';
  std::string body_;
  std::string content_type_;
  std::optional<std::chrono::seconds> retry_after_;
  std::optional<HttpMethod> method_;
  std::string url_contains_;
  std::string url_suffix_;
  int remaining_ = 1;
};

}  // namespace appkeys::testing
