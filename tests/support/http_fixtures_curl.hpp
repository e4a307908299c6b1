// The behaviour suite's fixtures for the libcurl transports: the same FakeBackend as
// FakeFixture, reached over real HTTP through a LocalServer on 127.0.0.1 and libcurl's
// easy interface (CurlFixture) or its multi interface on an event loop
// (CurlMultiFixture, run blocking here: SyncExec and the other blocking-style executors
// call its send()). To run the suite through one, add it to APPKEYS_BEHAVIOUR_FIXTURES.
//
// Needs libcurl and cpp-httplib: `pkg-config --cflags --libs cpp-httplib libcurl`.
#pragma once

#include "support/loopback_fixture.hpp"

#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/curl_multi.hpp>

namespace appkeys_test {

/// Reaches the backend over HTTP on a loopback port, through CurlTransport.
struct CurlFixture : LoopbackFixture<appkeys::CurlTransport> {
  static constexpr const char* name = "curl";
};

/// Reaches the backend over HTTP on a loopback port, through CurlMultiTransport: every
/// call goes through its event loop (its own loop thread per App).
struct CurlMultiFixture : LoopbackFixture<appkeys::CurlMultiTransport> {
  static constexpr const char* name = "curl_multi";
};

}  // namespace appkeys_test
