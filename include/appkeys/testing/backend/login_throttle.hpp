// appkeys — LoginThrottle: slows down repeated failed password logins for one account.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace appkeys::testing::backend {

/// Counts failed password logins per email (known or not, so the answers do not tell
/// which emails exist). From the `threshold`-th failure in a row on, the email is
/// locked for a window that doubles with each further failure (1 s, 2 s, 4 s, ...,
/// at most `max_delay`); during it every login for that email is refused without
/// looking at the password, so guessing runs at a few tries per window at most. Lives in
/// process memory: a restart forgets it (documented; the windows are short anyway).
///
/// Thread safety: every member function may be called concurrently.
class LoginThrottle {
 public:
  /// `threshold` 0 turns the throttle off.
  LoginThrottle(std::size_t threshold, std::chrono::seconds max_delay)
      : threshold_(threshold), max_delay_(std::max<std::int64_t>(1, max_delay.count())) {}

  /// Seconds `email` stays locked at Unix time `now`, or nullopt when it may try.
  std::optional<std::int64_t> locked_for(std::string_view email, std::int64_t now) const {
    if (threshold_ == 0) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = entries_.find(email);
    if (it == entries_.end() || it->second.locked_until <= now) return std::nullopt;
    return it->second.locked_until - now;
  }

  /// Records a failed login for `email` at `now`.
  void failed(std::string_view email, std::int64_t now) {
    if (threshold_ == 0) return;
    std::lock_guard lock(mutex_);
    if (entries_.size() >= max_entries) forget_unlocked(now);
    auto& entry = entries_[std::string(email)];
    ++entry.failures;
    if (entry.failures >= threshold_) {
      const std::size_t doublings = std::min<std::size_t>(entry.failures - threshold_, 30);
      const std::int64_t window = std::min<std::int64_t>(std::int64_t{1} << doublings, max_delay_);
      entry.locked_until = now + window;
    }
  }

  /// A correct login: the count starts again.
  void succeeded(std::string_view email) {
    if (threshold_ == 0) return;
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(email); it != entries_.end()) entries_.erase(it);
  }

 private:
  static constexpr std::size_t max_entries = 100'000;

  struct Entry {
    std::size_t failures = 0;
    std::int64_t locked_until = 0;
  };

  // Called with mutex_ held: bounds memory under a flood of made-up emails. Entries
  // that are not locked now lose their count, which only makes the throttle start over.
  void forget_unlocked(std::int64_t now) {
    std::erase_if(entries_, [&](const auto& entry) { return entry.second.locked_until <= now; });
  }

  const std::size_t threshold_;
  const std::int64_t max_delay_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;  // guarded by mutex_
};

}  // namespace appkeys::testing::backend
