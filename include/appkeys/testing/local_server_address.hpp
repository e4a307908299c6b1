// appkeys — LocalServer's addresses: the host its URLs name for the address it listens
// on, and the host a request's Host header says the client dialled.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>

namespace appkeys::testing::local_server_detail {

/// True for an address that listens on every interface ("0.0.0.0", "::", or none).
inline bool is_wildcard(const std::string& address) {
  return address == "0.0.0.0" || address == "::" || address.empty();
}

/// The host that URLs name for a server listening on `address`: an IPv6 address is
/// bracketed, and a wildcard one is named by its loopback.
inline std::string url_host(const std::string& address) {
  // A wildcard address is not one a client can dial: name the loopback instead.
  if (address == "0.0.0.0" || address.empty()) return "127.0.0.1";
  if (address == "::") return "[::1]";
  if (address.find(':') != std::string::npos) return '[' + address + ']';
  return address;
}

/// The host of the request's Host header without its port; "" when the header is
/// missing or holds anything but the characters of a host name or address.
inline std::string host_header_host(const httplib::Request& req) {
  std::string host = req.get_header_value("Host");
  if (!host.empty()) {
    // Drop the client's port: the URL appends ours.
    const std::size_t bracket = host.rfind(']');
    const std::size_t colon = host.rfind(':');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
      host.erase(colon);
    }
    const bool safe = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
             c == '[' || c == ']' || c == ':';
    });
    if (safe && !host.empty()) return host;
  }
  return {};
}

}  // namespace appkeys::testing::local_server_detail
