// appkeys — SigpipeGuard: SIGPIPE blocked in the calling thread while httplib writes.
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace appkeys::httplib_detail {

/// Keeps SIGPIPE away from the calling thread while it lives. cpp-httplib (0.11.4 as
/// built by Debian) writes to sockets without MSG_NOSIGNAL (plain HTTP avoids that
/// through PlainClient), OpenSSL writes without it too, and writes close_notify when a
/// TLS client is destroyed, so a write to a connection the peer reset, or that the
/// watchdog shut down, would raise SIGPIPE and by default kill the process.
/// Blocking it in this thread turns that into an EPIPE error; a SIGPIPE raised meanwhile
/// is consumed before the old mask returns. Process-wide dispositions stay untouched.
///
/// Three system calls in the common case (block; at the end, look for a pending
/// SIGPIPE, restore). No SIGPIPE can be pending for this thread when the guard starts
/// with SIGPIPE unblocked (it would have been delivered), so one found pending at the
/// end is ours; with SIGPIPE already blocked the guard consumes nothing.
class SigpipeGuard {
 public:
  SigpipeGuard() noexcept : SigpipeGuard(true) {}
  /// A guard only if `needed`, else nothing (no system call at all).
  explicit SigpipeGuard(bool needed) noexcept {
    if (!needed) return;
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    active_ = ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  ~SigpipeGuard() {
    if (!active_) return;
    if (sigismember(&old_, SIGPIPE) == 1) {
      ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
      return;  // it was blocked already: nothing of ours to consume
    }
    sigset_t pending;
    sigemptyset(&pending);
    if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec no_wait{0, 0};
      ::sigtimedwait(&pipe_, nullptr, &no_wait);
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool active_ = false;
};

}  // namespace appkeys::httplib_detail
