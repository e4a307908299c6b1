// appkeys — the protocol's addresses (PROTOCOL.md §1, §3, §4), written once for the
// client's request builders and the fake backend's router.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace appkeys::detail::routes {

inline constexpr std::string_view api_root = "/api/client/v2.0";

// Path pieces, so the server can match what the client builds.
inline constexpr std::string_view app_segment = "/app/";
inline constexpr std::string_view location_suffix = "/location";
inline constexpr std::string_view providers_segment = "/auth/providers/";
inline constexpr std::string_view login_suffix = "/login";
inline constexpr std::string_view register_suffix = "/register";
inline constexpr std::string_view enable_suffix = "/enable";
inline constexpr std::string_view disable_suffix = "/disable";

template <class = void>  // compiled only where used: see detail/dependent.hpp
inline std::string join(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (auto part : parts) size += part.size();
  std::string out;
  out.reserve(size);  // one allocation, instead of one per growth
  for (auto part : parts) out += part;
  return out;
}

inline std::string location(std::string_view app_id) {
  return join({api_root, app_segment, app_id, location_suffix});
}
inline std::string login(std::string_view app_id, std::string_view provider) {
  return join({api_root, app_segment, app_id, providers_segment, provider, login_suffix});
}
inline std::string register_email(std::string_view app_id) {
  return join(
      {api_root, app_segment, app_id, providers_segment, "local-userpass", register_suffix});
}
inline std::string profile() { return join({api_root, "/auth/profile"}); }
inline std::string session() { return join({api_root, "/auth/session"}); }
inline std::string api_keys() { return join({api_root, "/auth/api_keys"}); }
inline std::string api_key(std::string_view id_hex) {
  return join({api_root, "/auth/api_keys/", id_hex});
}
inline std::string api_key_enable(std::string_view id_hex) {
  return join({api_root, "/auth/api_keys/", id_hex, enable_suffix});
}
inline std::string api_key_disable(std::string_view id_hex) {
  return join({api_root, "/auth/api_keys/", id_hex, disable_suffix});
}

}  // namespace appkeys::detail::routes
