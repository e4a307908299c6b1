// appkeys — collecting a response from libcurl's callbacks: the final response's
// headers and the body, each bounded by max_response_bytes.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/http.hpp>

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>

namespace appkeys::curl_detail {

/// What the callbacks of one exchange write into.
struct Exchange {
  HttpResponse response;
  std::size_t max_bytes = 0;
  std::size_t header_bytes = 0;
  // Set once the final (non-1xx) response's header block ended: later header-callback
  // lines are trailers, which are not part of HttpResponse::headers.
  bool final_headers_done = false;
  bool too_large = false;
  bool out_of_memory = false;
};

inline std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

inline void parse_header_line(Exchange& exchange, std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    // A new status line: an interim 1xx, a proxy's CONNECT answer or the final
    // response. Only the last one's headers are kept, so start over.
    exchange.response.headers.clear();
    exchange.final_headers_done = false;
    int status = 0;
    if (auto space = line.find(' '); space != std::string_view::npos) {
      for (std::size_t i = space + 1; i < line.size() && i < space + 4; ++i) {
        if (line[i] < '0' || line[i] > '9') break;
        status = status * 10 + (line[i] - '0');
      }
    }
    exchange.response.status = status;
    return;
  }
  if (exchange.final_headers_done) return;
  if (line.empty()) {
    exchange.final_headers_done = exchange.response.status >= 200;
    return;
  }
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding: the line continues the previous header's value.
    if (!exchange.response.headers.empty()) {
      auto last = std::prev(exchange.response.headers.end());
      last->second += ' ';
      last->second += trim_ows(line);
    }
    return;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return;  // not a header: ignore
  exchange.response.headers.emplace(std::string(line.substr(0, colon)),
                                    std::string(trim_ows(line.substr(colon + 1))));
}

// libcurl is C: an exception must never unwind through it, so the callbacks catch
// everything and report failure by returning a short count instead (which makes
// libcurl abort the transfer with CURLE_WRITE_ERROR).
inline std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  exchange.header_bytes += bytes;
  if (exchange.header_bytes > exchange.max_bytes) {
    exchange.too_large = true;
    return 0;
  }
#if APPKEYS_HAS_EXCEPTIONS
  try {
#endif
    parse_header_line(exchange, std::string_view(data, bytes));
#if APPKEYS_HAS_EXCEPTIONS
  } catch (...) {
    exchange.out_of_memory = true;
    return 0;
  }
#endif
  return bytes;
}

inline std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  std::string& body = exchange.response.body;
  // Enforced here even with CURLOPT_MAXFILESIZE_LARGE set, because that option can
  // only refuse a declared Content-Length; a chunked or close-delimited body has none.
  if (bytes > exchange.max_bytes - body.size()) {
    exchange.too_large = true;
    return 0;
  }
#if APPKEYS_HAS_EXCEPTIONS
  try {
#endif
    body.append(data, bytes);
#if APPKEYS_HAS_EXCEPTIONS
  } catch (...) {
    exchange.out_of_memory = true;
    return 0;
  }
#endif
  return bytes;
}

}  // namespace appkeys::curl_detail
