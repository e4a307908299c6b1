// appkeys — CurlTransport: a Transport over libcurl's easy interface, with a pool of
// kept-alive handles.
//
// Needs libcurl (7.85 or newer, for CURLOPT_PROTOCOLS_STR): link with `-lcurl`, or
// `pkg-config --libs libcurl`.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/secret.hpp>

#include <curl/curl.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if LIBCURL_VERSION_NUM < 0x075500
#error "appkeys/transport/curl.hpp needs libcurl 7.85.0 or newer (CURLOPT_PROTOCOLS_STR)"
#endif

namespace appkeys {

/// How a CurlTransport connects. An aggregate with safe defaults, so
/// `CurlTransport{{.ca_file = "/etc/my-ca.pem"}}` changes only what it names. (Every
/// member has a default member initializer, even the empty strings, so that GCC's
/// -Wmissing-field-initializers stays quiet about designated initializers.)
///
/// Thread safety: a value type; CurlTransport keeps its own copy.
struct CurlTransportOptions {
  /// Bound on establishing one connection (TCP + TLS handshake). The request's own
  /// timeout still bounds the whole exchange; libcurl uses the smaller of the two.
  /// Zero or negative leaves only the request's timeout.
  std::chrono::milliseconds connect_timeout{10'000};
  /// How many requests may be in flight at once, and so how many easy handles (each
  /// keeping its own kept-alive connections) the transport owns. Further concurrent
  /// send() calls wait for a free handle; that wait counts against their timeout.
  /// 0 is treated as 1.
  std::size_t max_connections = 8;
  /// PEM file of CA certificates to trust instead of the system's bundle.
  std::string ca_file{};
  /// Directory of hashed CA certificates (c_rehash) to trust instead of the system's.
  std::string ca_dir{};
  /// Turns OFF verification of the server's certificate chain AND of its host name
  /// (for the server and for an HTTPS proxy). Anyone on the path can then read and
  /// change the traffic, tokens and key values included. For tests against
  /// self-signed servers only; prefer ca_file.
  bool danger_accept_invalid_certificates = false;
  /// Allow plain http:// to hosts other than loopback (127.0.0.0/8, [::1],
  /// localhost). Off, such a request fails with errc::insecure_transport before any
  /// I/O, because every request but one carries a password, a token or a key.
  bool allow_insecure_http = false;
  /// Proxy URL ("http://proxy:3128", "https://...", "socks5h://..."); empty for none.
  std::string proxy{};
  /// User name for the proxy's authentication; empty: none.
  std::string proxy_username{};
  /// Password for the proxy's authentication.
  Secret proxy_password{};
  /// When true, an empty `proxy` lets libcurl read http_proxy / https_proxy /
  /// all_proxy / no_proxy from the environment. Off by default so that a process's
  /// environment cannot silently route credentials through a proxy.
  bool use_environment_proxy = false;
  /// Largest response body accepted (and, separately, the largest total size of the
  /// response headers); a larger response fails with errc::response_too_large.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
};

namespace curl_detail {

/// libcurl must be initialised once per process before the first handle; a
/// function-local static gives exactly-once, thread-safe initialisation. There is
/// deliberately no matching curl_global_cleanup: other code in the process may still
/// use libcurl, and cleanup at static destruction races with threads still running.
inline CURLcode global_init() noexcept {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

/// True for hosts whose traffic never leaves the machine. Deliberately strict (fail
/// closed): anything not recognised here is treated as remote.
inline bool is_loopback_host(std::string_view host) {
  if (detail::iequals(host, "localhost")) return true;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::string inner(host.substr(1, host.size() - 2));
    if (auto zone = inner.find('%'); zone != std::string::npos) inner.resize(zone);
    in6_addr address{};
    if (inet_pton(AF_INET6, inner.c_str(), &address) != 1) return false;
    return std::memcmp(&address, &in6addr_loopback, sizeof address) == 0;
  }
  // inet_pton(AF_INET) accepts only the four-decimal-parts form, which is what
  // libcurl's URL parser normalises every IPv4 spelling ("127.1", "0x7f.1") into.
  const std::string text(host);
  in_addr address{};
  if (inet_pton(AF_INET, text.c_str(), &address) != 1) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&address.s_addr);
  return bytes[0] == 127;
}

/// The errc for a libcurl failure (other than the ones the callbacks explain).
inline errc errc_for(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return errc::connection_failed;
    case CURLE_OPERATION_TIMEDOUT:
      return errc::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return errc::tls;
    case CURLE_FILESIZE_EXCEEDED:
      return errc::response_too_large;
    default:
      // PARTIAL_FILE, RECV_ERROR, SEND_ERROR, GOT_NOTHING, WEIRD_SERVER_REPLY,
      // HTTP2, PROXY, OUT_OF_MEMORY, ...: the exchange broke after it started.
      return errc::transport;
  }
}

/// A header name is an RFC 9110 token; anything else could split or forge lines.
inline bool is_header_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    const bool token = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!token) return false;
  }
  return true;
}

/// CR, LF or NUL in a value would end the header line early (header injection).
inline bool is_header_value(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

/// Overwrites a std::string holding a secret before it is released. Volatile writes
/// cannot be dropped as dead stores.
inline void wipe(std::string& text) noexcept {
  volatile char* bytes = text.data();
  for (std::size_t i = 0; i < text.size(); ++i) bytes[i] = 0;
  text.clear();
}

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

/// Everything the copies of one CurlTransport share: options, the CURLSH and the pool.
class State {
 public:
  explicit State(CurlTransportOptions options) : options_(std::move(options)) {
    if (options_.max_connections == 0) options_.max_connections = 1;
    init_code_ = global_init();
    if (init_code_ != CURLE_OK) return;
    share_ = curl_share_init();
    if (share_ == nullptr) return;
    // Only DNS answers are shared between the handles. Not shared, on purpose:
    // - connections: libcurl documents sharing its connection cache between
    //   concurrently running threads as unsupported, so each handle keeps its own
    //   kept-alive connections;
    // - TLS sessions: with OpenSSL, this libcurl hands one SSL_SESSION object to
    //   handles running in different threads, and OpenSSL copies and changes it while
    //   a handshake runs (TLS 1.3 session tickets) outside the share's lock. That is a
    //   data race (ThreadSanitizer found it in this library's tests; see curl/curl
    //   PR 14751 and openssl/openssl issue 24629). Each handle still resumes its own
    //   sessions, so reconnections stay cheap.
    bool ok =
        curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &State::lock) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &State::unlock) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_USERDATA, static_cast<void*>(this)) == CURLSHE_OK &&
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK;
    if (!ok) {
      curl_share_cleanup(share_);
      share_ = nullptr;
    }
  }

  State(const State&) = delete;
  State& operator=(const State&) = delete;

  ~State() {
    // Handles first: a share cannot be cleaned up while handles still use it.
    idle_.clear();
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  const CurlTransportOptions& options() const noexcept { return options_; }
  CURLcode init_code() const noexcept { return init_code_; }
  CURLSH* share() const noexcept { return share_; }

  /// Waits until a handle is free (or may be created) or `deadline` passes.
  /// Returns nullptr on timeout; sets `failed` when a handle could not be created.
  std::unique_ptr<Handle> acquire(std::chrono::steady_clock::time_point deadline, bool& failed) {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    const bool ready = pool_ready_.wait_until(
        lock, deadline, [this] { return !idle_.empty() || created_ < options_.max_connections; });
    if (!ready) return nullptr;
    if (!idle_.empty()) {
      // Last in, first out: the most recently used handle most likely still has a
      // live connection to the server.
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
    ++created_;
    lock.unlock();
    auto handle = std::make_unique<Handle>();
    handle->easy = curl_easy_init();
    if (handle->easy == nullptr) {
      lock.lock();
      --created_;
      lock.unlock();
      pool_ready_.notify_one();
      failed = true;
      return nullptr;
    }
    return handle;
  }

  void release(std::unique_ptr<Handle> handle) {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      idle_.push_back(std::move(handle));
    }
    pool_ready_.notify_one();
  }

 private:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    auto* self = static_cast<State*>(user);
    self->share_locks_[slot(data)].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    auto* self = static_cast<State*>(user);
    self->share_locks_[slot(data)].unlock();
  }
  static std::size_t slot(curl_lock_data data) noexcept {
    const auto index = static_cast<std::size_t>(data);
    return index < static_cast<std::size_t>(CURL_LOCK_DATA_LAST) ? index : 0;
  }

  CurlTransportOptions options_;
  CURLcode init_code_ = CURLE_FAILED_INIT;
  // One mutex per kind of data libcurl may lock (the DNS cache and the share's own
  // bookkeeping are used), indexed by curl_lock_data, as libcurl's documentation asks.
  std::array<std::mutex, static_cast<std::size_t>(CURL_LOCK_DATA_LAST)> share_locks_;
  CURLSH* share_ = nullptr;

  std::mutex pool_mutex_;
  std::condition_variable pool_ready_;
  std::vector<std::unique_ptr<Handle>> idle_;
  std::size_t created_ = 0;
};

/// Gives a handle back to the pool on every path out of send().
class Lease {
 public:
  Lease(State& state, std::unique_ptr<Handle> handle)
      : state_(&state), handle_(std::move(handle)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    if (!handle_) return;
    // Forget the request's options before the handle goes back: they point into
    // buffers (URL, headers, body, callbacks' data) that die with send(). The reset
    // keeps the handle's connections and caches.
    curl_easy_reset(handle_->easy);
    state_->release(std::move(handle_));
  }
  Handle& operator*() const noexcept { return *handle_; }
  Handle* operator->() const noexcept { return handle_.get(); }

 private:
  State* state_;
  std::unique_ptr<Handle> handle_;
};

/// "scheme://host[:port]" of a parsed URL: enough to say where a failure happened,
/// without the user info, path or query (which could hold something private).
inline std::string origin_of(CURLU* url) {
  std::string origin;
  char* part = nullptr;
  if (curl_url_get(url, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
    CurlString scheme(part);
    origin += scheme.get();
    origin += "://";
  }
  part = nullptr;
  if (curl_url_get(url, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    CurlString host(part);
    origin += host.get();
  }
  part = nullptr;
  if (curl_url_get(url, CURLUPART_PORT, &part, 0) == CURLUE_OK) {
    CurlString port(part);
    origin += ':';
    origin += port.get();
  }
  return origin;
}

/// Removes every occurrence of `secret` from `text` (defence in depth: libcurl's
/// messages do not contain headers, bodies or proxy passwords, and must never leak
/// one even if a future libcurl starts to).
inline void redact(std::string& text, std::string_view secret) {
  if (secret.size() < 4) return;  // too short to matter, and would mangle the message
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), Secret::redacted);
    at += Secret::redacted.size();
  }
}

inline AppError out_of_memory() {
  return AppError(errc::transport, "CurlTransport: out of memory");
}

/// A request URL as libcurl's own parser understood it. The transfer uses this very
/// parse (CURLOPT_CURLU), so the host the checks saw is the host contacted.
struct Target {
  UrlHandle url;
};

inline Result<Target> parse_target(const std::string& text, const CurlTransportOptions& options) {
  if (text.find('\0') != std::string::npos) {
    return AppError(errc::invalid_argument, "CurlTransport: the request URL contains a NUL byte");
  }
  Target target{UrlHandle(curl_url())};
  if (!target.url) return out_of_memory();
  // Flags 0: a scheme is required (no guessing), spaces and control bytes are refused.
  if (curl_url_set(target.url.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return AppError(errc::invalid_argument,
                    "CurlTransport: the request URL is not an absolute http(s) URL");
  }
  std::string scheme;
  std::string host;
  char* part = nullptr;
  if (curl_url_get(target.url.get(), CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
    scheme = CurlString(part).get();
  }
  part = nullptr;
  if (curl_url_get(target.url.get(), CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    host = CurlString(part).get();
  }
  if (detail::iequals(scheme, "http")) {
    if (!options.allow_insecure_http && !is_loopback_host(host)) {
      return AppError(errc::insecure_transport,
                      "CurlTransport: refusing plain http:// to non-loopback host " + host +
                          " (use https://, or set allow_insecure_http)");
    }
  } else if (!detail::iequals(scheme, "https")) {
    return AppError(errc::invalid_argument,
                    "CurlTransport: unsupported URL scheme '" + scheme + "' (http, https)");
  }
  // libcurl would turn user info in the URL into an Authorization: Basic header the
  // request never asked for; the protocol carries credentials in headers and bodies.
  for (CURLUPart piece : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS}) {
    part = nullptr;
    if (curl_url_get(target.url.get(), piece, &part, 0) == CURLUE_OK) {
      CurlString discard(part);
      return AppError(errc::invalid_argument,
                      "CurlTransport: the request URL carries user info (user:password@), "
                      "which is not sent");
    }
  }
  // The origin (for messages) is read back from the URL only when a request fails:
  // three curl_url_get calls and their allocations, on every request, otherwise.
  return target;
}

/// The request's headers as libcurl wants them, plus the values to keep out of
/// messages.
struct RequestHeaders {
  HeaderList list;
  std::vector<std::string_view> secrets;
};

inline Result<RequestHeaders> build_headers(const HttpRequest& request, bool sends_body) {
  RequestHeaders out;
  bool has_content_type = false;
  bool has_expect = false;
  bool has_accept = false;
  for (const auto& [name, value] : request.headers) {
    if (!is_header_name(name) || !is_header_value(value)) {
      return AppError(errc::invalid_argument,
                      "CurlTransport: a request header has a name or value that would break "
                      "the request's framing (CR, LF, NUL or a non-token name)");
    }
    has_content_type = has_content_type || detail::iequals(name, "Content-Type");
    has_expect = has_expect || detail::iequals(name, "Expect");
    has_accept = has_accept || detail::iequals(name, "Accept");
    if (detail::iequals(name, "Authorization") || detail::iequals(name, "Proxy-Authorization") ||
        detail::iequals(name, "Cookie")) {
      const std::string_view text(value);
      out.secrets.push_back(text);
      if (auto space = text.find(' '); space != std::string_view::npos) {
        out.secrets.push_back(text.substr(space + 1));  // the token without "Bearer "
      }
    }
    // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would
    // remove the header instead).
    if (!append_header(out.list, value.empty() ? name + ";" : name + ": " + value)) {
      return out_of_memory();
    }
  }
  // libcurl adds headers of its own unless told not to; "Name:" removes one:
  // - a body sent through the POST machinery gets x-www-form-urlencoded;
  // - a large body gets "Expect: 100-continue", costing a round trip (or a 1 s stall
  //   against servers that never answer 100);
  // - every request gets "Accept: */*".
  if (sends_body && !has_content_type && !append_header(out.list, "Content-Type:")) {
    return out_of_memory();
  }
  if (!has_expect && !append_header(out.list, "Expect:")) return out_of_memory();
  if (!has_accept && !append_header(out.list, "Accept:")) return out_of_memory();
  return out;
}

/// Sets every option of one exchange on a handle that curl_easy_reset cleared. The
/// pointers given to libcurl (URL, headers, body, exchange) must outlive the perform.
inline CURLcode configure(Handle& handle, CURLSH* share, const CurlTransportOptions& options,
                          const HttpRequest& request, bool sends_body, Target& target,
                          RequestHeaders& headers, Exchange& exchange,
                          std::chrono::milliseconds remaining) {
  CURL* easy = handle.easy;
  CURLcode result = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (result == CURLE_OK) result = curl_easy_setopt(easy, option, value);
  };
  constexpr long on = 1L;
  constexpr long off = 0L;

  // The share (a pointer kept outside the options) survives curl_easy_reset; setting
  // it again is a cheap detach and re-attach that keeps this function self-contained.
  set(CURLOPT_SHARE, share);
  handle.error[0] = '\0';
  set(CURLOPT_ERRORBUFFER, handle.error);
  set(CURLOPT_CURLU, target.url.get());
  // No SIGALRM-based DNS timeouts: signals are process-wide and unsafe with threads.
  set(CURLOPT_NOSIGNAL, on);
  set(CURLOPT_FOLLOWLOCATION, off);
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_HTTP09_ALLOWED, off);
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
  if (options.connect_timeout.count() > 0) {
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  }
  // Kept-alive connections sit idle between requests; keepalive probes find the ones
  // a NAT or firewall dropped silently.
  set(CURLOPT_TCP_KEEPALIVE, on);
  // A proxy's "200 Connection established" is not the server's response.
  set(CURLOPT_SUPPRESS_CONNECT_HEADERS, on);

  set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  const long verify_peer = options.danger_accept_invalid_certificates ? off : on;
  const long verify_host = options.danger_accept_invalid_certificates ? 0L : 2L;
  set(CURLOPT_SSL_VERIFYPEER, verify_peer);
  set(CURLOPT_SSL_VERIFYHOST, verify_host);
  set(CURLOPT_PROXY_SSL_VERIFYPEER, verify_peer);
  set(CURLOPT_PROXY_SSL_VERIFYHOST, verify_host);
  if (!options.ca_file.empty()) {
    set(CURLOPT_CAINFO, options.ca_file.c_str());
    set(CURLOPT_PROXY_CAINFO, options.ca_file.c_str());
  }
  if (!options.ca_dir.empty()) {
    set(CURLOPT_CAPATH, options.ca_dir.c_str());
    set(CURLOPT_PROXY_CAPATH, options.ca_dir.c_str());
  }

  if (!options.proxy.empty()) {
    set(CURLOPT_PROXY, options.proxy.c_str());
    // The environment's no_proxy would otherwise still apply to an explicit proxy.
    if (!options.use_environment_proxy) set(CURLOPT_NOPROXY, "");
    if (!options.proxy_username.empty()) {
      set(CURLOPT_PROXYUSERNAME, options.proxy_username.c_str());
    }
    if (!options.proxy_password.empty()) {
      // libcurl wants a NUL-terminated string and keeps a copy; wipe ours at once.
      std::string password(options.proxy_password.reveal());
      set(CURLOPT_PROXYPASSWORD, password.c_str());
      wipe(password);
    }
  } else if (!options.use_environment_proxy) {
    // An empty string, set explicitly, is libcurl's "no proxy, whatever the
    // environment says"; leaving the option unset would read http_proxy & co.
    set(CURLOPT_PROXY, "");
  }

  if (sends_body) {
    set(CURLOPT_POST, on);
    // An explicit size: the body may hold NUL bytes, and libcurl would strlen() it.
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    // Never null, even for an empty body: with POST and no POSTFIELDS libcurl reads
    // the body through the read callback, which defaults to reading stdin.
    set(CURLOPT_POSTFIELDS, static_cast<const void*>(request.body.data()));
  } else {
    set(CURLOPT_HTTPGET, on);
  }
  if (request.method != HttpMethod::get && request.method != HttpMethod::post) {
    // to_string returns a view of a string literal, so data() is NUL-terminated;
    // libcurl copies it anyway.
    set(CURLOPT_CUSTOMREQUEST, to_string(request.method).data());
  }
  set(CURLOPT_HTTPHEADER, headers.list.get());

  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&exchange));
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&exchange));
  // Refuses a declared Content-Length over the limit before reading any of the body.
  const auto max_off = static_cast<std::size_t>(std::numeric_limits<curl_off_t>::max());
  set(CURLOPT_MAXFILESIZE_LARGE,
      static_cast<curl_off_t>(std::min(options.max_response_bytes, max_off)));
  return result;
}

/// The AppError for a failed perform: the errc, and a message from libcurl's error
/// buffer with the method and origin, scrubbed of anything secret.
inline AppError failure(CURLcode code, const Exchange& exchange, const Handle& handle,
                        const HttpRequest& request, const Target& target,
                        const RequestHeaders& headers, const CurlTransportOptions& options) {
  errc error = errc_for(code);
  std::string what;
  if (exchange.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    error = errc::response_too_large;
    what = "the response exceeds max_response_bytes (" +
           std::to_string(options.max_response_bytes) + ")";
  } else if (exchange.out_of_memory) {
    error = errc::transport;
    what = "out of memory while reading the response";
  } else {
    what =
        handle.error[0] != '\0' ? std::string(handle.error) : std::string(curl_easy_strerror(code));
    while (!what.empty() && (what.back() == '\n' || what.back() == '\r')) what.pop_back();
  }
  std::string message = "CurlTransport: " + what + " (" + std::string(to_string(request.method)) +
                        " " + origin_of(target.url.get()) + ")";
  for (std::string_view secret : headers.secrets) redact(message, secret);
  redact(message, options.proxy_password.reveal());
  return AppError(error, std::move(message));
}

}  // namespace curl_detail

/// A Transport over libcurl.
///
/// - Keep-alive: a pool of up to `max_connections` easy handles, each running one
///   request at a time and keeping its connections (and TLS sessions) between
///   requests. DNS answers are shared between the handles (a CURLSH with one mutex per
///   kind of data); connections and TLS sessions are not (see curl_detail::State,
///   which says why). When every
///   handle is busy, send() waits for one; the wait counts against the request's
///   timeout (errc::timeout when it runs out), so the number of sockets stays bounded
///   under any load.
/// - Secure by default: certificates and host names are verified (TLS 1.2 or newer);
///   plain http:// is refused before any I/O unless the host is loopback; no proxy is
///   taken from the environment unless asked; only http and https are spoken;
///   redirects are returned, never followed.
/// - Exactly the request: its method, its headers (libcurl's own `Accept: */*`,
///   `Expect: 100-continue` and form Content-Type are suppressed), its body byte for
///   byte. POST and PUT always announce their length (`Content-Length: 0` when
///   empty); a PUT or DELETE without a body sends none and no Content-Type; a DELETE
///   or GET without a body sends no Content-Length.
/// - Failures: errc::connection_failed, timeout, tls, insecure_transport,
///   response_too_large or transport once the exchange has started; before any I/O,
///   errc::invalid_argument for a request that cannot be sent as given (a URL libcurl
///   cannot parse, a scheme other than http(s), user info in the URL, a header that
///   would break the request's framing, a timeout that is not positive), as
///   HttplibTransport does. Messages come from libcurl's error buffer plus the method
///   and the URL's origin; they never contain the Authorization header, the body or
///   proxy credentials.
/// - libcurl itself re-sends a request once, on a fresh connection, when a reused
///   kept-alive connection turns out to be closed before any byte of the response
///   arrived (a server's idle timeout racing the request), POSTs included; there is
///   no option to turn that off. For this protocol it is benign: a server that closed
///   an idle connection never saw the request, and in the rare case that it did (it
///   died before answering) a repeated create fails with api_key_already_exists
///   instead of making a second key, and a repeated log-in only opens another session.
///
/// Copies share one pool (a cheap handle, like App). libcurl is initialised on first
/// construction, once per process, and never cleaned up.
///
/// Thread safety: send() may be called concurrently from any number of threads on
/// the same object or its copies; constructing, assigning and destroying an object
/// must not overlap with calls on that same object.
class CurlTransport {
 public:
  using options_type = CurlTransportOptions;  ///< What the transport is built from.

  CurlTransport() : CurlTransport(CurlTransportOptions{}) {}
  /// A transport configured by `options` (CurlTransport() uses the defaults).
  explicit CurlTransport(CurlTransportOptions options)
      : state_(std::make_shared<curl_detail::State>(std::move(options))) {}

  /// Precondition: not moved from.
  const CurlTransportOptions& options() const noexcept { return state_->options(); }

  /// Sends `request` on a pooled handle; any HTTP status is a response, failures to
  /// get one are errc::insecure_transport (before any I/O), connection_failed,
  /// timeout, tls, transport or response_too_large.
  Result<HttpResponse> send(const HttpRequest& request) {
    using namespace curl_detail;
    // Capped so that a "forever" timeout (milliseconds::max()) cannot overflow the
    // clock arithmetic; a year is forever enough.
    const auto timeout =
        std::min(request.timeout, std::chrono::milliseconds(std::chrono::hours(24 * 365)));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::shared_ptr<State> state = state_;  // keeps the pool alive while we run
    if (!state) return AppError(errc::transport, "CurlTransport: used after being moved from");
    if (state->init_code() != CURLE_OK || state->share() == nullptr) {
      return AppError(errc::transport, "CurlTransport: libcurl could not be initialised");
    }
    const CurlTransportOptions& options = state->options();

    // Checks that need no I/O come first, so a refused request never touches a socket.
    if (timeout.count() <= 0) {
      return AppError(errc::invalid_argument,
                      "CurlTransport: the request's timeout is not positive");
    }
    auto target = parse_target(request.url, options);
    if (!target) return std::move(target).error();
    // Requests with a body go through libcurl's POST machinery (PUT too): it takes the
    // body from memory with an explicit size. POST and PUT always do, so an empty body
    // is still announced as Content-Length: 0 (RFC 9110 asks for it; some front ends
    // answer 411 without it), as cpp-httplib does.
    const bool sends_body = !request.body.empty() || request.method == HttpMethod::post ||
                            request.method == HttpMethod::put;
    auto headers = build_headers(request, sends_body);
    if (!headers) return std::move(headers).error();

    bool create_failed = false;
    auto acquired = state->acquire(deadline, create_failed);
    if (!acquired) {
      if (create_failed) return AppError(errc::transport, "CurlTransport: curl_easy_init failed");
      return AppError(errc::timeout,
                      "CurlTransport: no connection became free within the request's timeout");
    }
    Lease handle(*state, std::move(acquired));
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      return AppError(errc::timeout,
                      "CurlTransport: no connection became free within the request's timeout");
    }

    Exchange exchange;
    exchange.max_bytes = options.max_response_bytes;
    const CURLcode setup = configure(*handle, state->share(), options, request, sends_body, *target,
                                     *headers, exchange, remaining);
    if (setup != CURLE_OK) {
      return AppError(errc::transport, std::string("CurlTransport: libcurl refused an option (") +
                                           curl_easy_strerror(setup) + ")");
    }
    const CURLcode code = curl_easy_perform(handle->easy);
    if (code != CURLE_OK || exchange.too_large || exchange.out_of_memory) {
      return failure(code, exchange, *handle, request, *target, *headers, options);
    }
    long status = 0;
    curl_easy_getinfo(handle->easy, CURLINFO_RESPONSE_CODE, &status);
    exchange.response.status = static_cast<int>(status);
    return std::move(exchange.response);
  }

 private:
  std::shared_ptr<curl_detail::State> state_;
};

static_assert(Transport<CurlTransport>);

}  // namespace appkeys
