// The SQLite store behind `appkeys serve`: the Store suite (store_test.cpp) over a
// SQLite file, then what only a file has: a file that is not a database is refused, and
// the sqlite: URIs.
#include "server/sqlite_under_test.hpp"

#define APPKEYS_STORE_SUITE_STORES appkeys_test::SqliteUnderTest
#include "server/store_test.cpp"  // NOLINT(bugprone-suspicious-include): the suite itself

#include <appkeys/testing/backend/memory_store.hpp>

#include <barrier>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace store_test {  // the suite's own namespace: these cases use its helpers

// The in-memory store has no suite of its own here (FakeBackend's tests run the rules
// over it); its combined session reads are checked beside SQLite's.
TEST_CASE("memory store: the combined session reads refuse what the rules refuse",
          "[server][memory][store]") {
  appkeys::testing::backend::MemoryStore store;
  appkeys_test::check_live_session_reads(store);
}

TEST_CASE("SQLite store: a file that is not a database is refused with a clear message",
          "[server][sqlite][schema]") {
  appkeys_test::SqliteUnderTest place;
  {
    std::ofstream out(place.dir.db_path());
    out << "just some text, long enough to look like a header to nobody\n";
  }
  std::string message;
  try {
    auto store = place.open_store();
  } catch (const appkeys::server::StoreError& error) {
    message = error.what();
  }
  CHECK(contains(message, "file is not a database"));
}

// Two `appkeys serve` started together on a new store: SQLite refused the switch to WAL
// at once, without waiting for the other connection (4 threads racing on a new file: 25
// failures in 400), and one server exited with "database is locked".
TEST_CASE("SQLite store: stores opened at the same moment on one new file all open",
          "[server][sqlite][schema]") {
  constexpr int openers = 4;
  for (int round = 0; round < 25; ++round) {
    appkeys_test::SqliteUnderTest place;
    std::barrier start(openers);
    std::vector<std::string> failures(openers);
    std::vector<std::thread> threads;
    for (int i = 0; i < openers; ++i) {
      threads.emplace_back([&place, &start, &failures, i] {
        start.arrive_and_wait();
        try {
          auto store = place.open_store();
        } catch (const appkeys::server::StoreError& error) {
          failures[static_cast<std::size_t>(i)] = error.what();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& failure : failures) CHECK(failure == "");
  }
}

TEST_CASE("store URIs", "[server][uri]") {
  using appkeys::server::parse_store_uri;
  using Kind = appkeys::server::StoreUri::Kind;
  CHECK(parse_store_uri("memory:").kind == Kind::memory);
  CHECK(parse_store_uri("sqlite:appkeys.db").path == "appkeys.db");
  CHECK(parse_store_uri("sqlite:/var/lib/appkeys/a.db").path == "/var/lib/appkeys/a.db");
  CHECK(parse_store_uri("sqlite:///var/lib/a.db").path == "/var/lib/a.db");
  CHECK(parse_store_uri("sqlite:a.db").to_string() == "sqlite:a.db");
  CHECK(parse_store_uri(appkeys::server::default_store_uri).path == "appkeys.db");
  CHECK(contains(uri_refusal("sqlite:"), "path is empty"));
  CHECK(contains(uri_refusal("sqlite://host/x.db"), "host is not allowed"));
  CHECK(contains(uri_refusal("sqlite::memory:"), "use memory:"));
  CHECK(contains(uri_refusal("postgresql:localhost"), "starts with postgresql://"));
  CHECK(contains(uri_refusal("mysql://x"), "unknown scheme"));
  CHECK(contains(uri_refusal(""), "empty"));
  CHECK(contains(uri_refusal("memory"), "use sqlite:PATH"));
}

}  // namespace store_test
