// appkeys — the event loop behind CurlMultiTransport: one thread drives one CURLM; other
// threads only queue work and wake it.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/curl_detail/configure.hpp>
#include <appkeys/transport/curl_detail/handles.hpp>
#include <appkeys/transport/curl_detail/multi_call.hpp>
#include <appkeys/transport/curl_detail/multi_handles.hpp>
#include <appkeys/transport/curl_detail/multi_intake.hpp>
#include <appkeys/transport/curl_detail/outcome.hpp>
#include <appkeys/transport/curl_detail/prepared.hpp>
#include <appkeys/transport/curl_options.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace appkeys::curl_detail {

/// The options of CurlMultiTransport (its public name is CurlMultiTransport::Options).
using MultiOptions = BasicCurlOptions<MultiTransportTraits>;

/// Everything one CurlMultiTransport owns. Kept in a shared_ptr that the loop thread
/// holds too, so that when the transport's last owner is released on the loop thread
/// itself (inside a completion), the loop can finish and free it alone.
///
/// Thread safety: async_send, after and shut_down may be called from any thread; they
/// reach the loop through its MultiIntake, and every other member is touched by the
/// loop thread alone (or, for thread_, by the owner).
class MultiLoop : public std::enable_shared_from_this<MultiLoop> {
 public:
  using Timer = curl_detail::Timer;

  explicit MultiLoop(MultiOptions options)
      : options_(with_a_connection(std::move(options))), curl_(options_.max_connections) {
    intake_.wake_through(curl_.multi());
  }

  MultiLoop(const MultiLoop&) = delete;
  MultiLoop& operator=(const MultiLoop&) = delete;

  /// Starts the loop thread; false (and every call then fails inline) when libcurl
  /// could not be set up.
  bool start() {
    if (curl_.multi() == nullptr) return false;
    thread_ = std::thread([self = shared_from_this()] { self->run(); });
    loop_id_.store(thread_.get_id());
    return true;
  }

  const MultiOptions& options() const noexcept { return options_; }

  bool in_loop_thread() const noexcept { return loop_id_.load() == std::this_thread::get_id(); }

  /// Takes one exchange; its completion runs on the loop thread, or inline here when
  /// the request is refused before any I/O, `stop` was already requested, or the loop is
  /// shutting down. Once `stop` is requested the loop abandons the exchange: it removes
  /// the transfer from the multi handle (closing its connection) and completes it with
  /// errc::cancelled.
  void async_send(HttpRequest request, Completion completion, std::stop_token stop = {}) {
    MultiCallList one;
    MultiCall& call = one.emplace_back();
    call.self = one.begin();
    call.request = std::move(request);
    call.completion = std::move(completion);
    // The deadline starts now: time spent queued counts against the request's timeout.
    call.deadline = Clock::now() + capped_timeout(call.request);
    if (curl_.multi() == nullptr) {
      return run_completion(call.completion, AppError(errc::transport,
                                                      "CurlMultiTransport: libcurl could not "
                                                      "be initialised"));
    }
    // Checks that need no I/O run here, on the caller's thread, so a refused request
    // never reaches the loop.
    auto prepared = prepare(call.request, options_);
    if (!prepared) return run_completion(call.completion, std::move(prepared).error());
    call.prepared = std::move(*prepared);
    call.origin = origin_of(call.prepared.target.url.get());
    if (stop.stop_requested()) return run_completion(call.completion, cancelled());
    if (intake_.submit(one, stop)) return;
    run_completion(call.completion, shutting_down());
  }

  /// Runs `fn` on the loop thread once `delay` has passed; dropped if the loop shuts
  /// down first.
  void after(std::chrono::milliseconds delay, Timer fn) {
    const auto when =
        Clock::now() +
        std::max(std::chrono::milliseconds(0),
                 std::min(delay, std::chrono::milliseconds(std::chrono::hours(24 * 365))));
    intake_.add_timer(when, std::move(fn));
  }

  /// Stops intake, has the loop complete every call with errc::shutting_down, and
  /// waits for it, unless called on the loop thread itself (a completion releasing the
  /// transport's last owner): a thread cannot join itself, so the loop is left to
  /// finish on its own after the current completion returns; it holds its own
  /// reference to this object, so nothing it touches is freed under it.
  void shut_down() {
    if (!intake_.close()) return;
    if (!thread_.joinable()) return;
    if (std::this_thread::get_id() == thread_.get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

 private:
  /// max_connections as the loop applies it: 0 is taken as 1.
  static MultiOptions with_a_connection(MultiOptions options) {
    if (options.max_connections == 0) options.max_connections = 1;
    return options;
  }

  static AppError cancelled() {
    return AppError(errc::cancelled, "CurlMultiTransport: the call was cancelled");
  }

  static AppError shutting_down() {
    return AppError(errc::shutting_down,
                    "CurlMultiTransport: the transport was destroyed with the call in flight");
  }

  struct Finished {
    Completion completion;
    Result<HttpResponse> result;
  };

  void run() {
    std::vector<Finished> finished;
    MultiCallList fresh;
    QueuedTimers fresh_timers;
    for (;;) {
      const bool stopping = intake_.take(fresh, fresh_timers);
      while (!fresh.empty()) queue(fresh, fresh.begin());
      for (auto& [when, fn] : fresh_timers) timers_.emplace(when, std::move(fn));
      fresh_timers.clear();
      if (stopping) break;

      abandon_cancelled(finished);
      expire_waiting(finished);
      admit(finished);
      int still_running = 0;
      curl_multi_perform(curl_.multi(), &still_running);
      collect(finished);
      // Calls that finished made room: start the next ones before waiting again.
      admit(finished);
      // Completions run here, outside every libcurl callback and holding no lock: a
      // completion may call async_send (it lands in the intake and wakes this loop).
      for (auto& done : finished) run_completion(done.completion, std::move(done.result));
      finished.clear();
      run_due_timers();

      curl_multi_poll(curl_.multi(), nullptr, 0, wait_ms(), nullptr);
    }
    drain();
  }

  /// Moves a fresh call into its host's waiting line, ordered by arrival.
  void queue(MultiCallList& from, MultiCallList::iterator it) {
    MultiCall& call = *it;
    MultiHost& host = hosts_[call.origin];
    call.host = &host;
    host.waiting.splice(host.waiting.end(), from, it);
    call.queued_deadline = deadlines_.emplace(call.deadline, &call);
  }

  /// Abandons every call whose stop was requested: a waiting call leaves its line
  /// unsent; a running one is removed from the multi handle, which closes its
  /// connection mid-transfer. Each completes with errc::cancelled.
  void abandon_cancelled(std::vector<Finished>& finished) {
    std::vector<MultiCall*> cancels;
    intake_.take_cancels(cancels);
    for (MultiCall* call : cancels) {
      // Requested after this round took the intake: it sits there still, flagged, and
      // comes back here (as a waiting call) once queued.
      if (call->host == nullptr) {
        intake_.defer_cancel(call);
        continue;
      }
      forget_cancel(*call);
      finished.push_back({std::move(call->completion), cancelled()});
      if (call->handle) {
        curl_multi_remove_handle(curl_.multi(), call->handle->easy);
        --call->host->running;
        release(*call);
        running_.erase(call->self);
      } else {
        deadlines_.erase(call->queued_deadline);
        call->host->waiting.erase(call->self);
      }
    }
  }

  /// Before a call is freed: destroys its stop callback (waiting for one running on
  /// another thread) and, if the callback ran, takes the call's address back out of the
  /// cancels not yet taken, so no dangling address is ever read.
  void forget_cancel(MultiCall& call) {
    call.on_stop.reset();
    if (!call.cancel_requested.load(std::memory_order_acquire)) return;
    intake_.forget_cancel(&call);
  }

  std::size_t room_of(const MultiHost& host) const noexcept {
    // CURLMOPT_MAX_CONCURRENT_STREAMS' default: streams libcurl runs on one connection.
    constexpr std::size_t streams_per_connection = 100;
    const std::size_t connections = options_.max_connections;
    if (!host.multiplexed) return connections;
    const std::size_t most = std::numeric_limits<std::size_t>::max();
    return connections > most / streams_per_connection ? most
                                                       : connections * streams_per_connection;
  }

  /// Calls still waiting when their deadline passes end with errc::timeout, unsent.
  void expire_waiting(std::vector<Finished>& finished) {
    const auto now = Clock::now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      MultiCall& call = *deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      finished.push_back({std::move(call.completion), waited_too_long(call)});
      forget_cancel(call);
      call.host->waiting.erase(call.self);
    }
  }

  static AppError waited_too_long(const MultiCall& call) {
    return AppError(errc::timeout,
                    "CurlMultiTransport: the request waited for a connection "
                    "longer than its timeout, and was not sent (" +
                        std::string(to_string(call.request.method)) + " " + call.origin + ")");
  }

  /// Starts waiting calls, in order, on every host with room for them.
  void admit(std::vector<Finished>& finished) {
    for (auto& [origin, host] : hosts_) {
      while (!host.waiting.empty() && host.running < room_of(host)) {
        MultiCall& call = host.waiting.front();
        deadlines_.erase(call.queued_deadline);
        auto result = start(call);
        if (result) {
          ++host.running;
          running_.splice(running_.end(), host.waiting, call.self);
        } else {
          finished.push_back({std::move(call.completion), std::move(result).error()});
          forget_cancel(call);
          host.waiting.erase(call.self);
        }
      }
    }
  }

  /// Gives `call` an easy handle and adds it to the multi handle.
  Result<void> start(MultiCall& call) {
    const auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(call.deadline - Clock::now());
    if (remaining.count() <= 0) return waited_too_long(call);
    call.handle = curl_.take_easy();
    if (!call.handle) return AppError(errc::transport, "CurlMultiTransport: curl_easy_init failed");
    call.exchange.max_bytes = options_.max_response_bytes;
    CURLcode setup =
        configure(*call.handle, curl_.share(), options_, call.request, call.prepared.body,
                  call.prepared.target, call.prepared.headers, call.exchange, remaining);
    if (setup == CURLE_OK) setup = curl_easy_setopt(call.handle->easy, CURLOPT_PRIVATE, &call);
    // Over TLS, HTTP/2 where the server offers it (ALPN), and then many calls share one
    // connection: a call waits for a connection being set up instead of opening one
    // more. 2TLS is libcurl's default; said explicitly, its failure ignored: a libcurl
    // built without HTTP/2 refuses it and simply speaks HTTP/1.1.
    if (setup == CURLE_OK && call.origin.rfind("https:", 0) == 0) {
      (void)curl_easy_setopt(call.handle->easy, CURLOPT_HTTP_VERSION,
                             static_cast<long>(CURL_HTTP_VERSION_2TLS));
      setup = curl_easy_setopt(call.handle->easy, CURLOPT_PIPEWAIT, 1L);
    }
    if (setup != CURLE_OK) {
      release(call);
      return AppError(errc::transport,
                      std::string("CurlMultiTransport: libcurl refused an option (") +
                          curl_easy_strerror(setup) + ")");
    }
    if (curl_multi_add_handle(curl_.multi(), call.handle->easy) != CURLM_OK) {
      release(call);
      return AppError(errc::transport, "CurlMultiTransport: curl_multi_add_handle failed");
    }
    return {};
  }

  /// Takes the outcome of every finished transfer.
  void collect(std::vector<Finished>& finished) {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(curl_.multi(), &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      // Copied out first: the message dies with curl_multi_remove_handle.
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      void* data = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &data);
      MultiCall& call = *static_cast<MultiCall*>(data);
      curl_multi_remove_handle(curl_.multi(), easy);
      long version = 0;
      if (curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK &&
          version >= CURL_HTTP_VERSION_2_0) {
        call.host->multiplexed = true;
      }
      auto result = outcome(code, call.exchange, *call.handle, call.request, call.prepared.target,
                            call.prepared.headers, options_);
      finished.push_back({std::move(call.completion), std::move(result)});
      --call.host->running;
      release(call);
      forget_cancel(call);
      running_.erase(call.self);
    }
  }

  /// Returns a call's handle (if it has one) for reuse.
  void release(MultiCall& call) { curl_.give_back(call.handle); }

  void run_due_timers() {
    const auto now = Clock::now();
    std::vector<Timer> due;
    while (!timers_.empty() && timers_.begin()->first <= now) {
      due.push_back(std::move(timers_.begin()->second));
      timers_.erase(timers_.begin());
    }
    for (auto& fn : due) run_timer(fn);
  }

  /// How long the loop may sleep: until the next timer or queued deadline, at most 1 s
  /// (curl_multi_poll also wakes for libcurl's own timeouts and for curl_multi_wakeup).
  int wait_ms() const {
    auto next = Clock::now() + std::chrono::seconds(1);
    if (!timers_.empty()) next = std::min(next, timers_.begin()->first);
    if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
    return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, wait.count()));
  }

  /// After shutdown: every call still here completes with errc::shutting_down, pending
  /// timers are dropped unrun, and every easy handle is freed.
  void drain() {
    std::vector<Completion> pending;
    for (auto& call : running_) {
      call.on_stop.reset();
      curl_multi_remove_handle(curl_.multi(), call.handle->easy);
      pending.push_back(std::move(call.completion));
    }
    running_.clear();
    for (auto& [origin, host] : hosts_) {
      for (auto& call : host.waiting) {
        call.on_stop.reset();
        pending.push_back(std::move(call.completion));
      }
      host.waiting.clear();
    }
    intake_.clear_cancels();  // every stop callback is gone
    hosts_.clear();
    deadlines_.clear();
    timers_.clear();
    curl_.drop_idle();
    for (auto& completion : pending) run_completion(completion, shutting_down());
  }

  MultiOptions options_;
  // Freed last, when the loop thread has ended (joined, or it released the last
  // reference itself): no transfer is running and every easy handle is gone.
  MultiHandles curl_;
  std::thread thread_;  // touched only by start() and shut_down(), i.e. by the owner
  std::atomic<std::thread::id> loop_id_{};
  MultiIntake intake_;  // what callers hand the loop

  // Loop thread only.
  std::unordered_map<std::string, MultiHost> hosts_;
  std::multimap<Clock::time_point, MultiCall*> deadlines_;  // of waiting calls
  MultiCallList running_;
  std::multimap<Clock::time_point, Timer> timers_;
};

}  // namespace appkeys::curl_detail
