// appkeys command — reading a password or key without putting it where others can see it:
// from stdin (`--password-stdin`), from a prompt that does not echo, and scrubbing the
// copies the process was started with (its arguments and environment).
#pragma once

#include <appkeys/detail/json.hpp>  // detail::wipe
#include <appkeys/secret.hpp>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

extern char** environ;  // POSIX: the process's environment, "NAME=value" strings

namespace appkeys::cli {

/// Longest secret read from stdin or a prompt. The server takes passwords of at most 128
/// characters and keys are 64 bytes; the bound keeps a runaway pipe from filling memory.
inline constexpr std::size_t max_secret_bytes = 4096;

/// Why a secret could not be read (the message names no secret).
struct SecretInputError {
  std::string message;  ///< One line for "appkeys: error: ...".
};

namespace secret_input_detail {

/// Reads bytes from `fd` until EOF, or until a newline when `one_line`, into a buffer
/// reserved up front so that growing it never leaves a copy behind in freed memory.
/// nullopt when the input is longer than max_secret_bytes (what was read is wiped).
inline std::optional<Secret> read_secret(int fd, bool one_line) {
  std::string buffer;
  buffer.reserve(max_secret_bytes + 1);
  char byte = 0;
  bool too_long = false;
  for (;;) {
    const ssize_t got = ::read(fd, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (one_line && byte == '\n') break;
    if (buffer.size() == max_secret_bytes) {
      too_long = true;
      if (one_line) continue;  // drain the line so it is not read as a command
      break;
    }
    buffer.push_back(byte);
  }
  byte = 0;
  if (!one_line && !buffer.empty() && buffer.back() == '\n') buffer.pop_back();
  if (!buffer.empty() && buffer.back() == '\r') buffer.pop_back();
  std::optional<Secret> secret;
  if (!too_long) secret.emplace(buffer);
  detail::wipe(buffer);
  return secret;
}

/// The terminal state to put back if a signal ends the process while echo is off.
inline struct termios saved_terminal {};
inline volatile std::sig_atomic_t terminal_fd = -1;

/// Puts echo back and dies of the same signal (tcsetattr and raise are
/// async-signal-safe), so Ctrl-C at the prompt does not leave the terminal silent.
inline void restore_terminal_and_reraise(int signal_number) {
  if (terminal_fd >= 0) ::tcsetattr(terminal_fd, TCSAFLUSH, &saved_terminal);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

/// Turns echo off on a terminal for its lifetime, restoring it on destruction and on
/// SIGINT, SIGTERM, SIGHUP and SIGQUIT.
///
/// Thread safety: one at a time per process (the state the signal handler restores is
/// process-wide); the command asks for one secret at a time on its main thread.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_terminal) != 0) return;
    struct termios quiet = saved_terminal;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK);
    quiet.c_lflag |= ECHONL;  // the Enter key still moves to the next line
    terminal_fd = fd_;
    struct sigaction action {};
    action.sa_handler = restore_terminal_and_reraise;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < signal_count; ++i) {
      ::sigaction(signals[i], &action, &previous_[i]);
    }
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (terminal_fd < 0) return;
    ::tcsetattr(fd_, TCSAFLUSH, &saved_terminal);
    terminal_fd = -1;
    for (std::size_t i = 0; i < signal_count; ++i) ::sigaction(signals[i], &previous_[i], nullptr);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

  /// False when the terminal refused the change (then nothing is read from it).
  bool active() const noexcept { return active_; }

 private:
  static constexpr int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  static constexpr std::size_t signal_count = sizeof(signals) / sizeof(signals[0]);
  int fd_;
  bool active_ = false;
  struct sigaction previous_[signal_count] {};
};

/// Writes the whole of `text` to `fd`, ignoring failures (a prompt is best effort).
inline void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t put = ::write(fd, text.data(), text.size());
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(put));
  }
}

}  // namespace secret_input_detail

/// The secret on stdin (`--password-stdin`, `--api-key-stdin`): all of it up to EOF, one
/// trailing newline dropped, as `docker login --password-stdin` reads it.
inline std::optional<Secret> read_secret_from_stdin(std::string_view what,
                                                    SecretInputError& error) {
  auto secret = secret_input_detail::read_secret(STDIN_FILENO, false);
  if (!secret) {
    error.message = std::string(what) + " on stdin is longer than " +
                    std::to_string(max_secret_bytes) + " bytes";
  } else if (secret->empty()) {
    error.message = "stdin held no " + std::string(what);
    secret.reset();
  }
  return secret;
}

/// Whether a prompt can be shown: stdin is a terminal.
inline bool can_prompt() noexcept { return ::isatty(STDIN_FILENO) == 1; }

/// Asks for a secret on the terminal with echo off. The prompt goes to /dev/tty (so it is
/// seen even when stderr is redirected), else to stderr; the answer is read from stdin.
inline std::optional<Secret> prompt_secret(std::string_view prompt, SecretInputError& error) {
  const int tty = ::open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  const int out = tty >= 0 ? tty : STDERR_FILENO;
  std::optional<Secret> secret;
  {
    // Echo goes off before the prompt shows, so nothing typed after it can be echoed
    // (or discarded by the change).
    secret_input_detail::EchoOff quiet(STDIN_FILENO);
    secret_input_detail::write_all(out, prompt);
    if (!quiet.active()) {
      error.message = "cannot turn off echo on the terminal to ask for the password";
    } else {
      secret = secret_input_detail::read_secret(STDIN_FILENO, true);
      if (!secret) {
        error.message = "the answer is longer than " + std::to_string(max_secret_bytes) + " bytes";
      } else if (secret->empty()) {
        error.message = "no password given";
        secret.reset();
      }
    }
  }
  if (tty >= 0) ::close(tty);
  return secret;
}

/// Overwrites the values of `--NAME VALUE` and `--NAME=VALUE` among the process's
/// arguments, so that `ps` and /proc/PID/cmdline stop showing them once they are
/// parsed (they were visible until then: prefer stdin or the prompt).
inline void scrub_argument_values(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") return;
    if (arg == name && i + 1 < argc) {
      std::memset(argv[i + 1], 0, std::strlen(argv[i + 1]));
      ++i;
    } else if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
      std::memset(argv[i] + name.size() + 1, 0, arg.size() - name.size() - 1);
    }
  }
}

/// Reads the environment variable `name` into a Secret and overwrites it in place, so
/// /proc/PID/environ stops showing it. nullopt when unset or empty.
inline std::optional<Secret> take_secret_from_environment(std::string_view name) {
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text = *entry;
    if (text.size() <= name.size() || !text.starts_with(name) || text[name.size()] != '=') {
      continue;
    }
    char* value = *entry + name.size() + 1;
    const std::size_t size = text.size() - name.size() - 1;
    if (size == 0) return std::nullopt;
    Secret secret{std::string_view(value, size)};
    std::memset(value, 0, size);
    return secret;
  }
  return std::nullopt;
}

}  // namespace appkeys::cli
