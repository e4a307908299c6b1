// appkeys — Task<T>, a lazy coroutine task (exec/sync_wait.hpp runs one from plain code).
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

#include <cassert>
#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

namespace appkeys {

template <class T>
class Task;
template <class T>
class ResultAwaitable;

namespace detail {

/// The end of a task: resumes whoever awaited it, unless the task completed inline
/// (see TaskState::start).
struct TaskFinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> self) const noexcept {
    self.promise().finish();
  }
  void await_resume() const noexcept {}
};

/// The start() in progress on this thread, innermost first: how a finishing task
/// learns that it completed inline, inside the start() of its own awaiter. Thread-local,
/// so a task finishing on another thread never sees it.
struct TaskStart {
  explicit TaskStart(const void* starting) noexcept : state(starting), previous(current) {
    current = this;
  }
  TaskStart(const TaskStart&) = delete;
  TaskStart& operator=(const TaskStart&) = delete;
  ~TaskStart() { current = previous; }

  const void* state;
  bool completed_inline = false;
  TaskStart* previous;

  static inline thread_local TaskStart* current = nullptr;
};

/// What every Task's promise holds: who to resume, and how the task ended. The two
/// promise types below (a user's coroutine, an executor's operation) share it, so one
/// Task type can own either kind of frame.
template <class T>
class TaskState {
 public:
  std::suspend_always initial_suspend() const noexcept { return {}; }  // lazy
  TaskFinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  /// Starts the task (`task` is this promise's coroutine) on behalf of `awaiting`,
  /// which has just suspended; returns whether it must stay suspended.
  ///
  /// A task that completes inline (CoroExec{}, a plain `co_return`) finishes inside
  /// task.resume() below, on this thread: finish() then only notes it, and the
  /// awaiting coroutine goes on by returning false, without a nested resume. So a loop
  /// of a million inline awaits keeps a flat stack at any optimisation level
  /// (symmetric transfer would too, but GCC 12 makes it a tail call only from -O2).
  /// A task that suspends instead (a call posted to a pool) finishes later, on some
  /// thread, and finish() resumes the awaiting coroutine right there: where a call
  /// completes is where its awaiter continues, with no race about who resumes it.
  bool start(std::coroutine_handle<> task, std::coroutine_handle<> awaiting) {
    assert(task && !task.done() && "a Task is awaited once");
    continuation_ = awaiting;
    TaskStart record{this};
    task.resume();
    // The task may have finished on another thread and its awaiter resumed and
    // destroyed this frame already: from here on, only the record on this stack.
    return !record.completed_inline;
  }

  /// From final_suspend, once the outcome is stored.
  void finish() noexcept {
    if (TaskStart* record = TaskStart::current; record && record->state == this) {
      record->completed_inline = true;  // start() lets the awaiting coroutine go on
      return;
    }
    continuation_.resume();
  }

  /// The outcome: a value (`co_return value;`) or an AppError (an operation's failure).
  void set_result(Result<T> outcome) { outcome_.emplace(std::move(outcome)); }

  /// The value, moved out; a failure is thrown (the AppError, or whatever escaped the
  /// coroutine's body). Precondition: the task has completed.
  T take() {
    Result<T> outcome = take_result();
    if (!outcome) throw AppError(std::move(outcome).error());
    if constexpr (!std::is_void_v<T>) return std::move(*outcome);
  }

  /// The value or the AppError as a Result, without throwing; only an exception other
  /// than AppError (thrown by a user's coroutine body) is rethrown.
  Result<T> take_result() {
    assert((outcome_ || exception_) && "the task has not completed");
    if (exception_) std::rethrow_exception(exception_);
    return std::move(*outcome_);
  }

 private:
  std::coroutine_handle<> continuation_ = std::noop_coroutine();
  // A Result and an exception slot rather than a std::variant of the four states:
  // <variant> is one more standard header for every program, and Result<T> is
  // compiled for the call anyway.
  detail::Slot<Result<T>> outcome_;
  std::exception_ptr exception_;  // what escaped a user's coroutine body
};

/// Builds Tasks; the one friend of Task's private constructor.
struct TaskAccess {
  template <class T>
  static Task<T> make(std::coroutine_handle<> handle, TaskState<T>* state) noexcept {
    return Task<T>(handle, state);
  }
};

/// The promise of a user's `Task<T> f() { ... co_return value; }`.
template <class T>
struct TaskPromise : TaskState<T> {
  Task<T> get_return_object() noexcept {
    return TaskAccess::make<T>(std::coroutine_handle<TaskPromise>::from_promise(*this), this);
  }
  void return_value(T value) { this->set_result(Result<T>(std::move(value))); }
};
// A partial specialization rather than TaskPromise<void>: an explicit specialization is
// an ordinary class, compiled (TaskState<void>'s members included) in every program that
// includes this header, where a template is compiled only in programs that use it.
template <class T>
  requires std::is_void_v<T>
struct TaskPromise<T> : TaskState<T> {
  Task<T> get_return_object() noexcept {
    return TaskAccess::make<T>(std::coroutine_handle<TaskPromise>::from_promise(*this), this);
  }
  void return_void() { this->set_result(Result<T>()); }
};

/// The promise of CoroExec's operation coroutine, which ends with `co_return` of the
/// operation's Result<T>: a failure is stored as the AppError it is, never thrown.
template <class T>
struct OperationPromise : TaskState<T> {
  Task<T> get_return_object() noexcept {
    return TaskAccess::make<T>(std::coroutine_handle<OperationPromise>::from_promise(*this), this);
  }
  void return_value(Result<T> outcome) { this->set_result(std::move(outcome)); }
};

/// The return type of CoroExec's operation coroutine: only a way to name
/// OperationPromise; it turns into the Task the caller gets.
template <class T>
struct OperationTask {
  using promise_type = OperationPromise<T>;
  OperationTask(Task<T> task) noexcept : task(std::move(task)) {}
  Task<T> task;
};

}  // namespace detail

/// A lazy, move-only coroutine task: what every CoroExec call returns, and the return
/// type for your own coroutines (`appkeys::Task<int> f() { co_return 42; }`).
///
/// - Lazy: nothing runs until the task is awaited (or passed to sync_wait). A task that
///   is destroyed without being awaited never runs; its frame is freed.
/// - `co_await task` yields T; a failure is thrown: the AppError for a failed call, or
///   whatever exception escaped your coroutine's body. `co_await keys.fetch(id).as_result()`
///   (for a named task, `co_await std::move(task).as_result()`) yields Result<T>
///   instead, the NoThrowExec way; only a non-AppError exception from your own
///   coroutine's body is still rethrown.
/// - A task is awaited at most once; the result is moved out.
/// - A task that completes inline lets the awaiting coroutine go on without nesting
///   (a loop of inline awaits keeps a flat stack); one that completes later resumes
///   the awaiting coroutine on the thread it finished on (CoroExec lets you choose it).
///
/// Thread safety: a Task is a unique owner, like unique_ptr; distinct tasks are
/// independent.
template <class T>
class [[nodiscard]] Task {
 public:
  /// The coroutine machinery's hook (C++20 looks it up by this name).
  using promise_type = detail::TaskPromise<T>;
  /// What `co_await task` yields.
  using value_type = T;

  /// An empty task (valid() is false), to be assigned later.
  Task() noexcept = default;
  /// Takes over `other`'s coroutine; `other` becomes empty.
  Task(Task&& other) noexcept
      : handle_(std::exchange(other.handle_, {})), state_(std::exchange(other.state_, nullptr)) {}
  /// Destroys the coroutine owned so far (unstarted, it never runs), then takes over
  /// `other`'s.
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  ~Task() { destroy(); }

  /// Whether this task owns a coroutine (false once moved from).
  bool valid() const noexcept { return static_cast<bool>(handle_); }

  /// Whether the coroutine has run to its end.
  bool done() const noexcept { return handle_ && handle_.done(); }

  /// Starts the task and suspends the awaiting coroutine until it ends; yields T, or
  /// throws the AppError the call failed with.
  auto operator co_await() & noexcept { return Awaiter{handle_, state_}; }
  /// As the lvalue form, for `co_await keys.create("name")`.
  auto operator co_await() && noexcept { return Awaiter{handle_, state_}; }

  /// An awaitable that owns this task and yields Result<T>.
  ResultAwaitable<T> as_result() && noexcept { return ResultAwaitable<T>(std::move(*this)); }

 private:
  friend struct detail::TaskAccess;
  friend class ResultAwaitable<T>;

  Task(std::coroutine_handle<> handle, detail::TaskState<T>* state) noexcept
      : handle_(handle), state_(state) {}

  void destroy() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
    state_ = nullptr;
  }

  struct Awaiter {
    std::coroutine_handle<> handle;
    detail::TaskState<T>* state;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) const {
      return state->start(handle, awaiting);
    }
    T await_resume() const { return state->take(); }
  };

  std::coroutine_handle<> handle_;
  detail::TaskState<T>* state_ = nullptr;
};

/// What Task<T>::as_result() returns: owns the task; awaiting it yields Result<T>.
///
/// Thread safety: as Task.
template <class T>
class [[nodiscard]] ResultAwaitable {
 public:
  /// Takes ownership of `task`.
  explicit ResultAwaitable(Task<T> task) noexcept : task_(std::move(task)) {}

  /// Awaitable protocol: never ready before it has started.
  bool await_ready() const noexcept { return false; }
  /// Awaitable protocol: starts the task; false when it completed inline, so the
  /// awaiting coroutine continues without being suspended.
  bool await_suspend(std::coroutine_handle<> awaiting) const {
    return task_.state_->start(task_.handle_, awaiting);
  }
  /// Awaitable protocol: the task's outcome, value or AppError, as a Result.
  Result<T> await_resume() const { return task_.state_->take_result(); }

  /// Gives the task back (sync_wait takes it this way).
  Task<T> release() && noexcept { return std::move(task_); }

 private:
  Task<T> task_;
};

}  // namespace appkeys

#endif  // APPKEYS_HAS_EXCEPTIONS
