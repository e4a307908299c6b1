// Many calls in flight from one thread, over CurlMultiTransport (libcurl's multi
// interface, one event-loop thread for every exchange): 2,000 fetches as callbacks
// (CallbackExec) and 10,000 as futures (FutureExec), all started before any is waited
// for, against a LocalServer that answers every request after 100 ms, as a remote
// server would. Then an App is destroyed while calls are still in flight: each of them
// still completes exactly once, with its answer or errc::shutting_down, before the
// destructor returns.
//
//     many_calls_async [callbacks [futures [delay_ms]]]     (defaults: 2000 10000 100)
//
// What is checked is every count; the times and thread counts are printed, not checked.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl_multi.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ak = appkeys;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::duration<double, std::milli>;

namespace {

constexpr std::size_t calls_at_shutdown = 300;

/// The count in argv[index], or `fallback` when absent or not a number.
std::size_t argument(int argc, char** argv, int index, std::size_t fallback) {
  if (argc <= index) return fallback;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(argv[index], &end, 10);
  return end != argv[index] && *end == '\0' ? static_cast<std::size_t>(value) : fallback;
}

/// The threads of this process (Linux: /proc/self/status), or -1 where unknown.
long thread_count() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::strtol(line.c_str() + 8, nullptr, 10);
  }
  return -1;
}

/// Counts handlers, which run on the transport's loop thread (or inline), and lets the
/// starting thread wait for a number of them.
class Tally {
 public:
  /// Counts one handler; `why` (an AppError's message, never a secret) says what went
  /// wrong when !ok, and the first such reason is kept for the report.
  void add(bool ok, std::string_view why = {}) {
    // Notify under the lock: the waiter may destroy this Tally as soon as it sees the
    // count, which must not happen while this handler is still inside notify_all.
    std::lock_guard lock(mutex_);
    ++done_;
    if (!ok) {
      if (failed_++ == 0) first_failure_ = why.empty() ? "a wrong key" : std::string(why);
    }
    changed_.notify_all();
  }
  std::string first_failure() {
    std::lock_guard lock(mutex_);
    return first_failure_;
  }
  void wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return done_ >= count; });
  }
  std::size_t done() {
    std::lock_guard lock(mutex_);
    return done_;
  }
  std::size_t failed() {
    std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  std::string first_failure_;
};

ak::AppConfig config(const std::string& base_url) {
  return {.app_id = "shop-abcde", .base_url = base_url};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t callback_calls = argument(argc, argv, 1, 2000);
  const std::size_t future_calls = argument(argc, argv, 2, 10000);
  const auto delay = std::chrono::milliseconds(argument(argc, argv, 3, 100));
  ak::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "pw-of-ann");
  ak::testing::LocalServer server{backend, {.delay = delay}};
  {
    // The server starts its worker threads with its first connection: one blocking
    // call (SyncExec works over CurlMultiTransport too) gets them counted before ours.
    ak::App<ak::CurlMultiTransport> warm_up(config(server.base_url()));
    warm_up.log_in(ak::Credentials::anonymous());
  }
  const long threads_before = thread_count();  // the server's own threads
  int status = 0;

  try {
    // Declared before the Apps: a handler still in flight when an exception unwinds this
    // block runs (with shutting_down) inside ~App, and must find it alive.
    Tally tally;
    // One transport: 64 connections to the server at most; calls beyond them wait in
    // the transport's queue, holding no thread.
    ak::App<ak::CurlMultiTransport, ak::CallbackExec> app(config(server.base_url()));
    std::promise<ak::Result<ak::User>> login;
    app.log_in(ak::Credentials::email_password("ann@example.com", "pw-of-ann"))
        .then([&](ak::Result<ak::User> user) { login.set_value(std::move(user)); });
    ak::User user = login.get_future().get().value();  // throws AppError on failure
    auto keys = app.api_keys(user);

    std::promise<ak::Result<ak::ApiKey>> creating;
    keys.create("reporting").then([&](ak::Result<ak::ApiKey> key) {
      creating.set_value(std::move(key));
    });
    const ak::ObjectId id = creating.get_future().get().value().id;

    // FutureExec over CurlMultiTransport holds no thread per call (its pool never
    // starts): a second App, with a transport (and loop thread) of its own.
    ak::App<ak::CurlMultiTransport, ak::FutureExec> future_app(config(server.base_url()));
    ak::User future_user =
        future_app.log_in(ak::Credentials::email_password("ann@example.com", "pw-of-ann")).get();
    auto future_keys = future_app.api_keys(future_user);

    // Every call started from this thread before any is waited for. Each handler runs
    // exactly once, on the transport's loop thread: it must be quick and must not block
    // there.
    long peak_threads = thread_count();
    const auto start = Clock::now();
    // The futures first: they take longest, so the callbacks join them in flight.
    std::vector<std::future<ak::ApiKey>> fetching;
    fetching.reserve(future_calls);
    for (std::size_t i = 0; i < future_calls; ++i) fetching.push_back(future_keys.fetch(id));
    for (std::size_t i = 0; i < callback_calls; ++i) {
      keys.fetch(id).then([&tally, &id](ak::Result<ak::ApiKey> key) {
        tally.add(key.has_value() && key.value().id == id, key ? "" : key.error().what());
      });
    }
    const auto started = Clock::now();
    const std::size_t futures_pending = static_cast<std::size_t>(
        std::count_if(fetching.begin(), fetching.end(), [](const std::future<ak::ApiKey>& f) {
          return f.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
        }));
    peak_threads = std::max(peak_threads, thread_count());
    std::cout << "started " << callback_calls << " callbacks and " << future_calls
              << " futures from one thread in " << Millis(started - start).count()
              << " ms; then still in flight: " << callback_calls - tally.done() << " callbacks, "
              << futures_pending << " futures\n";

    std::size_t right = 0;
    for (auto& future : fetching) right += future.get().id == id ? 1 : 0;  // throws AppError
    tally.wait_for(callback_calls);
    peak_threads = std::max(peak_threads, thread_count());
    std::cout << callback_calls << " callbacks: " << tally.done() << " done, " << tally.failed()
              << " failed; " << future_calls << " futures: " << right << " right; "
              << Millis(Clock::now() - start).count() << " ms with the server " << delay.count()
              << " ms away\n";
    if (tally.failed() != 0) std::cout << "first failure: " << tally.first_failure() << '\n';
    if (tally.done() != callback_calls || tally.failed() != 0) status = 1;
    if (right != future_calls) status = 1;

    std::cout << "threads this client added at most: " << peak_threads - threads_before
              << " (the server's are not counted)\n";
  } catch (const ak::AppError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }

  // Destroying an App with calls in flight: every handler still runs exactly once
  // (with the key, or errc::shutting_down) before the destructor returns, and none after.
  Tally shutdown;
  std::atomic<std::size_t> shutting_down{0};
  {
    ak::App<ak::CurlMultiTransport, ak::CallbackExec> app(config(server.base_url()));
    ak::User user = [&] {
      std::promise<ak::Result<ak::User>> login;
      app.log_in(ak::Credentials::email_password("ann@example.com", "pw-of-ann"))
          .then([&](ak::Result<ak::User> result) { login.set_value(std::move(result)); });
      return login.get_future().get().value();
    }();
    auto keys = app.api_keys(user);
    for (std::size_t i = 0; i < calls_at_shutdown; ++i) {
      keys.fetch_all().then([&](ak::Result<std::vector<ak::ApiKey>> all) {
        if (!all && all.error().code() == ak::errc::shutting_down) ++shutting_down;
        shutdown.add(all.has_value() || all.error().code() == ak::errc::shutting_down,
                     all ? "" : all.error().what());
      });
    }
  }  // ~App, with most of them still queued or at the server
  std::cout << calls_at_shutdown << " calls in flight at ~App: " << shutdown.done()
            << " completed by the time it returned (" << shutting_down.load()
            << " with shutting_down), " << shutdown.failed() << " otherwise failed\n";
  if (shutdown.failed() != 0) std::cout << "first failure: " << shutdown.first_failure() << '\n';
  if (shutdown.done() != calls_at_shutdown || shutdown.failed() != 0) status = 1;
  return status;
}
