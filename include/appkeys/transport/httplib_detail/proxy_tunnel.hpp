// appkeys — ProxyTunnelClient: https through an HTTP proxy's CONNECT tunnel, opened by
// HttplibTransport itself (only with TLS support: CPPHTTPLIB_OPENSSL_SUPPORT).
#pragma once

#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/wipe.hpp>
#include <appkeys/transport/httplib_detail/clock.hpp>

#include <httplib.h>

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys::httplib_detail {

/// An SSLClient that reaches its server through an HTTP proxy's CONNECT tunnel which
/// this class opens itself. httplib 0.11.4's own tunnelling deadlocks for ever (it
/// locks its non-recursive socket mutex twice) when the proxy answers the CONNECT with
/// "Connection: close" or as HTTP/1.0 with any reason but "Connection established",
/// as proxies refusing credentials (407) commonly do. Overriding the virtual
/// create_and_connect_socket() hands httplib a socket that already is the tunnel; the
/// TLS handshake, SNI and certificate checks are then httplib's, for the real host.
///
/// Thread safety: as httplib::SSLClient (one request at a time); budget() must be set
/// before each send.
class ProxyTunnelClient final : public httplib::SSLClient {
 public:
  ProxyTunnelClient(const std::string& host, int port, std::string proxy_host, int proxy_port,
                    std::string proxy_authorization)
      : httplib::SSLClient(host, port),
        authority_((host.find(':') != std::string::npos ? '[' + host + ']' : host) + ':' +
                   std::to_string(port)),
        proxy_host_(std::move(proxy_host)),
        proxy_port_(proxy_port),
        proxy_authorization_(std::move(proxy_authorization)) {}
  ProxyTunnelClient(const ProxyTunnelClient&) = delete;
  ProxyTunnelClient& operator=(const ProxyTunnelClient&) = delete;
  ~ProxyTunnelClient() override { detail::wipe(proxy_authorization_); }

  /// Bounds the next tunnel set-up: connecting to the proxy by `connect_timeout`, all of
  /// it by `deadline`.
  void budget(Clock::time_point deadline, std::chrono::milliseconds connect_timeout) {
    deadline_ = deadline;
    connect_timeout_ = connect_timeout;
    refused_status_ = 0;
  }
  /// The status the proxy refused the last CONNECT with; 0 if it did not refuse one.
  int refused_status() const noexcept { return refused_status_; }

 private:
  bool create_and_connect_socket(Socket& socket, httplib::Error& error) override {
    if (!is_valid()) {
      error = httplib::Error::SSLConnection;
      return false;
    }
    const Clock::time_point connect_by = std::min(deadline_, Clock::now() + connect_timeout_);
    const int fd = connect_to_proxy(connect_by, error);
    if (fd < 0) return false;
    std::string request = "CONNECT " + authority_ + " HTTP/1.1\r\nHost: " + authority_ + "\r\n";
    if (!proxy_authorization_.empty()) {
      request += "Proxy-Authorization: " + proxy_authorization_ + "\r\n";
    }
    request += "\r\n";
    const bool sent = send_all(fd, request);
    detail::wipe(request);
    std::string head;
    if (!sent || !read_head(fd, head)) {
      ::close(fd);
      error = Clock::now() >= deadline_ ? httplib::Error::ConnectionTimeout
                                        : httplib::Error::Connection;
      return false;
    }
    // "HTTP/1.1 200 Connection established": any 2xx opens the tunnel.
    const std::size_t space = head.find(' ');
    const int status = space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
    if (status < 200 || status > 299) {
      ::close(fd);
      refused_status_ = status == 0 ? -1 : status;
      error = httplib::Error::Connection;
      return false;
    }
    socket.sock = fd;
    return true;
  }

  static int remaining_ms(Clock::time_point until) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 24LL * 3600 * 1000));
  }

  int connect_to_proxy(Clock::time_point connect_by, httplib::Error& error) const {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(proxy_port_);
    if (::getaddrinfo(proxy_host_.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
      error = httplib::Error::Connection;
      return -1;
    }
    int connected = -1;
    bool timed_out = false;
    for (addrinfo* address = found; address != nullptr && connected < 0;
         address = address->ai_next) {
      const int fd =
          ::socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   address->ai_protocol);
      if (fd < 0) continue;
      int ok = ::connect(fd, address->ai_addr, address->ai_addrlen) == 0 ? 1 : 0;
      if (ok == 0 && errno == EINPROGRESS) {
        pollfd ready{fd, POLLOUT, 0};
        const int waited = ::poll(&ready, 1, remaining_ms(connect_by));
        int failure = 0;
        socklen_t length = sizeof(failure);
        if (waited == 0) timed_out = true;
        ok = waited > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 &&
                     failure == 0
                 ? 1
                 : 0;
      }
      if (ok == 1) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // httplib expects blocking
        int yes = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
        connected = fd;
      } else {
        ::close(fd);
      }
    }
    ::freeaddrinfo(found);
    if (connected < 0) {
      error = timed_out ? httplib::Error::ConnectionTimeout : httplib::Error::Connection;
    }
    return connected;
  }

  bool send_all(int fd, std::string_view data) const {
    while (!data.empty()) {
      pollfd ready{fd, POLLOUT, 0};
      if (::poll(&ready, 1, remaining_ms(deadline_)) <= 0) return false;
      const auto sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
    return true;
  }

  /// The proxy's response head, read one byte at a time so that no byte of the tunnel
  /// that might follow it is consumed.
  bool read_head(int fd, std::string& head) const {
    while (head.size() < 16 * 1024) {
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, remaining_ms(deadline_)) <= 0) return false;
      char byte = 0;
      if (::recv(fd, &byte, 1, 0) != 1) return false;
      head += byte;
      if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) return true;
    }
    return false;
  }

  std::string authority_;
  std::string proxy_host_;
  int proxy_port_;
  std::string proxy_authorization_;  // "Basic ..." or empty
  Clock::time_point deadline_ = Clock::now();
  std::chrono::milliseconds connect_timeout_{10'000};
  int refused_status_ = 0;
};

}  // namespace appkeys::httplib_detail
#endif
