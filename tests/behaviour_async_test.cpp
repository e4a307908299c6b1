// The behaviour suite (behaviour_test.cpp, every line of it) over the asynchronous fake,
// with every executor: support/async_fixtures.hpp says which.
#include "support/async_fixtures.hpp"

#define APPKEYS_BEHAVIOUR_SUITE_FIXTURES APPKEYS_ASYNC_FIXTURES
#include "behaviour_test.cpp"  // the suite itself, instantiated for these fixtures
