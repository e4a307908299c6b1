// appkeys — LocalServer's request bodies: read within the backend's limit, or refused
// (413 in the backend's own words, 415 for a form, 400) with the connection closed.
#pragma once

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/server_error_codes.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/testing/local_server_detail.hpp>

#include <httplib.h>

#include <algorithm>
#include <cstddef>
#include <string>

namespace appkeys::testing::local_server_detail {

/// Answers 413 for a body above `body_limit` bytes; `base_url` is the server's, for the
/// error's link.
inline void payload_too_large(httplib::Response& res, std::size_t body_limit,
                              const std::string& base_url) {
  // The backend's own 413, word for word, so the limit reads the same from both layers.
  const std::string link = base_url + "/logs?co_id=" + detail::random_object_id().to_hex();
  res.status = 413;
  res.set_content(detail::dump_json(detail::wire::error_json(
                      "request body exceeds the limit of " + std::to_string(body_limit) + " bytes",
                      detail::server_code_string(errc::read_size_limit_exceeded), link)),
                  "application/json");
}

/// Reads the request body, if it has one, into `body`; false when a response was
/// already set (a body above `body_limit` bytes, a form, a broken body).
inline bool read_body(const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader, std::string& body,
                      std::size_t body_limit, const std::string& base_url) {
  if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) return true;
  if (req.is_multipart_form_data()) {
    // Drained so the connection stays usable; no route of PROTOCOL.md takes forms.
    reader([](const httplib::MultipartFormData&) { return true; },
           [](const char*, std::size_t) { return true; });
    res.status = 415;
    res.set_content("415 unsupported media type", "text/plain; charset=utf-8");
    return false;
  }
  // httplib checks payload_max_length against Content-Length only; a chunked body is
  // bounded here.
  bool too_large = false;
  const bool complete = reader([&](const char* data, std::size_t size) {
    if (size > body_limit - std::min(body_limit, body.size())) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  });
  if (complete) return true;
  if (too_large || res.status == 413) {
    payload_too_large(res, body_limit, base_url);
  } else {
    res.status = 400;
    res.set_content("400 bad request", "text/plain; charset=utf-8");
  }
  close_after_sending(res);
  return false;
}

}  // namespace appkeys::testing::local_server_detail
