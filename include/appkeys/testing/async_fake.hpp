// appkeys — testing::FakeAsyncTransport: the in-memory fake backend behind an
// AsyncTransport, answering on a thread of its own, so tests of the non-blocking path
// (completions arriving on another thread, calls in flight together, cancellation,
// shutdown) need no network.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/testing/fake.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace appkeys::testing {

/// An AsyncTransport (and a Transport) in front of a FakeBackend. async_send queues the
/// request and returns; one thread the transport owns answers the queue in order
/// through FakeBackend::handle, and calls each completion there. send() answers on the
/// caller's thread.
///
/// For tests that need calls to stay in flight: pause() holds the queue (requests are
/// accepted but not answered) until resume(); queued() says how many wait.
///
/// Destruction completes every queued exchange with errc::shutting_down (one being
/// answered gets its answer) and joins the thread, before the destructor returns.
/// Destroyed on its own thread (a completion dropped the last App), it cannot join
/// itself: the thread then finishes on its own, holding what it needs.
///
/// When the last handle to its App goes, the App calls shut_down(): calls still queued
/// complete with errc::shutting_down and the thread has ended when the App's destructor
/// returns (unless that destructor ran on the thread itself). The backend must outlive
/// the transport; remote().finished() tells a test when its thread is done.
///
/// Thread safety: every member may be called from any thread, including from inside a
/// completion; the backend must outlive the transport.
class FakeAsyncTransport {
 public:
  /// Answers from `backend`.
  explicit FakeAsyncTransport(FakeBackend& backend) : state_(std::make_shared<State>(backend)) {
    state_->worker = std::thread([state = state_] { State::work(state); });
  }
  /// Takes over `other`'s thread and queue; `other` accepts no more calls.
  FakeAsyncTransport(FakeAsyncTransport&& other) noexcept = default;
  FakeAsyncTransport& operator=(FakeAsyncTransport&&) = delete;
  FakeAsyncTransport(const FakeAsyncTransport&) = delete;
  FakeAsyncTransport& operator=(const FakeAsyncTransport&) = delete;

  ~FakeAsyncTransport() { shut_down(); }

  /// Does now what the destructor does: every queued call completes with
  /// errc::shutting_down, later ones are refused that way, and the thread is joined
  /// (left to end on its own when this runs on it). Idempotent.
  void shut_down() {
    if (!state_) return;
    std::deque<Pending> dropped;
    {
      std::lock_guard lock(state_->mutex);
      state_->stopping = true;
      dropped.swap(state_->queue);
    }
    state_->wake.notify_all();
    for (auto& pending : dropped) {
      State::complete(pending.completion,
                      AppError(errc::shutting_down, "FakeAsyncTransport destroyed"));
    }
    if (!state_->worker.joinable()) return;
    if (state_->worker.get_id() == std::this_thread::get_id()) {
      state_->worker.detach();
    } else {
      state_->worker.join();
    }
  }

  /// AsyncTransport: queues the exchange; `completion` runs on the transport's thread
  /// (inline, with errc::shutting_down, once destruction has begun).
  void async_send(HttpRequest request, Completion completion) {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->stopping) {
        state_->queue.push_back(Pending{std::move(request), std::move(completion)});
        ++state_->accepted;
        state_->wake.notify_all();
        return;
      }
    }
    State::complete(completion, AppError(errc::shutting_down, "FakeAsyncTransport destroyed"));
  }

  /// Transport: the backend's answer, on the caller's thread.
  Result<HttpResponse> send(const HttpRequest& request) {
    return FakeTransport(state_->backend).send(request);
  }

  /// The optional AsyncTransport hook: true on the thread that runs completions, where
  /// a blocking call would wait for itself.
  bool in_loop_thread() const noexcept {
    return state_ && std::this_thread::get_id() == state_->worker_id.load();
  }

  /// Holds the queue: requests are accepted but not answered until resume().
  void pause() { remote().pause(); }
  /// Answers the queue again.
  void resume() { remote().resume(); }
  /// Requests accepted and not yet answered.
  std::size_t queued() const { return remote().queued(); }
  /// Requests accepted by async_send so far.
  std::size_t accepted() const { return remote().accepted(); }

  class Remote;
  /// A handle to this transport's queue that stays valid after the transport is gone
  /// (it may outlive the App that owns the transport, while calls keep it alive).
  Remote remote() const;

 private:
  struct State;

 public:
  /// Controls the queue of one FakeAsyncTransport from outside the App that owns it.
  ///
  /// Thread safety: every member may be called from any thread.
  class Remote {
   public:
    /// Holds the queue: requests are accepted but not answered until resume().
    void pause() {
      std::lock_guard lock(state_->mutex);
      state_->paused = true;
    }
    /// Answers the queue again.
    void resume() {
      std::lock_guard lock(state_->mutex);
      state_->paused = false;
      state_->wake.notify_all();
    }
    /// Requests accepted and not yet answered.
    std::size_t queued() const {
      std::lock_guard lock(state_->mutex);
      return state_->queue.size();
    }
    /// Requests accepted by async_send so far.
    std::size_t accepted() const {
      std::lock_guard lock(state_->mutex);
      return state_->accepted;
    }
    /// Whether the transport has been shut down and its thread has finished: from then
    /// on it touches the backend no more.
    bool finished() const {
      std::lock_guard lock(state_->mutex);
      return state_->finished;
    }

   private:
    friend class FakeAsyncTransport;
    explicit Remote(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
  };

 private:
  struct Pending {
    HttpRequest request;
    Completion completion;
  };

  struct State {
    explicit State(FakeBackend& b) : backend(b) {}

    FakeBackend& backend;
    mutable std::mutex mutex;
    std::condition_variable wake;
    std::deque<Pending> queue;
    std::size_t accepted = 0;
    bool paused = false;
    bool stopping = false;
    bool finished = false;
    std::thread worker;
    std::atomic<std::thread::id> worker_id{};

    /// A completion must not throw (AsyncTransport requirement 4); one that does must
    /// not end the transport's thread.
    static void complete(Completion& completion, Result<HttpResponse> outcome) noexcept {
#if APPKEYS_HAS_EXCEPTIONS
      try {
        completion(std::move(outcome));
      } catch (...) {
      }
#else
      completion(std::move(outcome));
#endif
    }

    static void work(const std::shared_ptr<State>& self) {
      self->worker_id.store(std::this_thread::get_id());
      for (;;) {
        Pending pending;
        {
          std::unique_lock lock(self->mutex);
          self->wake.wait(
              lock, [&] { return self->stopping || (!self->paused && !self->queue.empty()); });
          if (self->stopping) {  // the destructor completes what is queued
            self->finished = true;
            return;
          }
          pending = std::move(self->queue.front());
          self->queue.pop_front();
        }
        auto outcome = FakeTransport(self->backend).send(pending.request);
        complete(pending.completion, std::move(outcome));
      }
    }
  };

  std::shared_ptr<State> state_;
};

inline FakeAsyncTransport::Remote FakeAsyncTransport::remote() const { return Remote(state_); }

static_assert(AsyncTransport<FakeAsyncTransport>);
static_assert(Transport<FakeAsyncTransport>);

}  // namespace appkeys::testing
