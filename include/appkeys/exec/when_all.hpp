// appkeys — when_all: many Tasks in flight at once, awaited as one.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/exec/sync_wait.hpp>
#include <appkeys/exec/task.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <utility>
#include <vector>

namespace appkeys {
namespace detail {

/// What the tasks of one when_all share: their outcomes, and who to resume.
template <class T>
struct WhenAllState {
  explicit WhenAllState(std::size_t count) : outcomes(count), remaining(count + 1) {}

  std::vector<Slot<Result<T>>> outcomes;
  std::exception_ptr exception;  // the first non-AppError exception a task threw
  std::atomic<bool> has_exception{false};
  // One per task, plus one held by the starter until every task has been started, so
  // the awaiting coroutine is resumed exactly once, by whoever finishes last.
  std::atomic<std::size_t> remaining;
  std::coroutine_handle<> continuation;

  /// Whether the caller was the last to finish.
  bool arrive() noexcept { return remaining.fetch_sub(1, std::memory_order_acq_rel) == 1; }
};

/// A coroutine nobody awaits: started by hand, it frees its own frame when it ends.
struct WhenAllChild {
  struct promise_type {
    WhenAllChild get_return_object() noexcept {
      return WhenAllChild{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // the body catches all
  };
  std::coroutine_handle<promise_type> handle;
};

template <class T>
WhenAllChild when_all_child(Task<T> task, std::shared_ptr<WhenAllState<T>> state,
                            std::size_t index) {
  try {
    state->outcomes[index].emplace(co_await std::move(task).as_result());
  } catch (...) {
    if (!state->has_exception.exchange(true)) state->exception = std::current_exception();
  }
  if (state->arrive()) state->continuation.resume();
}

/// Starts every child once the awaiting coroutine is suspended.
template <class T>
struct WhenAllAwaiter {
  std::vector<Task<T>>& tasks;
  std::shared_ptr<WhenAllState<T>>& state;

  bool await_ready() const noexcept { return tasks.empty(); }
  bool await_suspend(std::coroutine_handle<> awaiting) {
    state->continuation = awaiting;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      when_all_child(std::move(tasks[i]), state, i).handle.resume();
    }
    return !state->arrive();  // every task finished already: go on without suspending
  }
  void await_resume() const noexcept {}
};

}  // namespace detail

/// Runs every task at once and finishes when all have, with each task's outcome, value
/// or AppError, in the order given. Tasks that complete inline run one after another;
/// calls through CoroExec over an AsyncTransport are all in flight together (one thread
/// can hold thousands), and so are calls that CoroExec runs on a pool. The awaiting
/// coroutine resumes on the thread where the last task finished. An exception other
/// than AppError escaping a task's own body is rethrown once every task has finished.
/// `sync_wait(when_all(std::move(tasks)))` runs it from plain code.
template <class T>
Task<std::vector<Result<T>>> when_all(std::vector<Task<T>> tasks) {
  auto state = std::make_shared<detail::WhenAllState<T>>(tasks.size());
  co_await detail::WhenAllAwaiter<T>{tasks, state};
  if (state->exception) std::rethrow_exception(state->exception);
  std::vector<Result<T>> outcomes;
  outcomes.reserve(state->outcomes.size());
  for (auto& outcome : state->outcomes) outcomes.push_back(std::move(*outcome));
  co_return outcomes;
}

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
