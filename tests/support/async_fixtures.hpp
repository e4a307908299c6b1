// The behaviour suite's fixtures over testing::FakeAsyncTransport: the in-memory
// backend answered on the transport's own thread, so every executor runs its
// non-blocking path (completions arriving on another thread) without a network.
#pragma once

#include "support/executor_fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing.hpp>

#include <utility>

namespace appkeys_test {

/// SyncExec and NoThrowExec block on the completion; FutureExec holds no pool thread.
struct AsyncFakeFixture : InMemoryFixture<appkeys::testing::FakeAsyncTransport> {
  static constexpr const char* name = "async fake";
};

/// Coroutines resume on the transport's thread.
using CoroInlineAsyncFake = ExecutorFixture<AsyncFakeFixture, Inline, appkeys::CoroExec>;
/// Handlers run on the transport's thread.
using CallbackInlineAsyncFake = ExecutorFixture<AsyncFakeFixture, Inline, appkeys::CallbackExec>;
/// Handlers are posted to a pool.
using CallbackOnPoolAsyncFake = ExecutorFixture<AsyncFakeFixture, OnPool, appkeys::CallbackExec>;

}  // namespace appkeys_test

#define APPKEYS_ASYNC_FIXTURES                                       \
  appkeys_test::AsyncFakeFixture, appkeys_test::CoroInlineAsyncFake, \
      appkeys_test::CallbackInlineAsyncFake, appkeys_test::CallbackOnPoolAsyncFake
