// appkeys — PlainClient: cpp-httplib's plain-HTTP client, sending with MSG_NOSIGNAL.
#pragma once

#include <appkeys/detail/chrono.hpp>

#include <httplib.h>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace appkeys::httplib_detail {

/// Calls `call` (a system call) again while it fails with EINTR, i.e. a signal arrived
/// meanwhile, as httplib's own stream does.
template <class Call>
auto retrying(Call call) {
  auto result = call();
  while (result < 0 && errno == EINTR) result = call();
  return result;
}

/// The socket stream of one plain-HTTP exchange. It does what httplib's own stream
/// does: before each read or write, a poll bounded by the read or write timeout, and
/// before each write a check that the peer has not closed the connection; reads
/// through a 4 KiB buffer, so that httplib's byte-at-a-time header parsing costs one
/// recv per buffer. The difference: it sends with MSG_NOSIGNAL. Debian builds
/// cpp-httplib 0.11 with CPPHTTPLIB_SEND_FLAGS 0, so its own stream raises SIGPIPE
/// when it writes to a connection the peer reset or the watchdog shut down; with this
/// stream such a write only fails with EPIPE, and a plain-HTTP request needs no signal
/// mask changes (three system calls a request; see SigpipeGuard, still used for TLS,
/// where OpenSSL does the writing).
///
/// Thread safety: used by the one thread running the exchange; Watchdog's
/// ClientImpl::stop() acts on the socket, not on this object.
class NoSignalStream final : public httplib::Stream {
 public:
  NoSignalStream(int socket, std::chrono::microseconds read_timeout,
                 std::chrono::microseconds write_timeout) noexcept
      : socket_(socket), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  bool is_readable() const override { return wait_for(POLLIN, read_timeout_); }
  bool is_writable() const override { return wait_for(POLLOUT, write_timeout_) && peer_open(); }

  ssize_t read(char* out, std::size_t size) override {
    if (offset_ < filled_) return take_buffered(out, size);
    if (!is_readable()) return -1;
    offset_ = filled_ = 0;
    if (size >= buffer_.size()) return receive(out, size);
    const ssize_t got = receive(buffer_.data(), buffer_.size());
    if (got <= 0) return got;
    filled_ = static_cast<std::size_t>(got);
    return take_buffered(out, size);
  }

  ssize_t write(const char* data, std::size_t size) override {
    if (!is_writable()) return -1;
    return retrying([&] { return ::send(socket_, data, size, MSG_NOSIGNAL); });
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(&::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(&::getsockname, ip, port);
  }
  ::socket_t socket() const override { return socket_; }

 private:
  /// poll() for `events`, for at most `timeout` in whole milliseconds (truncated, as
  /// httplib does); true when the socket is ready, or hung up or failed (the next
  /// read or write then reports it).
  bool wait_for(short events, std::chrono::microseconds timeout) const {
    pollfd ready{socket_, events, 0};
    const auto milliseconds = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    const int wait = static_cast<int>(std::min<std::chrono::milliseconds::rep>(
        milliseconds.count(), std::chrono::milliseconds::rep{0x7fffffff}));
    return retrying([&] { return ::poll(&ready, 1, wait); }) > 0;
  }

  /// False once the peer has closed its end (or the socket failed): a pending read
  /// that finds end of file, or an error.
  bool peer_open() const {
    pollfd ready{socket_, POLLIN, 0};
    if (::poll(&ready, 1, 0) == 0) return true;
    char byte;
    const ssize_t got =
        retrying([&] { return ::recv(socket_, &byte, 1, MSG_PEEK | MSG_DONTWAIT); });
    return got > 0 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }

  ssize_t receive(char* out, std::size_t size) {
    return retrying([&] { return ::recv(socket_, out, size, 0); });
  }

  ssize_t take_buffered(char* out, std::size_t size) {
    const std::size_t count = std::min(size, filled_ - offset_);
    std::memcpy(out, buffer_.data() + offset_, count);
    offset_ += count;
    return static_cast<ssize_t>(count);
  }

  using AddressOf = int (*)(int, sockaddr*, socklen_t*);
  void address_of(AddressOf query, std::string& ip, int& port) const {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (query(socket_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return;
    std::array<char, NI_MAXHOST> host{};
    std::array<char, NI_MAXSERV> service{};
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host.data(), host.size(),
                      service.data(), service.size(), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
      return;
    }
    ip = host.data();
    port = std::atoi(service.data());
  }

  int socket_;
  std::chrono::microseconds read_timeout_;
  std::chrono::microseconds write_timeout_;
  std::array<char, 4096> buffer_;
  std::size_t offset_ = 0;  // next unread byte of buffer_
  std::size_t filled_ = 0;  // bytes of buffer_ holding data
};

/// httplib's client for http:// URLs, exchanging through a NoSignalStream. It
/// overrides ClientImpl::process_socket, the virtual that httplib's SSLClient also
/// overrides to put its TLS stream under the same request logic; everything else
/// (connecting, keep-alive, timeouts, stop()) is httplib's own.
///
/// Thread safety: as httplib::ClientImpl.
class PlainClient final : public httplib::ClientImpl {
 public:
  using httplib::ClientImpl::ClientImpl;

 private:
  bool process_socket(const Socket& socket,
                      std::function<bool(httplib::Stream& strm)> callback) override {
    NoSignalStream stream(socket.sock, timeout(read_timeout_sec_, read_timeout_usec_),
                          timeout(write_timeout_sec_, write_timeout_usec_));
    return callback(stream);
  }

  static std::chrono::microseconds timeout(time_t seconds, time_t microseconds) noexcept {
    return std::chrono::seconds(seconds) + std::chrono::microseconds(microseconds);
  }
};

}  // namespace appkeys::httplib_detail
