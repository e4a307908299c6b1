// The behaviour suite (behaviour_test.cpp, every line of it) against the rules over the
// PostgreSQL store, served over real HTTP by a LocalServer.
#include "server/postgres_under_test.hpp"
#include "server/rules_backend.hpp"
#include "support/loopback_fixture.hpp"

#include <appkeys/transport/httplib.hpp>

namespace appkeys_test {
/// The PostgreSQL-backed rules behind a LocalServer, reached with HttplibTransport.
struct PostgresHttplibFixture
    : LoopbackFixture<appkeys::HttplibTransport, RulesBackend<PostgresUnderTest>> {
  static constexpr const char* name = "postgres-httplib";
};
}  // namespace appkeys_test

#define APPKEYS_BEHAVIOUR_SUITE_FIXTURES appkeys_test::PostgresHttplibFixture
#include "behaviour_test.cpp"  // NOLINT(bugprone-suspicious-include): the suite itself
