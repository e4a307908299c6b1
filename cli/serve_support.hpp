// appkeys command — what `appkeys serve` needs beside the server itself: which addresses
// are loopback, the access log's line, and a bound on how long a graceful stop may take.
#pragma once

#include <appkeys/testing/local_server_options.hpp>
#include <appkeys/transport/httplib.hpp>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace appkeys::cli {

/// True for the addresses only this machine can reach: 127.0.0.0/8, ::1 (also as
/// ::ffff:127.x.y.z) and the name "localhost" — the rule HttplibTransport applies to
/// plain http:// URLs. Any other name counts as remote, even one that resolves to a
/// loopback address: the check must not depend on DNS.
inline bool is_loopback_host(std::string_view host) { return detail::is_loopback_host(host); }

/// "[::1]" → "::1": the brackets belong in URLs, not in an address to bind.
inline std::string unbracketed(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

/// EMAIL:PASSWORD split at its first colon (a password may hold colons), or nothing
/// when either part is empty.
inline std::optional<std::pair<std::string, std::string>> split_user(const std::string& entry) {
  const auto colon = entry.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == entry.size()) return std::nullopt;
  return std::pair{entry.substr(0, colon), entry.substr(colon + 1)};
}

/// An access-log sink writing one line per request to stderr:
/// "2026-11-29T22:52:35.123Z GET /api/client/v2.0/auth/api_keys 201 4ms". The entry holds
/// no header, query string or body, so no secret can reach the line.
inline std::function<void(const testing::AccessLogEntry&)> stderr_access_log() {
  auto mutex = std::make_shared<std::mutex>();
  return [mutex](const testing::AccessLogEntry& entry) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char stamp[96];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    std::string line = stamp;
    line += ' ';
    line += entry.method;
    line += ' ';
    line += entry.path;
    line += ' ';
    line += std::to_string(entry.status);
    line += ' ';
    line += std::to_string(entry.duration.count());
    line += "ms\n";
    std::lock_guard lock(*mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  };
}

/// Bounds a graceful stop: from construction, the server has `bound` to finish the
/// requests in flight; past it, or on a second SIGINT/SIGTERM, the process exits at
/// once with status 1 (acknowledged writes are already durable, so nothing is lost but
/// the unfinished answers). finished() disarms it.
///
/// Thread safety: finished() may be called from any thread, once.
class StopWatchdog {
 public:
  /// Starts watching; `signals` must be blocked in every thread (see run_serve).
  StopWatchdog(sigset_t signals, std::chrono::milliseconds bound)
      : thread_([this, signals, bound] { watch(signals, bound); }) {}
  StopWatchdog(const StopWatchdog&) = delete;
  StopWatchdog& operator=(const StopWatchdog&) = delete;
  ~StopWatchdog() { finished(); }

  /// The stop completed: the watchdog ends without acting.
  void finished() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }

 private:
  void watch(sigset_t signals, std::chrono::milliseconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done_.load()) {
      const timespec tick{0, 50'000'000};  // 50 ms: how soon finished() is noticed
      if (::sigtimedwait(&signals, nullptr, &tick) > 0) {
        give_up("a second signal arrived");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        give_up("requests were still running after " + std::to_string(bound.count()) + " ms");
      }
    }
  }

  [[noreturn]] static void give_up(const std::string& why) {
    const std::string line = "appkeys: stopping now: " + why + '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    std::_Exit(1);
  }

  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace appkeys::cli
