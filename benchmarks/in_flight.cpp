// in_flight: throughput at a fixed number of calls in flight, against a server that
// answers every request after a delay (100 ms by default), as a remote server would.
//
// Not a Google Benchmark loop: each run keeps exactly N fetches of one key in flight
// (a finished call starts the next) for a few seconds, then reports calls/s against the
// limit (connections ÷ delay), the process's peak thread count and its resident memory
// per call in flight. The server is `appkeys serve --delay-ms D` in a child process, so
// the threads and memory measured here are the client's alone.
//
//   in_flight [--server PATH] [--delay-ms 100] [--seconds 3] [--in-flight 1,64,256,1024,10000]
//             [--json FILE]
//
// Written only against the public names of DESIGN.md. Calls are started from one
// thread: futures are waited for oldest first, callbacks start the next call from their
// handler, coroutines are one detached coroutine per slot awaiting in a loop.
#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/curl_multi.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef APPKEYS_SERVE_BINARY
#define APPKEYS_SERVE_BINARY "appkeys"
#endif

namespace ak = appkeys;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

namespace {

constexpr const char* email = "bench@example.com";
constexpr const char* password = "bench-password";

struct Settings {
  std::string server = APPKEYS_SERVE_BINARY;
  long delay_ms = 100;
  double seconds = 3.0;
  std::vector<std::size_t> in_flight{1, 64, 256, 1024, 10000};
  std::size_t connection_cap = 256;  // tuned pools and CurlMultiTransport's max_connections
  std::string json;
  std::string only;  // run only configurations whose name contains this
};

// ---- the process: threads and resident memory -------------------------------------

long status_field(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::size_t length = std::strlen(field);
  while (std::getline(status, line)) {
    if (line.compare(0, length, field) == 0 && line.size() > length && line[length] == ':') {
      return std::strtol(line.c_str() + length + 1, nullptr, 10);
    }
  }
  return -1;
}

long threads_now() { return status_field("Threads"); }
long rss_kib_now() { return status_field("VmRSS"); }

/// Peaks seen by the one thread that samples (the one that started the calls).
struct Peaks {
  long threads = 0;
  long rss_kib = 0;
  Clock::time_point last = Clock::time_point::min();

  void sample(bool force = false) {
    const auto now = Clock::now();
    if (!force && now - last < std::chrono::milliseconds(20)) return;
    last = now;
    threads = std::max(threads, threads_now());
    rss_kib = std::max(rss_kib, rss_kib_now());
  }
};

// ---- the server, in a child process -----------------------------------------------

class ServerProcess {
 public:
  ServerProcess(const Settings& settings, std::size_t threads) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    const std::string delay = std::to_string(settings.delay_ms);
    const std::string thread_count = std::to_string(threads);
    const std::string user = std::string(email) + ':' + password;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      if (int null = ::open("/dev/null", O_WRONLY); null >= 0) ::dup2(null, STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      // An in-memory store: nothing lands on disk, and every run starts empty.
      const char* argv[] = {settings.server.c_str(),
                            "serve",
                            "--store",
                            "memory:",
                            "--delay-ms",
                            delay.c_str(),
                            "--threads",
                            thread_count.c_str(),
                            "--user",
                            user.c_str(),
                            nullptr};
      ::execv(settings.server.c_str(), const_cast<char* const*>(argv));
      std::perror("in_flight: exec appkeys serve");
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c = 0;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);  // the server's later lines (none without --log) go nowhere
    const std::string prefix = "listening on ";
    if (line.rfind(prefix, 0) != 0) {
      stop();
      throw std::runtime_error("appkeys serve did not start (first line: '" + line + "')");
    }
    base_url_ = line.substr(prefix.size());
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { stop(); }

  const std::string& base_url() const { return base_url_; }

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

// ---- one run ----------------------------------------------------------------------

struct Outcome {
  std::string config;
  std::size_t in_flight = 0;
  std::size_t connections = 0;  // what bounds the calls at the server at once
  std::size_t completed = 0;
  std::size_t failed = 0;
  std::size_t peak_in_flight = 0;
  double seconds = 0;
  long peak_threads = 0;
  double rss_kib_per_call = 0;
  std::string first_error;
};

/// Counts shared by the thread that starts calls and the threads that complete them.
///
/// A slot (one chain of calls, each started when the previous one finished) stays open
/// until it starts no more calls. The drain waits for the slots, not for `finished` to
/// reach `started`: between one call's finish and the next call's start the two are
/// equal, and a drain that returned there would destroy the App under the next call.
struct Counters {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t open_slots = 0;
  std::size_t started = 0;
  std::size_t finished = 0;
  std::size_t failed = 0;
  std::size_t peak_in_flight = 0;
  std::string first_error;
  Clock::time_point last_finish;

  void open_slot() {
    std::lock_guard lock(mutex);
    ++open_slots;
  }
  /// The slot's last call has finished and it starts no more.
  /// Notifies under the lock: once the last slot closes the drain returns and the Run,
  /// these counters included, may be gone before a notify outside it would run.
  void close_slot() {
    std::lock_guard lock(mutex);
    --open_slots;
    changed.notify_all();
  }
  void on_start() {
    std::lock_guard lock(mutex);
    ++started;
    peak_in_flight = std::max(peak_in_flight, started - finished);
  }
  void on_finish(const ak::AppError* error) {
    {
      std::lock_guard lock(mutex);
      ++finished;
      last_finish = Clock::now();
      if (error != nullptr) {
        if (failed++ == 0) first_error = error->what();
      }
    }
    changed.notify_all();
  }
};

template <class T>
const ak::AppError* error_of(const ak::Result<T>& result) {
  return result ? nullptr : &result.error();
}

/// Logs in and makes sure the user has one key to fetch; returns its id.
ak::ObjectId prepare_key(const std::string& base_url) {
  ak::App<ak::CurlTransport> app({.app_id = "bench", .base_url = base_url});
  ak::User user = app.log_in(ak::Credentials::email_password(email, password));
  auto keys = app.api_keys(user);
  auto all = keys.fetch_all();
  if (!all.empty()) return all.front().id;
  return keys.create("in-flight").id;
}

/// A coroutine that starts at once and frees itself when done: the benchmark's own
/// detached driver for Task, so one thread can start many coroutines.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

/// One measurement: `in_flight` slots, each running one call after another until the
/// deadline. A call that fails ends its slot (it is counted, and the table shows it):
/// a failure that completes inline would otherwise be retried at once, over and over,
/// on the thread that ran it.
struct Run {
  const Settings& settings;
  std::size_t in_flight;
  Clock::time_point deadline;
  Counters counters;
  Peaks peaks;

  std::shared_ptr<void> keep_alive;  // what handlers use, kept until the App is gone

  bool may_start() const { return Clock::now() < deadline; }
  /// Past it the run stops waiting: the App's destruction ends what is left.
  Clock::time_point give_up() const { return deadline + std::chrono::seconds(10); }

  /// Waits, sampling, until every slot has closed (or give_up()).
  void drain() {
    const auto give_up = this->give_up();
    std::unique_lock lock(counters.mutex);
    while (counters.open_slots > 0 && Clock::now() < give_up) {
      counters.changed.wait_for(lock, std::chrono::milliseconds(20));
      lock.unlock();
      peaks.sample();
      lock.lock();
    }
  }

  // FutureExec: keep N futures, wait for the oldest, start one in its place.
  template <class Keys>
  void futures(Keys& keys, const ak::ObjectId& id) {
    std::deque<std::future<ak::ApiKey>> pending;
    auto start = [&] {
      counters.on_start();
      pending.push_back(keys.fetch(id));
    };
    for (std::size_t i = 0; i < in_flight && may_start(); ++i) start();
    peaks.sample(true);
    while (!pending.empty()) {
      auto& oldest = pending.front();
      while (oldest.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
        peaks.sample();
        if (Clock::now() > give_up()) return;  // ~App settles the rest
      }
      bool ok = true;
      try {
        oldest.get();
        counters.on_finish(nullptr);
      } catch (const ak::AppError& error) {
        counters.on_finish(&error);
        ok = false;
      }
      pending.pop_front();
      if (ok && may_start()) start();  // a failure ends its slot: see Run
    }
  }

  // CallbackExec: each handler starts the next call. A handler that runs inline, inside
  // the then() that started it, hands the restart back to the loop below instead of
  // recursing (so an executor that completes inline cannot grow the stack).
  template <class Keys>
  void callbacks(Keys& keys, const ak::ObjectId& id) {
    struct Launcher {
      Launcher(Run& r, Keys& k, const ak::ObjectId& i) : run(r), keys(k), id(i) {}
      Run& run;
      Keys& keys;
      const ak::ObjectId& id;
      std::mutex mutex;
      std::size_t owed = 0;  // calls to start, by whoever holds `launching`
      bool launching = false;

      void request(std::size_t count) {
        std::unique_lock lock(mutex);
        owed += count;
        if (launching) return;
        launching = true;
        while (owed > 0) {
          --owed;
          lock.unlock();
          if (run.may_start()) {
            run.counters.on_start();
            keys.fetch(id).then([this](ak::Result<ak::ApiKey> key) {
              run.counters.on_finish(error_of(key));
              if (key) {
                request(1);
              } else {
                run.counters.close_slot();  // a failure ends its slot: see Run
              }
            });
          } else {
            run.counters.close_slot();  // the deadline passed: this slot is done
          }
          lock.lock();
        }
        launching = false;
      }
    };
    auto launcher = std::make_shared<Launcher>(*this, keys, id);
    keep_alive = launcher;
    for (std::size_t i = 0; i < in_flight; ++i) counters.open_slot();
    launcher->request(in_flight);
    peaks.sample(true);
    drain();
  }

  // CoroExec: one detached coroutine per slot, awaiting one call after another.
  template <class Keys>
  void coroutines(Keys& keys, const ak::ObjectId& id) {
    auto slot = [](Run& run, Keys& keys, const ak::ObjectId& id) -> Detached {
      while (run.may_start()) {
        run.counters.on_start();
        ak::Result<ak::ApiKey> key = co_await keys.fetch(id).as_result();
        run.counters.on_finish(error_of(key));
        if (!key) break;  // a failure ends its slot: see Run
      }
      run.counters.close_slot();  // the last thing the coroutine touches
    };
    for (std::size_t i = 0; i < in_flight && may_start(); ++i) {
      counters.open_slot();
      slot(*this, keys, id);
    }
    peaks.sample(true);
    drain();
  }
};

/// Waits for one call's value from plain code, whatever the executor returned.
template <class T>
T wait_for(std::future<T> future) {
  return future.get();
}
template <class T>
T wait_for(ak::Task<T> task) {
  return ak::sync_wait(std::move(task));
}
template <class T>
T wait_for(ak::Deferred<T> call) {
  std::promise<ak::Result<T>> promise;
  auto future = promise.get_future();
  std::move(call).then([&promise](ak::Result<T> result) { promise.set_value(std::move(result)); });
  return future.get().value();
}

enum class Style { futures, callbacks, coroutines };

template <class Transport, class Exec, Style style>
Outcome measure(const Settings& settings, const std::string& name, const std::string& base_url,
                const ak::ObjectId& id, std::size_t in_flight, std::size_t connections,
                std::function<Transport()> make_transport, std::function<Exec()> make_exec) {
  Run run{settings, in_flight, {}, {}, {}, {}};
  const long rss_before = rss_kib_now();
  Outcome outcome;
  {
    ak::App<Transport, Exec> app({.app_id = "bench", .base_url = base_url}, make_transport(),
                                 make_exec());
    // The login goes through the same App, before the clock starts.
    ak::User user = wait_for(app.log_in(ak::Credentials::email_password(email, password)));
    auto keys = app.api_keys(user);
    const auto start = Clock::now();
    run.deadline = start + std::chrono::duration_cast<Clock::duration>(Seconds(settings.seconds));
    run.counters.last_finish = start;
    if constexpr (style == Style::futures) run.futures(keys, id);
    if constexpr (style == Style::callbacks) run.callbacks(keys, id);
    if constexpr (style == Style::coroutines) run.coroutines(keys, id);
    run.peaks.sample(true);
    std::lock_guard lock(run.counters.mutex);
    outcome.seconds = Seconds(run.counters.last_finish - start).count();
  }  // the App goes here, with any call the drain gave up on
  std::lock_guard lock(run.counters.mutex);
  outcome.config = name;
  outcome.in_flight = in_flight;
  outcome.connections = std::min(in_flight, connections);
  outcome.completed = run.counters.finished - run.counters.failed;
  // Calls the run gave up waiting for count as failed.
  outcome.failed = run.counters.failed + (run.counters.started - run.counters.finished);
  outcome.peak_in_flight = run.counters.peak_in_flight;
  outcome.peak_threads = run.peaks.threads;
  outcome.rss_kib_per_call =
      static_cast<double>(std::max(0L, run.peaks.rss_kib - rss_before)) / double(in_flight);
  outcome.first_error = run.counters.first_error;
  return outcome;
}

double limit_of(const Outcome& o, long delay_ms) {
  return double(o.connections) * 1000.0 / double(delay_ms);
}

void print_row(const Outcome& o, long delay_ms) {
  const double rate = o.seconds > 0 ? double(o.completed) / o.seconds : 0;
  const double limit = limit_of(o, delay_ms);
  std::printf("| %-37s | %6zu | %9.0f | %7.0f | %5.0f %% | %7zu | %4ld | %9.1f KiB | %zu |\n",
              o.config.c_str(), o.in_flight, rate, limit, limit > 0 ? 100.0 * rate / limit : 0,
              o.peak_in_flight, o.peak_threads, o.rss_kib_per_call, o.failed);
  std::fflush(stdout);
  if (!o.first_error.empty()) std::fprintf(stderr, "  first error: %s\n", o.first_error.c_str());
}

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) out.push_back(std::stoul(item));
  return out;
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--server")
      s.server = value();
    else if (arg == "--delay-ms")
      s.delay_ms = std::stol(value());
    else if (arg == "--seconds")
      s.seconds = std::stod(value());
    else if (arg == "--in-flight")
      s.in_flight = parse_list(value());
    else if (arg == "--connections")
      s.connection_cap = std::stoul(value());
    else if (arg == "--json")
      s.json = value();
    else if (arg == "--only")
      s.only = value();
    else
      throw std::invalid_argument("unknown argument " + arg);
  }
  if (s.delay_ms <= 0 || s.seconds <= 0 || s.connection_cap == 0) {
    throw std::invalid_argument("--delay-ms, --seconds and --connections must be positive");
  }
  return s;
}

std::string to_json(const Outcome& o, long delay_ms) {
  std::ostringstream out;
  out << "{\"config\": \"" << o.config << "\", \"in_flight\": " << o.in_flight
      << ", \"connections\": " << o.connections << ", \"completed\": " << o.completed
      << ", \"failed\": " << o.failed << ", \"seconds\": " << o.seconds
      << ", \"calls_per_second\": " << (o.seconds > 0 ? double(o.completed) / o.seconds : 0)
      << ", \"limit\": " << limit_of(o, delay_ms) << ", \"peak_in_flight\": " << o.peak_in_flight
      << ", \"peak_threads\": " << o.peak_threads
      << ", \"rss_kib_per_call\": " << o.rss_kib_per_call << "}";
  return out.str();
}

void write_json(const Settings& s, const std::vector<std::string>& runs) {
  std::ofstream out(s.json);
  out << "{\"delay_ms\": " << s.delay_ms << ", \"seconds\": " << s.seconds << ", \"runs\": [";
  for (std::size_t i = 0; i < runs.size(); ++i) out << (i ? ",\n  " : "\n  ") << runs[i];
  out << "\n]}\n";
}

/// Runs `measure` in a child process of its own, so its threads and resident memory
/// start from the same clean state as every other run's (freed heap is not returned to
/// the system, so a run after a bigger one would look free). The child prints its row
/// and hands its JSON back through a pipe.
std::string in_child(const std::function<Outcome()>& measure, long delay_ms) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::fflush(stdout);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(out[0]);
    int code = 0;
    try {
      const Outcome o = measure();
      print_row(o, delay_ms);
      const std::string json = to_json(o, delay_ms);
      if (::write(out[1], json.data(), json.size()) != static_cast<ssize_t>(json.size())) code = 1;
    } catch (const std::exception& error) {
      std::fprintf(stderr, "in_flight: %s\n", error.what());
      code = 1;
    }
    std::fflush(stdout);
    ::_exit(code);
  }
  ::close(out[1]);
  std::string json;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;)
    json.append(buffer, std::size_t(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return json;
}

}  // namespace

int main(int argc, char** argv) try {
  const Settings settings = parse(argc, argv);
  const std::size_t cap = settings.connection_cap;
  ServerProcess server(settings, std::max<std::size_t>(cap, 64) + 64);
  const ak::ObjectId id = prepare_key(server.base_url());

  std::printf("in_flight: delay %ld ms, %.1f s per run, server %s, connections capped at %zu\n\n",
              settings.delay_ms, settings.seconds, server.base_url().c_str(), cap);
  std::printf(
      "| configuration | in flight | calls/s | limit | %% of limit | peak in flight | "
      "threads | memory per call in flight | failed or cut off |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");

  std::vector<std::string> runs;
  auto wanted = [&](const std::string& name) {
    return settings.only.empty() || name.find(settings.only) != std::string::npos;
  };
  auto record = [&](std::function<Outcome()> measure) {
    if (std::string json = in_child(measure, settings.delay_ms); !json.empty()) {
      runs.push_back(std::move(json));
    }
  };

  for (std::size_t n : settings.in_flight) {
    const std::size_t tuned = std::min(n, cap);
    const std::size_t multi_connections = std::min(n, cap);
    using ak::CurlMultiTransport;
    using ak::CurlTransport;

    if (wanted("FutureExec / CurlTransport (defaults)")) {
      record([&] {
        return measure<CurlTransport, ak::FutureExec, Style::futures>(
            settings, "FutureExec / CurlTransport (defaults)", server.base_url(), id, n,
            std::min(ak::FutureExec::default_thread_count, std::size_t{8}),
            [] { return CurlTransport{}; }, [] { return ak::FutureExec{}; });
      });
    }
    if (wanted("FutureExec / CurlTransport (tuned)")) {
      record([&] {
        return measure<CurlTransport, ak::FutureExec, Style::futures>(
            settings, "FutureExec / CurlTransport (tuned)", server.base_url(), id, n, tuned,

            [tuned] { return CurlTransport{ak::CurlTransportOptions{.max_connections = tuned}}; },
            [tuned] { return ak::FutureExec{tuned}; });
      });
    }
    auto multi = [multi_connections] {
      CurlMultiTransport::Options options;
      options.max_connections = multi_connections;
      return CurlMultiTransport{options};
    };
    if (wanted("FutureExec / CurlMultiTransport")) {
      record([&] {
        return measure<CurlMultiTransport, ak::FutureExec, Style::futures>(
            settings, "FutureExec / CurlMultiTransport", server.base_url(), id, n,
            multi_connections, multi, [] { return ak::FutureExec{}; });
      });
    }
    if (wanted("CallbackExec / CurlMultiTransport")) {
      record([&] {
        return measure<CurlMultiTransport, ak::CallbackExec, Style::callbacks>(
            settings, "CallbackExec / CurlMultiTransport", server.base_url(), id, n,
            multi_connections, multi, [] { return ak::CallbackExec{}; });
      });
    }
    if (wanted("CoroExec / CurlMultiTransport")) {
      record([&] {
        return measure<CurlMultiTransport, ak::CoroExec, Style::coroutines>(
            settings, "CoroExec / CurlMultiTransport", server.base_url(), id, n, multi_connections,
            multi, [] { return ak::CoroExec{}; });
      });
    }
  }
  std::printf(
      "\nlimit = min(in flight, connections) / delay; threads = the peak of Threads in "
      "/proc/self/status; memory = (peak VmRSS - VmRSS before the App) / in flight.\n");
  if (!settings.json.empty()) write_json(settings, runs);
  return 0;
} catch (const std::exception& error) {
  std::fprintf(stderr, "in_flight: %s\n", error.what());
  return 1;
}
