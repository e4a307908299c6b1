// The behaviour suite (behaviour_test.cpp, every line of it) over real HTTP through
// CurlMultiTransport, with each executor that runs calls through the completion driver:
// CoroExec and CallbackExec resuming on the transport's loop thread, and FutureExec
// (whose pool never starts over an AsyncTransport). behaviour_test.cpp runs the same
// transport blocking (SyncExec, NoThrowExec), so every executor meets the event loop.
// Three fixtures in a translation unit of its own: it builds in parallel with the others.
#include "support/executor_fixtures.hpp"

namespace appkeys_test {
using CoroInlineCurlMulti = ExecutorFixture<CurlMultiFixture, Inline, appkeys::CoroExec>;
using CallbackInlineCurlMulti = ExecutorFixture<CurlMultiFixture, Inline, appkeys::CallbackExec>;
using FutureCurlMulti = ExecutorFixture<CurlMultiFixture, Inline, appkeys::FutureExec>;
}  // namespace appkeys_test

#define APPKEYS_BEHAVIOUR_SUITE_FIXTURES                                    \
  appkeys_test::CoroInlineCurlMulti, appkeys_test::CallbackInlineCurlMulti, \
      appkeys_test::FutureCurlMulti
#include "behaviour_test.cpp"  // the suite itself, instantiated for these fixtures
