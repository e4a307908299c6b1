// appkeys — the whole-request deadlines of HttplibTransport: one Watchdog thread per
// transport, and Watch, which arms it for one request.
#pragma once

#include <appkeys/transport/httplib_detail/clock.hpp>
#include <appkeys/transport/httplib_detail/sigpipe_guard.hpp>

#include <httplib.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace appkeys::httplib_detail {

/// Enforces whole-request deadlines. httplib 0.11 has only per-operation socket
/// timeouts, so a peer that sends one byte just before each read times out could hold a
/// request forever; at a request's deadline this thread calls Client::stop(), httplib's
/// thread-safe way to shut the socket down under a running request, which makes the
/// blocked read or write fail at once.
///
/// stop() waits for httplib's socket mutex, which send() holds while it connects and
/// does the TLS handshake; each firing therefore runs on a short-lived thread of its
/// own, so one slow connect never delays another request's deadline. Firings happen
/// only for requests that time out.
///
/// Thread safety: arm() and disarm() may be called concurrently.
class Watchdog {
 public:
  Watchdog() = default;
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  /// Watches `client` until disarm(id); stops it if `deadline` passes first.
  std::uint64_t arm(Clock::time_point deadline, httplib::ClientImpl* client) {
    std::lock_guard lock(mutex_);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    const std::uint64_t id = next_id_++;
    entries_.emplace(id, Entry{deadline, client, false, {}});
    // Wake the thread only if it would otherwise sleep past this deadline. In steady
    // use every new deadline lies beyond the one it sleeps towards (they are all "now +
    // timeout"), so a request costs no wake-up and no context switch; the thread
    // re-scans when its (possibly stale) deadline comes.
    if (deadline < sleeping_until_) changed_.notify_all();
    return id;
  }

  /// Stops watching; returns true if the deadline fired (the client's socket was shut
  /// down, so it must not be reused). Once this returns, the watchdog no longer
  /// touches the client.
  bool disarm(std::uint64_t id) {
    std::thread firer;
    bool fired = false;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(id);
      if (it == entries_.end()) return false;
      fired = it->second.fired;
      firer = std::move(it->second.firer);
      entries_.erase(it);
    }
    // The firing thread returns as soon as stop() does; send() has returned by now, so
    // httplib's socket mutex is free.
    if (firer.joinable()) firer.join();
    return fired;
  }

 private:
  struct Entry {
    Clock::time_point deadline;
    httplib::ClientImpl* client;
    bool fired;
    std::thread firer;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      Entry* next = nullptr;
      for (auto& [id, entry] : entries_) {
        if (!entry.fired && (next == nullptr || entry.deadline < next->deadline)) next = &entry;
      }
      if (next == nullptr) {
        sleeping_until_ = Clock::time_point::max();
        changed_.wait(lock);
        sleeping_until_ = Clock::time_point::min();
        continue;
      }
      if (const Clock::time_point deadline = next->deadline; Clock::now() < deadline) {
        // A copy: the entry may be erased while the lock is released.
        sleeping_until_ = deadline;
        changed_.wait_until(lock, deadline);
        sleeping_until_ = Clock::time_point::min();
        continue;
      }
      next->fired = true;
      httplib::ClientImpl* client = next->client;
      next->firer = std::thread([client] {
        SigpipeGuard quiet;  // stop() may write a TLS close_notify to a dead socket
        client->stop();
      });
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, Entry> entries_;  // guarded by mutex_
  std::uint64_t next_id_ = 1;               // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  // When the thread will next look at entries_ by itself: the deadline it waits for,
  // max() while it waits for a notification, min() while it is not waiting (or not yet
  // started), so that arm() notifies. Guarded by mutex_.
  Clock::time_point sleeping_until_ = Clock::time_point::min();
  std::thread thread_;  // started by the first arm()
};

/// Arms a Watchdog for one request and disarms it on every path out, so the watchdog
/// never holds a pointer to a client that went back to the pool.
class Watch {
 public:
  Watch(Watchdog& watchdog, Clock::time_point deadline, httplib::ClientImpl& client)
      : watchdog_(watchdog), id_(watchdog.arm(deadline, &client)) {}
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;
  ~Watch() {
    if (id_ != 0) watchdog_.disarm(id_);
  }
  /// True if the deadline fired and the client was stopped.
  bool disarm() { return watchdog_.disarm(std::exchange(id_, 0)); }

 private:
  Watchdog& watchdog_;
  std::uint64_t id_;
};

}  // namespace appkeys::httplib_detail
