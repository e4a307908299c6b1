// appkeys — one exchange of CurlMultiTransport as its event loop keeps it: the request,
// its completion and deadline, and (only while it runs) an easy handle.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/detail/unique_function.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/transport/curl_detail/handles.hpp>
#include <appkeys/transport/curl_detail/prepared.hpp>
#include <appkeys/transport/curl_detail/response.hpp>

#include <atomic>
#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>

namespace appkeys::curl_detail {

struct MultiCall;
struct MultiHost;
class MultiIntake;

/// Run by a call's std::stop_callback, on the thread that requested the stop: hands the
/// call to the loop to be abandoned (MultiIntake::request_cancel, defined with it).
struct CancelRequest {
  MultiIntake* intake;
  MultiCall* call;
  void operator()() const noexcept;
};

/// Calls live in std::list nodes and move between lists (intake, a host's waiting
/// line, the running set) by splicing: no copy, no allocation, and a call's own
/// iterator stays valid wherever it is.
using MultiCallList = std::list<MultiCall>;
using Clock = std::chrono::steady_clock;

/// One exchange, from async_send until its completion is taken to be run.
struct MultiCall {
  HttpRequest request;
  Completion completion;
  Clock::time_point deadline;
  PreparedRequest prepared;  // views into `request`: built once the request is in place
  std::string origin;        // "scheme://host:port": the key of its MultiHost
  MultiCallList::iterator self;
  // Loop-thread state:
  MultiHost* host = nullptr;
  std::multimap<Clock::time_point, MultiCall*>::iterator queued_deadline;  // while waiting
  Exchange exchange;
  std::unique_ptr<Handle> handle;  // only while running
  // Cancellation (async_send with a stop token): the callback is destroyed by the loop
  // before the call is freed; `cancel_requested` tells it the call's address may still
  // sit in the loop's list of cancels.
  std::atomic<bool> cancel_requested{false};
  std::optional<std::stop_callback<CancelRequest>> on_stop;
};

/// The calls to one origin: how many run, and the ones waiting for room, in order.
struct MultiHost {
  MultiCallList waiting;
  std::size_t running = 0;
  // Seen an HTTP/2 response: several calls then share each connection, so more may
  // run than there are connections (libcurl still caps the connections themselves).
  bool multiplexed = false;
};

/// Runs `completion` with `result`, containing an exception that escapes it: it runs
/// on the loop thread (or inline in async_send), where nothing could handle it, and it
/// must not end the loop that every other call waits on. The exception is dropped.
inline void run_completion(Completion& completion, Result<HttpResponse> result) noexcept {
#if APPKEYS_HAS_EXCEPTIONS
  try {
    completion(std::move(result));
  } catch (...) {  // NOLINT(bugprone-empty-catch): documented: dropped
  }
#else
  completion(std::move(result));
#endif
}

/// Runs a timer's function, dropping an exception that escapes it (see run_completion).
inline void run_timer(detail::UniqueFunction<void()>& fn) noexcept {
#if APPKEYS_HAS_EXCEPTIONS
  try {
    fn();
  } catch (...) {  // NOLINT(bugprone-empty-catch): documented: dropped
  }
#else
  fn();
#endif
}

}  // namespace appkeys::curl_detail
