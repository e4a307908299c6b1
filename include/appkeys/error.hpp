// appkeys — errc, its std::error_category, and AppError.
#pragma once

#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/server_error_codes.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace appkeys {

namespace detail {
/// Each code's position in its list, which fixes its value in errc.
enum class client_code_index : int {
#define APPKEYS_X_INDEX(name, text) name,
  APPKEYS_CLIENT_ERROR_CODES(APPKEYS_X_INDEX)
};
enum class server_code_index : int { APPKEYS_SERVER_ERROR_CODES(APPKEYS_X_INDEX) };
#undef APPKEYS_X_INDEX
/// How many server codes there are.
#define APPKEYS_X_COUNT(name, text) +1
inline constexpr int server_code_count = 0 APPKEYS_SERVER_ERROR_CODES(APPKEYS_X_COUNT);
#undef APPKEYS_X_COUNT
/// The value of the first server code in errc.
inline constexpr int first_server_code = 101;
}  // namespace detail

/// Every way an appkeys call can fail: first the client-side codes, then one
/// enumerator per server `error_code` string of PROTOCOL.md §5, named in snake_case
/// (`APIKeyNotFound` → `api_key_not_found`). Value 0 is reserved for "no error", as
/// std::error_code requires, and has no enumerator (`errc{}` is it); client codes are
/// numbered from 1, server codes from 101.
enum class errc : int {
// Client side, from 1.
#define APPKEYS_X_ENUM(name, text) name = 1 + static_cast<int>(detail::client_code_index::name),
  APPKEYS_CLIENT_ERROR_CODES(APPKEYS_X_ENUM)
#undef APPKEYS_X_ENUM
// Server side (PROTOCOL.md §5), from 101.
#define APPKEYS_X_ENUM(name, text) \
  name = detail::first_server_code + static_cast<int>(detail::server_code_index::name),
      APPKEYS_SERVER_ERROR_CODES(APPKEYS_X_ENUM)
#undef APPKEYS_X_ENUM
};

namespace detail {

/// The server's spelling of a server code ("APIKeyNotFound"), or "" for client codes.
constexpr std::string_view server_code_string(errc code) noexcept {
  switch (code) {
#define APPKEYS_X_CASE(name, text) \
  case errc::name:                 \
    return text;
    APPKEYS_SERVER_ERROR_CODES(APPKEYS_X_CASE)
#undef APPKEYS_X_CASE
    default:
      return {};
  }
}

/// The errc for a server `error_code` string, or nullopt if the string is unknown. A
/// template only so that it is compiled where a call is made (see detail/dependent.hpp).
///
/// A loop over the server codes (numbered consecutively from 101, see errc) rather than
/// one comparison per code written out: at -O0 that was 7 KB of machine code in every
/// program that maps an error.
template <class V = void>
constexpr std::optional<detail::dependent_t<V, errc>> errc_from_server_code(
    std::string_view text) noexcept {
  for (int value = first_server_code; value < first_server_code + server_code_count; ++value) {
    const auto code = static_cast<errc>(value);
    if (server_code_string(code) == text) return code;
  }
  return std::nullopt;
}

/// The enumerator's own name ("api_key_not_found"), used in messages and logs.
constexpr std::string_view errc_name(errc code) noexcept {
  switch (code) {
#define APPKEYS_X_NAME(name, text) \
  case errc::name:                 \
    return #name;
    APPKEYS_CLIENT_ERROR_CODES(APPKEYS_X_NAME)
    APPKEYS_SERVER_ERROR_CODES(APPKEYS_X_NAME)
#undef APPKEYS_X_NAME
    default:
      return "unknown";
  }
}

class ErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "appkeys"; }
  std::string message(int value) const override {
    const auto code = static_cast<errc>(value);
    switch (code) {
#define APPKEYS_X_CLIENT(name, text) \
  case errc::name:                   \
    return text;
      APPKEYS_CLIENT_ERROR_CODES(APPKEYS_X_CLIENT)
#undef APPKEYS_X_CLIENT
      default:
        break;
    }
    if (auto server = server_code_string(code); !server.empty()) {
      return "server error " + std::string(server);
    }
    return "unknown appkeys error " + std::to_string(value);
  }
};

}  // namespace detail

/// The category of every appkeys error_code.
/// Thread safety: the returned object is immutable and shared.
///
/// It is never destroyed: an error made while the process exits (a transport's thread
/// completing a call with errc::shutting_down during static destruction) must still
/// find its category alive.
inline const std::error_category& app_category() noexcept {
  static const detail::ErrorCategory& category = *new detail::ErrorCategory();
  return category;
}

inline std::error_code make_error_code(errc code) noexcept {
  return {static_cast<int>(code), app_category()};
}

/// A failed appkeys call: the errc, the HTTP status (0 when no response arrived), the
/// server's raw `error_code` string, its message and its `link`.
///
/// Messages are written by the library or copied from the server's `error` field; the
/// library never puts a key value, password or token in one.
///
/// Thread safety: immutable after construction; safe to share between threads.
class AppError : public std::system_error {
 public:
  /// An error with `code`; `message` must hold no secret. `http_status`, `server_code`
  /// and `link` are what the server answered, when it did.
  AppError(errc code, std::string message, int http_status = 0, std::string server_code = {},
           std::string link = {})
      : std::system_error(make_error_code(code), message),
        message_(std::move(message)),
        server_code_(std::move(server_code)),
        link_(std::move(link)),
        http_status_(http_status),
        what_(compose_what()) {}

  /// The errc as an enum, for switch statements.
  errc value() const noexcept { return static_cast<errc>(code().value()); }
  /// 0 when the failure happened before a response arrived.
  int http_status() const noexcept { return http_status_; }
  /// The server's `error_code` string as received ("" when there was none).
  const std::string& server_code() const noexcept { return server_code_; }
  /// The server's `link` to its logs ("" when there was none).
  const std::string& link() const noexcept { return link_; }
  /// The message alone, without the code and status that what() adds.
  const std::string& message() const noexcept { return message_; }

  /// The message, then the errc name, the server code and the HTTP status in brackets.
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string compose_what() const {
    std::string text = message_.empty() ? code().message() : message_;
    text += " [appkeys::errc::";
    text += detail::errc_name(value());
    if (!server_code_.empty()) {
      text += ", server code ";
      text += server_code_;
    }
    if (http_status_ != 0) {
      text += ", HTTP ";
      text += std::to_string(http_status_);
    }
    text += ']';
    return text;
  }

  std::string message_;
  std::string server_code_;
  std::string link_;
  int http_status_;
  std::string what_;
};

}  // namespace appkeys

/// Makes `e.code() == appkeys::errc::api_key_not_found` compile: errc converts to
/// std::error_code (through appkeys::make_error_code).
///
/// Thread safety: a compile-time trait; it has no state.
template <>
struct std::is_error_code_enum<appkeys::errc> : std::true_type {};
