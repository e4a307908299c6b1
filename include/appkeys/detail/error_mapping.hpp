// appkeys — turning a non-2xx response into an AppError (PROTOCOL.md §5), written once.
//
// Compiled only where used: each function below that uses nlohmann/json is a template
// that names the JSON type Json<T> (see detail/json.hpp), so that a translation unit
// that includes this header but never calls it does not instantiate nlohmann/json's
// templates for it. Without that, every program that includes <appkeys/appkeys.hpp>
// pays for all of them.
#pragma once

#include <appkeys/detail/json_reader.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace appkeys::detail {

inline constexpr bool is_success(int status) noexcept { return status >= 200 && status < 300; }

/// Server text is shown to people and written to logs: keep it short and printable.
template <class = void>  // compiled only where used: see detail/dependent.hpp
inline std::string sanitize_server_text(std::string_view text, std::size_t limit = 512) {
  std::string out;
  out.reserve(std::min(text.size(), limit));
  for (char c : text) {
    if (out.size() >= limit) {
      // Cut on a character boundary: drop a trailing partial UTF-8 sequence.
      std::size_t end = out.size();
      while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xC0) == 0x80) --end;
      if (end > 0 && static_cast<unsigned char>(out[end - 1]) >= 0xC0)
        --end;
      else
        end = out.size();
      out.resize(end);
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte < 0x20 || byte == 0x7f ? ' ' : c);
  }
  return out;
}

/// A template only so that it is compiled where a call is made (see detail/dependent.hpp).
template <class V = void>
bool has_json_content_type(const Headers& headers) {
  auto type = header_value<V>(headers, "Content-Type");
  constexpr std::string_view json_type = "application/json";
  return type && type->size() >= json_type.size() &&
         iequals(type->substr(0, json_type.size()), json_type);
}

/// The AppError for a response whose status is not 2xx. `context` names the
/// operation ("create API key") for the message.
///
/// realm-core's mapping: a JSON body with a known `error_code` gives that code; an
/// unknown `error_code` gives app_server_error; a JSON body with only `error` gives
/// app_unknown_error; anything else gives http_error. Status, raw code, message and
/// link are kept on every error.
template <class T = void>
inline AppError error_from_response(const HttpResponse& response, std::string_view context) {
  const int status = response.status;
  std::string prefix(context);
  prefix += " failed: ";
  if (has_json_content_type<T>(response.headers)) {
    static constexpr std::string_view names[] = {"error", "error_code", "link"};
    JsonMember members[std::size(names)];
    JsonMembersReader<T> body({names, members, std::size(members)});
    if (body.read(response.body) && body.top_shape() == JsonMembersReader<T>::Shape::object) {
      const std::string* message = members[0].string();
      const std::string* code = members[1].string();
      const std::string* link = members[2].string();
      std::string link_text = link ? sanitize_server_text(*link, 2048) : std::string();
      if (code != nullptr && !code->empty()) {
        const std::string code_text = sanitize_server_text(*code, 128);
        const errc mapped = errc_from_server_code<T>(*code).value_or(errc::app_server_error);
        std::string text =
            prefix + (message ? sanitize_server_text(*message) : "server error " + code_text);
        return AppError(mapped, std::move(text), status, code_text, std::move(link_text));
      }
      if (message != nullptr) {
        return AppError(errc::app_unknown_error, prefix + sanitize_server_text(*message), status,
                        {}, std::move(link_text));
      }
    }
  }
  return AppError(errc::http_error, prefix + "HTTP status " + std::to_string(status), status);
}

/// A 2xx whose body is ignored (enable, disable, delete, register, log out: PROTOCOL.md
/// §3 and §4), or the error that `response` carries.
template <class = void>
inline Result<void> expect_success(Result<HttpResponse> response, std::string_view context) {
  if (!response) return std::move(response).error();
  if (!is_success(response->status)) return error_from_response(*response, context);
  return {};
}

}  // namespace appkeys::detail
