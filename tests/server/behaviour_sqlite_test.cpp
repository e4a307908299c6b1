// The behaviour suite (behaviour_test.cpp, every line of it) against the rules over the
// SQLite store, served over real HTTP by a LocalServer.
#include "server/rules_backend.hpp"
#include "server/sqlite_under_test.hpp"
#include "support/loopback_fixture.hpp"

#include <appkeys/transport/httplib.hpp>

namespace appkeys_test {
/// The SQLite-backed rules behind a LocalServer, reached with HttplibTransport.
struct SqliteHttplibFixture
    : LoopbackFixture<appkeys::HttplibTransport, RulesBackend<SqliteUnderTest>> {
  static constexpr const char* name = "sqlite-httplib";
};
}  // namespace appkeys_test

#define APPKEYS_BEHAVIOUR_SUITE_FIXTURES appkeys_test::SqliteHttplibFixture
#include "behaviour_test.cpp"  // NOLINT(bugprone-suspicious-include): the suite itself
