// appkeys — libcurl's process-wide initialisation and owning wrappers for its handles
// and strings, shared by both libcurl transports.
//
// Needs libcurl (7.85 or newer, for CURLOPT_PROTOCOLS_STR).
#pragma once

#include <appkeys/detail/wipe.hpp>

#include <curl/curl.h>

#include <cstddef>
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

/// Owns a `T*` that libcurl allocated and frees it with `Free`: what
/// std::unique_ptr<T, Free> does, without its tuple and deleter plumbing, which at -O0
/// emits some thirty functions per type in every program that uses a libcurl transport
/// (this emits one per member used).
///
/// Thread safety: like a unique_ptr; distinct objects are independent.
template <class T, class Free>
class CurlOwned {
 public:
  CurlOwned() noexcept = default;
  explicit CurlOwned(T* pointer) noexcept : pointer_(pointer) {}
  CurlOwned(CurlOwned&& other) noexcept : pointer_(other.release()) {}
  CurlOwned& operator=(CurlOwned&& other) noexcept {
    reset(other.release());
    return *this;
  }
  CurlOwned(const CurlOwned&) = delete;
  CurlOwned& operator=(const CurlOwned&) = delete;
  ~CurlOwned() { reset(); }

  T* get() const noexcept { return pointer_; }
  T* operator->() const noexcept { return pointer_; }
  T& operator*() const noexcept { return *pointer_; }
  explicit operator bool() const noexcept { return pointer_ != nullptr; }
  /// Gives up ownership without freeing.
  T* release() noexcept {
    T* pointer = pointer_;
    pointer_ = nullptr;
    return pointer;
  }
  /// Frees what it owned, if anything, and owns `pointer` instead.
  void reset(T* pointer = nullptr) noexcept {
    T* old = pointer_;
    pointer_ = pointer;
    if (old != nullptr) Free{}(old);
  }

 private:
  T* pointer_ = nullptr;
};
using CurlString = CurlOwned<char, CurlFree>;
using UrlHandle = CurlOwned<CURLU, UrlFree>;
using HeaderList = CurlOwned<curl_slist, SlistFree>;

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

struct HandleDelete {
  void operator()(Handle* handle) const noexcept { delete handle; }
};
/// A pooled Handle's owner (a CurlOwned, for the reason given there).
using OwnedHandle = CurlOwned<Handle, HandleDelete>;

}  // namespace appkeys::curl_detail
