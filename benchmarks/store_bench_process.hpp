// store_bench's support: `appkeys serve` in a child process, CPU time of a process (and
// of a PostgreSQL cluster), and what an fdatasync costs on the store's disk.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace store_bench {

using Clock = std::chrono::steady_clock;

inline double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

/// The value at quantile `p` (0..1) of `values` (reordered); 0 when empty.
inline double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const auto index = std::min(values.size() - 1, std::size_t(p * double(values.size())));
  std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(index), values.end());
  return values[index];
}

// ---- CPU time, for "what bounds it" -------------------------------------------------

/// What /proc/PID/stat says of a process: its parent and its CPU seconds so far.
struct ProcStat {
  pid_t parent = -1;
  double cpu_seconds = 0;  // utime + stime (fields 14 and 15)
};

/// /proc/PID/stat of `pid`; parent -1 when the process is gone.
inline ProcStat proc_stat(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos || close + 2 > text.size()) return {};
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  ProcStat out;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 4) out.parent = pid_t(std::stol(field));
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  out.cpu_seconds = double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
  return out;
}

/// utime + stime of a process, in seconds.
inline double cpu_seconds_of(pid_t pid) { return proc_stat(pid).cpu_seconds; }

/// The postmaster of the PostgreSQL cluster a store URI reaches through a Unix socket
/// directory that is also the cluster's directory (`?host=DIR`, DIR/data/postmaster.pid:
/// the layout of scripts/pg-cluster), or -1 (another store, or a cluster elsewhere).
inline pid_t cluster_postmaster(const std::string& uri) {
  if (uri.rfind("postgres", 0) != 0) return -1;
  const auto query = uri.find('?');
  if (query == std::string::npos) return -1;
  std::string host;
  std::istringstream params(uri.substr(query + 1));
  for (std::string param; std::getline(params, param, '&');) {
    if (param.rfind("host=", 0) == 0) host = param.substr(5);
  }
  for (std::size_t at = host.find("%2F"); at != std::string::npos; at = host.find("%2F")) {
    host.replace(at, 3, "/");
  }
  if (host.empty() || host[0] != '/') return -1;
  std::ifstream pid_file(std::filesystem::path(host) / "data" / "postmaster.pid");
  long pid = -1;
  if (!(pid_file >> pid) || pid <= 0) return -1;
  return pid_t(pid);
}

/// CPU seconds of a PostgreSQL cluster: its postmaster and every process it forked
/// (backends, WAL writer, checkpointer...), other processes on the machine left out.
inline double cluster_cpu_seconds(pid_t postmaster) {
  double total = cpu_seconds_of(postmaster);
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const ProcStat stat = proc_stat(pid_t(std::stol(name)));
    if (stat.parent == postmaster) total += stat.cpu_seconds;
  }
  return total;
}

/// utime + stime of this process, in seconds.
inline double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ---- the server, in a child process -----------------------------------------------

/// `uri` fit for a log line or a report: a password in it (`USER:PASSWORD@`, or a
/// `password=` parameter) replaced by `***`.
inline std::string redacted(std::string uri) {
  if (const auto scheme = uri.find("://"); scheme != std::string::npos) {
    const auto host_end = uri.find_first_of("/?", scheme + 3);
    const auto at = uri.rfind('@', host_end == std::string::npos ? uri.size() : host_end);
    const auto colon = uri.find(':', scheme + 3);
    if (at != std::string::npos && at > scheme && colon < at) {
      uri.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (auto at = uri.find("password="); at != std::string::npos;
       at = uri.find("password=", at + 1)) {
    const auto end = uri.find('&', at);
    uri.replace(at + 9, (end == std::string::npos ? uri.size() : end) - at - 9, "***");
  }
  return uri;
}

/// `appkeys serve` in a child process, stopped with SIGTERM (and waited for) on
/// destruction. Start it before any other thread: fork() copies only the caller.
///
/// Thread safety: one owner; base_url() and pid() may be read from any thread.
class ServerProcess {
 public:
  /// Runs `args` (args[0]: the appkeys binary; then "serve" and its flags) and waits
  /// for its first line; throws if it does not start.
  explicit ServerProcess(std::vector<std::string> args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      if (int null = ::open("/dev/null", O_WRONLY); null >= 0) ::dup2(null, STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(args[0].c_str(), argv.data());
      std::perror("store_bench: exec appkeys serve");
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c = 0;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) {
      stop();
      // Names the store, never the --user arguments (they hold passwords).
      std::string store;
      for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "--store") store = args[i + 1];
      }
      throw std::runtime_error("appkeys serve --store " + redacted(store) + " did not start");
    }
    base_url_ = line.substr(prefix.size());
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { stop(); }

  /// http://127.0.0.1:PORT, from the server's first line.
  const std::string& base_url() const { return base_url_; }
  /// The child's process id.
  pid_t pid() const { return pid_; }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  pid_t pid_ = -1;
  std::string base_url_;
};

/// The p50 of overwriting one 4 KiB block and fdatasync-ing it in `dir`: about what a
/// durable commit waits for (SQLite's WAL reuses its file, so a commit rewrites blocks
/// in place and syncs them).
inline double fsync_p50_us(const std::string& dir) {
  const std::filesystem::path path = std::filesystem::path(dir) / "store_bench_fsync.tmp";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  std::vector<double> times;
  const std::string block(4096, 'x');
  if (::pwrite(fd, block.data(), block.size(), 0) == ssize_t(block.size()) && ::fsync(fd) == 0) {
    for (int i = 0; i < 100; ++i) {
      const auto start = Clock::now();
      if (::pwrite(fd, block.data(), block.size(), 0) != ssize_t(block.size())) break;
      if (::fdatasync(fd) != 0) break;
      times.push_back(micros(Clock::now() - start));
    }
  }
  ::close(fd);
  std::filesystem::remove(path);
  return percentile(times, 0.5);
}

}  // namespace store_bench
