// LocalServer (and so `appkeys serve`) under a burst of new connections.
//
// cpp-httplib 0.11 listens with a backlog of 5: in a burst of new connections the
// kernel drops the SYNs beyond it, and each dropped client waits a second (then 3, 7,
// ...) to retry, so a burst of a few hundred connects takes seconds to be served.
// LocalServer raises the backlog to SOMAXCONN on the bound socket.
#include <appkeys/testing/local_server.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace local_server_backlog_test {

namespace {

/// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

/// The listen backlog of the IPv4 TCP socket listening on `port`, as the kernel reports
/// it (sock_diag: for a listening socket, idiag_wqueue is its backlog), or nullopt when
/// sock_diag is not available here.
std::optional<std::uint32_t> listen_backlog(std::uint16_t port) {
  Fd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (fd.get() < 0) return std::nullopt;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = AF_INET;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = 1U << 10;  // TCP_LISTEN
  if (::send(fd.get(), &message, sizeof message, 0) != static_cast<ssize_t>(sizeof message)) {
    return std::nullopt;
  }
  std::vector<char> buffer(64 * 1024);
  std::optional<std::uint32_t> found;
  for (;;) {
    const ssize_t length = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    if (length <= 0) return found;
    auto remaining = static_cast<std::uint32_t>(length);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(header, remaining);
         header = NLMSG_NEXT(header, remaining)) {
      if (header->nlmsg_type == NLMSG_DONE || header->nlmsg_type == NLMSG_ERROR) return found;
      const auto* socket = static_cast<const inet_diag_msg*>(NLMSG_DATA(header));
      if (ntohs(socket->id.idiag_sport) == port) found = socket->idiag_wqueue;
    }
  }
}

/// Starts a non-blocking connect to 127.0.0.1:port; the socket is made blocking again
/// (with 60 s timeouts, a bound against hangs) so that the first send waits for the
/// handshake.
Fd start_connect(std::uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  REQUIRE((rc == 0 || errno == EINPROGRESS));
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  timeval bound{.tv_sec = 60, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  return fd;
}

/// Sends one GET over `fd` (closing after it) and returns the status line's start.
std::string exchange(const Fd& fd, std::uint16_t port) {
  const std::string request =
      "GET /api/client/v2.0/app/burst/location HTTP/1.1\r\nHost: 127.0.0.1:" +
      std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return "send failed";
  }
  std::string answer;
  char buffer[256];
  while (answer.size() < 12) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  return answer.substr(0, 12);
}

}  // namespace

TEST_CASE("LocalServer listens with a backlog that holds a burst of connections",
          "[local_server][backlog]") {
  appkeys::testing::FakeBackend backend;
  appkeys::testing::LocalServer server{backend};
  const std::optional<std::uint32_t> backlog = listen_backlog(server.port());
  if (!backlog) {
    WARN("sock_diag is not available here: the backlog is not checked");
    return;
  }
  // SOMAXCONN, capped by net.core.somaxconn (4096 by default since Linux 5.4, 128 before).
  CHECK(*backlog >= 128);
}

TEST_CASE("LocalServer answers every one of 512 simultaneous connections",
          "[local_server][backlog]") {
  appkeys::testing::FakeBackend backend;
  appkeys::testing::LocalServer server{backend};
  constexpr std::size_t burst = 512;  // twice the worker threads
  std::vector<Fd> clients;
  clients.reserve(burst);
  for (std::size_t i = 0; i < burst; ++i) clients.push_back(start_connect(server.port()));

  std::size_t answered = 0;
  for (const Fd& client : clients) {
    if (exchange(client, server.port()) == "HTTP/1.1 200") ++answered;
  }
  CHECK(answered == burst);
}

}  // namespace local_server_backlog_test
