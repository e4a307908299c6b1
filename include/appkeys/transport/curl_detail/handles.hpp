// appkeys — libcurl's process-wide initialisation and owning wrappers for its handles
// and strings, shared by both libcurl transports.
//
// Needs libcurl (7.85 or newer, for CURLOPT_PROTOCOLS_STR).
#pragma once

#include <appkeys/detail/wipe.hpp>

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <string>

#if LIBCURL_VERSION_NUM < 0x075500
#error "appkeys' libcurl transports need libcurl 7.85.0 or newer (CURLOPT_PROTOCOLS_STR)"
#endif

namespace appkeys::curl_detail {

/// libcurl must be initialised once per process before the first handle; a
/// function-local static gives exactly-once, thread-safe initialisation. There is
/// deliberately no matching curl_global_cleanup: other code in the process may still
/// use libcurl, and cleanup at static destruction races with threads still running.
inline CURLcode global_init() noexcept {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

using detail::wipe;  // the library's one wipe (detail/wipe.hpp)

struct CurlFree {
  void operator()(char* text) const noexcept { curl_free(text); }
};
struct UrlFree {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};
struct SlistFree {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using CurlString = std::unique_ptr<char, CurlFree>;
using UrlHandle = std::unique_ptr<CURLU, UrlFree>;
using HeaderList = std::unique_ptr<curl_slist, SlistFree>;

/// Prepends a header line to `list`; false when libcurl could not allocate.
inline bool append_header(HeaderList& list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list.get(), line.c_str());
  if (grown == nullptr) return false;
  (void)list.release();  // curl_slist_append returned the same (now longer) list
  list.reset(grown);
  return true;
}

/// One easy handle and the error buffer libcurl writes into while it runs.
struct Handle {
  CURL* easy = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

}  // namespace appkeys::curl_detail
