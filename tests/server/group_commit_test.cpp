// sqlite::GroupCommit: concurrent writes share one transaction, each keeps or loses
// its own changes, and none returns before its commit.
#include "server/temp_store.hpp"

#include <appkeys/server/sqlite_group_commit.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace group_commit_test {

using appkeys::server::SqliteOptions;
using appkeys::server::sqlite::Connection;
using appkeys::server::sqlite::GroupCommit;
using appkeys::server::sqlite::Pool;

namespace {

/// A pool on a fresh file with one table of integers.
struct Fixture {
  appkeys_test::TempStoreDir dir;
  Pool pool{dir.db_path(), SqliteOptions{}};
  GroupCommit writes{pool};

  Fixture() { pool.acquire()->exec("CREATE TABLE numbers (n INTEGER PRIMARY KEY)"); }

  bool insert(Connection& c, std::int64_t n) {
    c.prepare("INSERT INTO numbers (n) VALUES (?1)").bind(1, n).run();
    return true;
  }

  /// What a fresh connection (another reader) sees committed.
  std::vector<std::int64_t> committed() {
    Connection reader(dir.db_path(), SqliteOptions{});
    auto rows = reader.prepare("SELECT n FROM numbers ORDER BY n");
    std::vector<std::int64_t> out;
    while (rows.step()) out.push_back(rows.integer(0));
    return out;
  }
};

}  // namespace

TEST_CASE("GroupCommit: a work that fails or declines loses only its own changes",
          "[server][group_commit]") {
  Fixture f;
  f.writes.run([&](Connection& c) { return f.insert(c, 1); });
  CHECK_THROWS_AS(f.writes.run([&](Connection& c) -> bool {
    f.insert(c, 2);
    throw std::runtime_error("work failed");
  }),
                  std::runtime_error);
  f.writes.run([&](Connection& c) {
    f.insert(c, 3);
    return false;  // declined: rolled back
  });
  // A constraint violation (n = 1 again) throws StoreError and is rolled back alone.
  CHECK_THROWS(f.writes.run([&](Connection& c) { return f.insert(c, 1); }));
  f.writes.run([&](Connection& c) { return f.insert(c, 4); });
  CHECK(f.committed() == std::vector<std::int64_t>{1, 4});
}

TEST_CASE(
    "GroupCommit: writes queued behind a running batch commit together, each "
    "returning only once committed",
    "[server][group_commit]") {
  Fixture f;
  constexpr int followers = 7;
  std::atomic<bool> release{false};
  std::thread leader([&] {
    f.writes.run([&](Connection& c) {
      // Holds the first batch open until every follower has queued behind it.
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return f.insert(c, 0);
    });
  });
  while (f.writes.batches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<std::thread> threads;
  std::atomic<int> returned{0};
  // What each follower saw, checked on this thread (Catch2 asserts from one thread).
  std::vector<char> threw(followers + 1, 0), visible(followers + 1, 0);
  for (int i = 1; i <= followers; ++i) {
    threads.emplace_back([&, i] {
      try {
        f.writes.run([&](Connection& c) {
          f.insert(c, i);
          // One of the batch fails: the others still commit.
          if (i == 4) throw std::runtime_error("this one fails");
          return true;
        });
        // Returned: so committed, visible to any other connection.
        const auto seen = f.committed();
        visible[i] = std::find(seen.begin(), seen.end(), i) != seen.end();
      } catch (const std::runtime_error&) {
        threw[i] = 1;
      }
      ++returned;
    });
  }
  const auto bound = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (f.writes.waiting() < followers && std::chrono::steady_clock::now() < bound) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(f.writes.waiting() == followers);  // (not REQUIRE: the threads must be joined)
  CHECK(returned.load() == 0);             // nothing returns before its commit
  release = true;
  leader.join();
  for (auto& t : threads) t.join();
  for (int i = 1; i <= followers; ++i) {
    INFO("follower " << i);
    CHECK(threw[i] == (i == 4 ? 1 : 0));
    CHECK(visible[i] == (i == 4 ? 0 : 1));
  }
  CHECK(f.writes.batches() == 2);  // the leader's, then all seven followers' at once
  CHECK(f.committed() == std::vector<std::int64_t>{0, 1, 2, 3, 5, 6, 7});
}

TEST_CASE("GroupCommit: many threads writing at once lose nothing", "[server][group_commit]") {
  Fixture f;
  constexpr int threads = 8;
  constexpr int each = 40;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        f.writes.run([&](Connection& c) { return f.insert(c, t * 1000 + i); });
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(f.committed().size() == std::size_t{threads * each});
  CHECK(f.writes.batches() <= std::size_t{threads * each});
}

}  // namespace group_commit_test
