// Raw protocol requests to a running server, for the server suite's tests: the exact
// requests an SDK sends, through HttplibTransport.
#pragma once

#include <appkeys/appkeys.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/transport/httplib.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace appkeys_test {

/// One client connection pool to `base_url`.
///
/// Thread safety: one thread at a time (make one per thread).
class RawClient {
 public:
  explicit RawClient(std::string base_url) : base_url_(std::move(base_url)) {}

  /// The answer, or a response with status 0 when the request could not be sent.
  appkeys::HttpResponse send(appkeys::HttpMethod method, const std::string& path,
                             const std::string& body = {}, const std::string& bearer = {}) {
    appkeys::HttpRequest request;
    request.method = method;
    request.url = base_url_ + path;
    request.headers.emplace("Accept", "application/json");
    if (!body.empty()) request.headers.emplace("Content-Type", "application/json");
    if (!bearer.empty()) request.headers.emplace("Authorization", "Bearer " + bearer);
    request.body = body;
    auto result = transport_.send(request);
    return result ? std::move(result).value() : appkeys::HttpResponse{};
  }

  /// Logs in; the response body as JSON (null on failure).
  nlohmann::json login(const std::string& provider, nlohmann::json credentials) {
    auto response = send(appkeys::HttpMethod::post, appkeys::detail::routes::login("app", provider),
                         credentials.dump());
    if (response.status != 200) return nullptr;
    return nlohmann::json::parse(response.body);
  }

  /// POST api_keys {"name": name} with `refresh`.
  appkeys::HttpResponse create_key(const std::string& refresh, const std::string& name) {
    return send(appkeys::HttpMethod::post, appkeys::detail::routes::api_keys(),
                nlohmann::json{{"name", name}}.dump(), refresh);
  }

 private:
  std::string base_url_;
  appkeys::HttplibTransport transport_;
};

/// The error_code of a JSON error body ("" when there is none).
inline std::string error_code_of(const appkeys::HttpResponse& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object()) return {};
  return body.value("error_code", "");
}

}  // namespace appkeys_test
