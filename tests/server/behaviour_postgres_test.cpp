// The behaviour suite (behaviour_test.cpp, every line of it) against the rules over the
// PostgreSQL store, served over real HTTP by a LocalServer.
#include "server/postgres_rules_backend.hpp"

#define APPKEYS_BEHAVIOUR_SUITE_FIXTURES appkeys_test::PostgresHttplibFixture
#include "behaviour_test.cpp"  // NOLINT(bugprone-suspicious-include): the suite itself
