// The behaviour suite (behaviour_test.cpp, every line of it) through CoroExec and
// CallbackExec: support/executor_fixtures.hpp says how each call is driven and which
// executor/transport pairs run.
#include "support/executor_fixtures.hpp"

#define APPKEYS_BEHAVIOUR_SUITE_FIXTURES APPKEYS_EXECUTOR_FIXTURES
#include "behaviour_test.cpp"  // the suite itself, instantiated for these fixtures
