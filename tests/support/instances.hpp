// Explicit instantiation declarations for the test build: the template instances that
// nearly every test unit and example would otherwise emit again for itself, each defined
// once in support/instances.cpp (the appkeys_test_instances object library).
//
// At -O0 most of a unit's compile time is emitting the templates it instantiates, and the
// units of the test build instantiate mostly the same ones: nlohmann::json's parser and
// serializer, the client's step machines, FakeBackend's rules. With these declarations a
// unit emits none of them (GCC and Clang do not instantiate a member declared extern
// unless they would inline it, which -O0 never does): quickstart.cpp emits 3,597
// functions instead of 8,253 (8.8 -> 6.0 s), behaviour_test.cpp 11,193 instead of
// 15,656 (12.7 -> 10.3 s).
//
// Used only by the project's own test and example programs (included first: through the
// precompiled header, or with -include), never by the library: its headers stay
// header-only. Not by the single-header suite or the contract programs either, which
// compile the generated headers for real.
#pragma once

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include "json_instances.hpp"

#ifdef APPKEYS_TEST_INSTANCES_DEFINE
#define APPKEYS_TEST_INSTANCE template  // support/instances.cpp: the definitions
#else
#define APPKEYS_TEST_INSTANCE extern template
#endif

// The client's step machines: every call of every App, whatever its transport and
// executor, runs these.
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicBearerRequest<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicAccessTokenExchange<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicRefreshTokenExchange<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicHostLookup<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicTokenRefresh<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicFetchProfile<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicLogIn<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicHostThenRequest<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicRegisterEmail<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::BasicLogOut<void>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::KeyCall<appkeys::detail::steps::CreateKeySpec>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::KeyCall<appkeys::detail::steps::FetchKeySpec>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::KeyCall<appkeys::detail::steps::FetchKeysSpec>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::KeyCall<
    appkeys::detail::steps::SetKeyEnabledSpec>;
APPKEYS_TEST_INSTANCE class appkeys::detail::steps::KeyCall<appkeys::detail::steps::RemoveKeySpec>;

// testing::FakeBackend's rules over its in-memory store.
APPKEYS_TEST_INSTANCE class appkeys::testing::backend::BasicBackend<
    appkeys::testing::backend::MemoryStore, appkeys::testing::backend::HeaderCrypto>;
APPKEYS_TEST_INSTANCE class appkeys::testing::backend::SessionRules<
    appkeys::testing::backend::MemoryStore, appkeys::testing::backend::HeaderCrypto>;

#undef APPKEYS_TEST_INSTANCE
