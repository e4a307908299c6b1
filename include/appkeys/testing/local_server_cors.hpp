// appkeys — LocalServer's CORS: what lets a web page of another origin call the server.
#pragma once

#include <httplib.h>

#include <string>
#include <vector>

namespace appkeys::testing::local_server_detail {

/// The origin to name in Access-Control-Allow-Origin for `req`: its Origin header when
/// `allowed` lists it (or holds "*"), else "" (no CORS headers at all). Browsers send
/// Origin on cross-origin calls; other clients need none of this.
inline std::string cors_origin(const std::vector<std::string>& allowed,
                               const httplib::Request& req) {
  if (allowed.empty()) return {};
  std::string origin = req.get_header_value("Origin");
  if (origin.empty()) return {};
  for (const auto& entry : allowed) {
    if (entry == "*" || entry == origin) return origin;
  }
  return {};
}

/// Marks `res` readable by a page of `origin`. The answer depends on the request's
/// Origin, hence Vary, so a cache never hands one origin's answer to another.
inline void add_cors_headers(httplib::Response& res, const std::string& origin) {
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Vary", "Origin");
}

/// The answer to a browser's preflight (OPTIONS with Access-Control-Request-Method):
/// 204, the methods and headers of PROTOCOL.md (no cookies: the SDKs' bearer tokens
/// travel in Authorization), cached by the browser for a day.
inline void answer_preflight(httplib::Response& res, const std::string& origin) {
  res.status = 204;
  add_cors_headers(res, origin);
  res.set_header("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE");
  res.set_header("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type");
  res.set_header("Access-Control-Max-Age", "86400");
}

}  // namespace appkeys::testing::local_server_detail
