// ScriptedTransport: a Transport for protocol tests. It records every request it is
// given and answers from a script the test wrote in advance, so a test can assert the
// exact bytes the client sends and feed it any answer, however broken.
//
// Copies share one state (App takes its transport by value), so the test keeps a copy
// and inspects what the App's copy saw.
#pragma once

#if defined(__has_include) && __has_include(<appkeys/concepts.hpp>)
#include <appkeys/concepts.hpp>
#include <appkeys/detail/base64.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#else
// The suite built against the generated single header has no per-concern headers.
#include <appkeys/appkeys.hpp>
#endif

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace appkeys_test {

/// One scripted answer: a response (any status) or a transport failure.
using ScriptStep = std::variant<appkeys::HttpResponse, appkeys::AppError>;

/// Computes an answer from the request; used once the queue of steps is empty.
using ScriptHandler =
    std::function<appkeys::Result<appkeys::HttpResponse>(const appkeys::HttpRequest&)>;

/// Thread safety: every member may be called concurrently, on one object or on copies.
/// The handler runs outside the internal lock, so it may call back into the transport.
class ScriptedTransport {
 public:
  ScriptedTransport() : state_(std::make_shared<State>()) {}

  /// Answers the request: the next queued step if there is one, else the handler,
  /// else errc::transport ("script exhausted"), which a test will notice.
  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest& request) {
    ScriptHandler handler;
    {
      std::lock_guard lock(state_->mutex);
      state_->requests.push_back(request);
      if (!state_->script.empty()) {
        ScriptStep step = std::move(state_->script.front());
        state_->script.pop_front();
        if (auto* response = std::get_if<appkeys::HttpResponse>(&step)) {
          return std::move(*response);
        }
        return std::get<appkeys::AppError>(std::move(step));
      }
      handler = state_->handler;
    }
    if (handler) return handler(request);
    {
      std::lock_guard lock(state_->mutex);
      ++state_->unscripted;
    }
    return appkeys::AppError(appkeys::errc::transport,
                             "ScriptedTransport: script exhausted, no answer for this request");
  }

  /// Queues a response; returns *this so answers can be chained.
  ScriptedTransport& respond(appkeys::HttpResponse response) {
    std::lock_guard lock(state_->mutex);
    state_->script.emplace_back(std::move(response));
    return *this;
  }

  /// Queues a transport failure (the AppError reaches the client as send's error).
  ScriptedTransport& fail(appkeys::AppError error) {
    std::lock_guard lock(state_->mutex);
    state_->script.emplace_back(std::move(error));
    return *this;
  }

  /// Answers every request that finds the queue empty.
  void set_handler(ScriptHandler handler) {
    std::lock_guard lock(state_->mutex);
    state_->handler = std::move(handler);
  }

  /// Every request received so far, in order (copies, so the test may keep them).
  std::vector<appkeys::HttpRequest> requests() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests;
  }

  std::size_t request_count() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests.size();
  }

  /// The i-th request (0-based); nullopt if fewer arrived.
  std::optional<appkeys::HttpRequest> request(std::size_t index) const {
    std::lock_guard lock(state_->mutex);
    if (index >= state_->requests.size()) return std::nullopt;
    return state_->requests[index];
  }

  std::optional<appkeys::HttpRequest> last_request() const {
    std::lock_guard lock(state_->mutex);
    if (state_->requests.empty()) return std::nullopt;
    return state_->requests.back();
  }

  /// How many requests had a URL ending in `suffix`.
  std::size_t count_url_suffix(std::string_view suffix) const {
    std::lock_guard lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& request : state_->requests) {
      const std::string_view url = request.url;
      if (url.size() >= suffix.size() && url.substr(url.size() - suffix.size()) == suffix) ++n;
    }
    return n;
  }

  /// Scripted steps not consumed yet.
  std::size_t pending() const {
    std::lock_guard lock(state_->mutex);
    return state_->script.size();
  }

  /// Requests that found neither a scripted step nor a handler.
  std::size_t unscripted() const {
    std::lock_guard lock(state_->mutex);
    return state_->unscripted;
  }

  /// Forgets the recorded requests (the script and the handler stay).
  void clear_requests() {
    std::lock_guard lock(state_->mutex);
    state_->requests.clear();
  }

  /// Whether two transports share one state.
  bool shares_state_with(const ScriptedTransport& other) const noexcept {
    return state_ == other.state_;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::deque<ScriptStep> script;
    ScriptHandler handler;
    std::vector<appkeys::HttpRequest> requests;
    std::size_t unscripted = 0;
  };

  std::shared_ptr<State> state_;
};

static_assert(appkeys::Transport<ScriptedTransport>);

// ---------------------------------------------------------------------------------
// Responses

/// A response labelled `Content-Type: application/json`.
inline appkeys::HttpResponse json_response(int status, std::string body) {
  appkeys::HttpResponse response;
  response.status = status;
  response.headers.emplace("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

/// 204 No Content, with no Content-Type and no body (PROTOCOL.md §3).
inline appkeys::HttpResponse no_content() {
  appkeys::HttpResponse response;
  response.status = 204;
  return response;
}

/// A response with any Content-Type ("" sends none).
inline appkeys::HttpResponse text_response(int status, std::string body,
                                           std::string_view content_type = "text/plain") {
  appkeys::HttpResponse response;
  response.status = status;
  if (!content_type.empty()) response.headers.emplace("Content-Type", std::string(content_type));
  response.body = std::move(body);
  return response;
}

// ---------------------------------------------------------------------------------
// Tokens

/// Seconds since the Unix epoch, now.
inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A JWT-shaped token (base64url header.payload.signature) whose payload has the given
/// `exp`. `tag` goes into the `sub` claim and the signature, so tokens made with
/// different tags differ. The signature is not a real one: clients treat tokens as
/// opaque except for `exp`.
inline std::string make_jwt(std::int64_t exp, std::string_view tag = "token") {
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  std::string payload = R"({"exp":)";
  payload += std::to_string(exp);
  payload += R"(,"iat":)";
  payload += std::to_string(exp - 1800);
  payload += R"(,"sub":")";
  payload += tag;
  payload += R"("})";
  std::string signature = "signature-of-";
  signature += tag;
  return appkeys::detail::base64url_encode(header) + '.' +
         appkeys::detail::base64url_encode(payload) + '.' +
         appkeys::detail::base64url_encode(signature);
}

/// A JWT whose `exp` is `offset` from now (negative: already expired).
inline std::string make_jwt_expiring_in(std::chrono::seconds offset,
                                        std::string_view tag = "token") {
  return make_jwt(unix_now() + offset.count(), tag);
}

}  // namespace appkeys_test
