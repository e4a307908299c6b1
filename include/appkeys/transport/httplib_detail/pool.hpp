// appkeys — HttplibTransport's connection pool: kept-alive httplib clients, per origin.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/detail/wipe.hpp>
#include <appkeys/transport/httplib_detail/clock.hpp>
#include <appkeys/transport/httplib_detail/plain_client.hpp>
#include <appkeys/transport/httplib_detail/proxy_tunnel.hpp>
#include <appkeys/transport/httplib_detail/sigpipe_guard.hpp>
#include <appkeys/transport/httplib_detail/target.hpp>
#include <appkeys/transport/httplib_options.hpp>

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace appkeys::httplib_detail {

/// True when requests to `target` go through the proxy `options` name: loopback hosts
/// are always reached directly.
inline bool use_proxy(const HttplibTransportOptions& options, const Target& target) {
  return !options.proxy_host.empty() && !is_loopback_host(target.host);
}

/// The connections of one HttplibTransport (shared by its copies): per origin, the idle
/// clients and a count of the open ones, at most max_connections_per_host. A request
/// borrows a client as a Lease, which gives it back (or closes it) on every path out.
///
/// Thread safety: acquire() may be called concurrently from any number of threads; a
/// Lease may be destroyed on any thread. Destroying the pool while a Lease lives is
/// undefined.
class Pool {
  struct Origin {
    std::vector<std::unique_ptr<httplib::ClientImpl>> idle;
    std::size_t alive = 0;  // idle + in use
  };

 public:
  /// A pooled client lent to one request; goes back to the pool, or is closed, on
  /// destruction (closed unless keep() was called).
  class Lease {
   public:
    Lease(Pool& pool, Origin& origin, std::unique_ptr<httplib::ClientImpl> client) noexcept
        : pool_(&pool), origin_(&origin), client_(std::move(client)) {}
    /// Takes over `other`'s slot; `other` then gives nothing back.
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          origin_(other.origin_),
          client_(std::move(other.client_)),
          reusable_(other.reusable_) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ == nullptr) return;  // moved from
      std::unique_ptr<httplib::ClientImpl> doomed;
      {
        std::lock_guard lock(pool_->mutex_);
        if (reusable_) {
#if APPKEYS_HAS_EXCEPTIONS
          try {
            origin_->idle.push_back(std::move(client_));
          } catch (...) {  // no memory for the idle list: close the connection instead
            doomed = std::move(client_);
            --origin_->alive;
          }
#else
          origin_->idle.push_back(std::move(client_));
#endif
        } else {
          doomed = std::move(client_);
          --origin_->alive;
        }
      }
      pool_->returned_.notify_all();
      if (doomed) {
        // Closing may write (see SigpipeGuard). Only then: a connection going back to
        // the pool writes nothing, and the guard costs four system calls.
        SigpipeGuard quiet;
        doomed.reset();  // closes its socket here, outside the lock
      }
    }
    /// The client, for this request only.
    httplib::ClientImpl& client() noexcept { return *client_; }
    /// Takes the client a fresh slot was reserved for.
    void adopt(std::unique_ptr<httplib::ClientImpl> client) noexcept {
      client_ = std::move(client);
    }
    /// The exchange went well: the connection goes back to the pool instead of closing.
    void keep() noexcept { reusable_ = true; }

   private:
    Pool* pool_;
    Origin* origin_;
    std::unique_ptr<httplib::ClientImpl> client_;
    bool reusable_ = false;
  };

  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    SigpipeGuard quiet;  // closing TLS clients writes close_notify
    origins_.clear();
  }

  /// max_connections_per_host as the pool applies it: 0 is taken as 1.
  static std::size_t connection_limit(const HttplibTransportOptions& options) noexcept {
    return std::max<std::size_t>(1, options.max_connections_per_host);
  }

  /// A client for the target's origin: an idle pooled one, a new one (made as `options`
  /// say) while the origin has fewer than connection_limit(options), else the first one
  /// returned before `deadline`; nullopt when none came back in time. (A Lease by
  /// value: one heap allocation a request fewer.)
  std::optional<Lease> acquire(const Target& target, Clock::time_point deadline,
                               const HttplibTransportOptions& options) {
    const std::size_t limit = connection_limit(options);
    std::unique_lock lock(mutex_);
    Origin& origin = origins_[target.origin];
    for (;;) {
      if (!origin.idle.empty()) {
        auto client = std::move(origin.idle.back());  // most recently used: likeliest alive
        origin.idle.pop_back();
        lock.unlock();
        return Lease(*this, origin, std::move(client));
      }
      if (origin.alive < limit) break;
      if (returned_.wait_until(lock, deadline) == std::cv_status::timeout && origin.idle.empty() &&
          origin.alive >= limit) {
        return std::nullopt;
      }
    }
    ++origin.alive;
    lock.unlock();
    // The Lease owns the slot from here on (its constructor cannot throw): if making the
    // client throws, ~Lease gives the slot back.
    std::optional<Lease> lease(std::in_place, *this, origin, nullptr);
    lease->adopt(make_client(target, options));
    return lease;
  }

 private:
  static std::unique_ptr<httplib::ClientImpl> make_client(const Target& target,
                                                          const HttplibTransportOptions& options) {
    std::unique_ptr<httplib::ClientImpl> client;
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (target.https) {
      std::unique_ptr<httplib::SSLClient> tls;
      if (use_proxy(options, target)) {
        std::string authorization;
        if (!options.proxy_username.empty()) {
          std::string password(options.proxy_password.reveal());
          authorization =
              httplib::make_basic_authentication_header(options.proxy_username, password, true)
                  .second;
          detail::wipe(password);
        }
        tls = std::make_unique<ProxyTunnelClient>(target.host, target.port, options.proxy_host,
                                                  options.proxy_port, std::move(authorization));
      } else {
        tls = std::make_unique<httplib::SSLClient>(target.host, target.port);
      }
      if (options.danger_accept_invalid_certificates) {
        tls->enable_server_certificate_verification(false);
      }
      if (!options.ca_file.empty() || !options.ca_dir.empty()) {
        tls->set_ca_cert_path(options.ca_file, options.ca_dir);
      }
      client = std::move(tls);
    }
#endif
    if (!client) client = std::make_unique<PlainClient>(target.host, target.port);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // else a kept-alive request waits ~40 ms on Nagle
    client->set_follow_location(false);
    client->set_url_encode(false);  // the URL is already encoded; send it byte for byte
    if (use_proxy(options, target) && !target.https) {  // https: ProxyTunnelClient
      client->set_proxy(options.proxy_host, options.proxy_port);
      if (!options.proxy_username.empty()) {
        std::string password(options.proxy_password.reveal());
        client->set_proxy_basic_auth(options.proxy_username, password);
        detail::wipe(password);
      }
    }
    return client;
  }

  std::mutex mutex_;
  std::condition_variable returned_;       // a connection went back or was closed
  std::map<std::string, Origin> origins_;  // guarded by mutex_; never erased
};

}  // namespace appkeys::httplib_detail
