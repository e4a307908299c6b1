// start_detached: runs a Task without awaiting it and hands its Result to a handler,
// for tests that need many tasks in flight at once.
#pragma once

#include <appkeys/appkeys.hpp>

#include <coroutine>
#include <exception>
#include <utility>

namespace appkeys_test {

/// A coroutine nobody awaits: it starts at once and frees its own frame at the end.
/// Hands the Task's outcome to `handler(Result<T>)`, on the thread the task ends on.
struct Detached {
  struct promise_type {
    Detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

template <class T, class Handler>
Detached start_detached(appkeys::Task<T> task, Handler handler) {
  handler(co_await std::move(task).as_result());
}

}  // namespace appkeys_test
