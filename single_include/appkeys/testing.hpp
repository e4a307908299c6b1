// appkeys — the testing umbrella: the client (<appkeys/appkeys.hpp>) and everything for
// users' tests that needs no network library: the in-memory server and its transport
// (testing::FakeBackend, testing::FakeTransport), the same server behind an
// AsyncTransport (testing::FakeAsyncTransport) and fault injection
// (testing::FaultInjectingTransport). testing::LocalServer, which needs cpp-httplib, is in
// <appkeys/testing/local_server.hpp>.
#pragma once

// clang-format off
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>
#include <appkeys/testing/async_fake.hpp>
#include <appkeys/testing/fault_injection.hpp>
// clang-format on
