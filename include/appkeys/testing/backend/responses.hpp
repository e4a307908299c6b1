// appkeys — the HTTP answers the server rules give (PROTOCOL.md §3, §5).
#pragma once

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/server_error_codes.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace appkeys::testing::backend::responses {

/// A JSON answer, labelled as such.
inline HttpResponse json_response(int status, const detail::json& body) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace("Content-Type", "application/json");
  response.body = detail::dump_json(body);
  return response;
}

/// 204 with no Content-Type: an empty body labelled JSON breaks the official Web SDK (§3).
inline HttpResponse no_content() {
  HttpResponse response;
  response.status = 204;
  return response;
}

/// A plain-text answer (Go's 404 and 405 pages, as the hosted service sent).
inline HttpResponse plain_text(int status, std::string text) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace("Content-Type", "text/plain; charset=utf-8");
  response.body = std::move(text);
  return response;
}

/// A JSON error `{"error","error_code","link"}`; `origin` starts the link.
inline HttpResponse error(std::string_view origin, int status, std::string_view code,
                          std::string_view message) {
  // A fresh correlation id per error, as the hosted service's log links had.
  std::string link(origin);
  link += "/logs?co_id=";
  link += detail::random_object_id().to_hex();
  return json_response(status, detail::wire::error_json(message, code, link));
}

/// As above, with the code's protocol string.
inline HttpResponse error(std::string_view origin, int status, errc code,
                          std::string_view message) {
  return error(origin, status, detail::server_code_string(code), message);
}

}  // namespace appkeys::testing::backend::responses
