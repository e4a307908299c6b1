// appkeys — CoroExec: calls are C++20 coroutines; `co_await keys.create("name")`.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/exec/job.hpp>
#include <appkeys/exec/run_loop.hpp>
#include <appkeys/exec/sync_wait.hpp>
#include <appkeys/exec/task.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <atomic>
#include <coroutine>
#include <memory>
#include <type_traits>
#include <utility>

namespace appkeys {
namespace detail {

/// `co_await PostAwaiter{post}`: the coroutine continues on a job handed to `post`. A
/// template (used as PostAwaiter) only so that it is compiled where a coroutine awaits
/// one (see detail/dependent.hpp).
template <class = void>
struct BasicPostAwaiter {
  const PostFunction& post;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> self) const {
    // Once the job is posted, another thread may resume the coroutine, finish it and
    // destroy its frame (where `post` lives) before this call returns: call a copy.
    PostFunction target = post;
    target([self] { self.resume(); });
  }
  void await_resume() const noexcept {}
};
using PostAwaiter = BasicPostAwaiter<>;

/// `co_await StartAwaiter{op, post}`: starts a non-blocking operation and suspends until
/// its completion; resumes there (the transport's thread), or on a job handed to `post`
/// when it is set. A call that completes inline (refused before any I/O) goes on
/// without suspending, unless it must move to `post`'s thread.
template <class T, class Operation>
struct StartAwaiter {
  Operation& operation;
  const PostFunction* post;
  Slot<Result<T>> outcome{};
  std::coroutine_handle<> awaiting{};
  std::atomic<int> state{starting};

  static constexpr int starting = 0;
  static constexpr int suspended = 1;
  static constexpr int completed = 2;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> self) {
    awaiting = self;
    operation.start([this](Result<T> result) {
      outcome.emplace(std::move(result));
      // Whoever comes second (the completion, or await_suspend below) resumes.
      if (state.exchange(completed, std::memory_order_acq_rel) == suspended) resume();
    });
    int expected = starting;
    if (state.compare_exchange_strong(expected, suspended, std::memory_order_acq_rel)) {
      return true;  // the completion will resume us
    }
    if (post != nullptr && *post) {  // completed inline, but the caller chose the thread
      resume();
      return true;
    }
    return false;
  }
  Result<T> await_resume() { return std::move(*outcome); }

 private:
  void resume() {
    if (post != nullptr && *post) {
      PostFunction target = *post;  // the frame (where *post lives) may go once posted
      target([handle = awaiting] { handle.resume(); });
    } else {
      awaiting.resume();
    }
  }
};

}  // namespace detail

/// Each call is a lazy Task: `ApiKey key = co_await keys.create("name");`, and a
/// failure is thrown as AppError (or use `co_await keys.create("name").as_result()`).
///
/// Over an AsyncTransport (CurlMultiTransport, testing::FakeAsyncTransport) a call holds
/// no thread while it is in flight: awaiting it starts its requests and suspends the
/// coroutine, which continues on the transport's thread when the call completes (so it
/// must not block there: a blocking call on that thread fails with
/// errc::invalid_argument), or on `resume_on`'s thread (else `run_on`'s) if one was
/// given. An answer that arrives before the coroutine has finished suspending (a fast
/// transport, an inline refusal) lets it go on at once on the awaiting thread instead.
/// `CoroExec{loop, loop}` brings every coroutine back to the thread running `loop`.
///
/// Over a blocking transport an operation is a blocking function (build the request,
/// send it, parse the answer). Where it runs, and where the awaiting coroutine
/// continues, is chosen when the executor is built:
///
/// | executor               | the blocking call runs         | the coroutine continues      |
/// |------------------------|--------------------------------|------------------------------|
/// | `CoroExec{}`           | inline, on the awaiting thread | there, inline                |
/// | `CoroExec{pool}`       | on a pool thread               | on that pool thread          |
/// | `CoroExec{pool, loop}` | on a pool thread               | on the thread running `loop` |
///
/// `pool` and `loop` are anything with `post(std::function<void()>)` (ThreadPool,
/// RunLoop, your own), referenced, not owned: they must outlive every call in flight.
/// Or pass PostFunctions (`CoroExec{run_on, resume_on}`) to plug in asio, a UI loop or
/// any other queue. CoroExec{} starts no thread: it only makes the code read as
/// coroutines. The "resume on the caller's thread" set-up is a RunLoop that the
/// caller's thread runs (`sync_wait(task, loop)`, or `loop.run()` by hand): the
/// coroutine's own code then never races with that thread's other work. (Plain
/// `sync_wait(task)` there would wait forever: nobody would run the loop.)
///
/// A call that completes inline lets its awaiter go on without a nested resume, so a
/// loop of inline awaits does not grow the stack; see TaskState::start.
///
/// Copies share the chosen contexts. Needs exceptions (a Task's body may throw).
///
/// Thread safety: run may be called from any number of threads at once; each Task is
/// then owned by one caller.
class CoroExec {
 public:
  /// What a call returns: a lazy Task<T>, run when awaited (or given to sync_wait).
  template <class T>
  using result = Task<T>;

  /// Runs calls inline: no threads.
  CoroExec() = default;

  /// Runs each call on a job given to `run_on`; resumes on a job given to `resume_on`,
  /// or, if it is empty, right where the call ran. An empty `run_on` runs inline. (A
  /// template only so that it is compiled where it is used: see detail/dependent.hpp.)
  template <class = void>
  explicit CoroExec(PostFunction run_on, PostFunction resume_on = nullptr)
      : contexts_(detail::share_new<const Contexts>(
            Contexts{.run_on = std::move(run_on), .resume_on = std::move(resume_on)})) {}

  /// Runs each call on `run_on` (a ThreadPool, a RunLoop or anything with post()) and
  /// resumes the awaiting coroutine there. `run_on` must outlive the calls.
  template <PostTarget RunOn>
  explicit CoroExec(RunOn& run_on) : CoroExec(post_to(run_on)) {}

  /// Runs each call on `run_on` and resumes the awaiting coroutine on `resume_on` (e.g.
  /// a RunLoop the caller's thread drives). Both must outlive the calls.
  template <PostTarget RunOn, PostTarget ResumeOn>
  CoroExec(RunOn& run_on, ResumeOn& resume_on) : CoroExec(post_to(run_on), post_to(resume_on)) {}

  /// The Executor requirement: wraps `operation` in a Task; nothing runs until the
  /// task is awaited.
  template <class F>
  result<operation_value_t<F>> run(F&& operation) const {
    return run_operation<operation_value_t<F>>(std::decay_t<F>(std::forward<F>(operation)),
                                               contexts_)
        .task;
  }

 private:
  struct Contexts {
    PostFunction run_on{};
    PostFunction resume_on{};
  };

  // Parameters are taken by value: the coroutine frame keeps its own copies, so the
  // task outlives the executor and the ApiKeyAuth that made it.
  template <class T, class Operation>
  static detail::OperationTask<T> run_operation(Operation operation,
                                                std::shared_ptr<const Contexts> contexts) {
    if constexpr (detail::NonblockingOperation<Operation>) {
      const PostFunction* resume_on = nullptr;
      if (contexts && contexts->resume_on) {
        resume_on = &contexts->resume_on;
      } else if (contexts && contexts->run_on) {
        resume_on = &contexts->run_on;
      }
      co_return co_await detail::StartAwaiter<T, Operation>{operation, resume_on};
    } else {
      if (contexts && contexts->run_on) co_await detail::PostAwaiter{contexts->run_on};
      Result<T> outcome = operation();
      if (contexts && contexts->resume_on) co_await detail::PostAwaiter{contexts->resume_on};
      co_return std::move(outcome);
    }
  }

  std::shared_ptr<const Contexts> contexts_;
};

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
