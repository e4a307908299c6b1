// The two containers the executors and the completion driver keep their work in:
// JobQueue (ThreadPool's and RunLoop's FIFO, detail/job_queue.hpp) and the call
// registry's slots (detail/call_registry.hpp). Both replace standard containers
// (std::deque, std::list) to spare every program their headers, so they are checked
// here against what those containers did.
#include <appkeys/appkeys.hpp>
#include <appkeys/detail/call_registry.hpp>
#include <appkeys/detail/job_queue.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <random>
#include <vector>

namespace queues_test {

using appkeys::detail::CallRegistry;
using appkeys::detail::JobQueue;
using appkeys::detail::ShutdownTarget;

TEST_CASE("JobQueue hands jobs out in the order they came, as std::deque did", "[queues]") {
  // Random runs of pushes and pops, long enough to cross the compaction and the drained
  // queue's reset many times, against std::deque doing the same.
  std::mt19937 random(12345);
  JobQueue<std::unique_ptr<int>> queue;  // move-only, as the executors' jobs are
  std::deque<int> reference;
  int next = 0;
  for (int round = 0; round < 20000; ++round) {
    const bool push = reference.empty() || random() % 100 < 52;
    if (push) {
      const int burst = random() % 10 == 0 ? 200 : 1;
      for (int i = 0; i < burst; ++i) {
        queue.push(std::make_unique<int>(next));
        reference.push_back(next);
        ++next;
      }
    } else {
      REQUIRE_FALSE(queue.empty());
      const std::unique_ptr<int> job = queue.pop();
      REQUIRE(job != nullptr);
      REQUIRE(*job == reference.front());
      reference.pop_front();
    }
    REQUIRE(queue.size() == reference.size());
    REQUIRE(queue.empty() == reference.empty());
  }
  while (!reference.empty()) {
    REQUIRE(*queue.pop() == reference.front());
    reference.pop_front();
  }
  CHECK(queue.empty());
  CHECK(queue.size() == 0);
}

TEST_CASE("JobQueue releases a job as it is taken, not when the queue next compacts", "[queues]") {
  JobQueue<std::shared_ptr<int>> queue;
  auto first = std::make_shared<int>(1);
  queue.push(first);
  queue.push(std::make_shared<int>(2));
  CHECK(first.use_count() == 2);
  { auto taken = queue.pop(); }
  CHECK(first.use_count() == 1);  // the slot left behind holds nothing
  CHECK(*queue.pop() == 2);
}

/// A call in flight, as the registry sees it: counts the shutdowns it receives.
struct CountingCall final : ShutdownTarget {
  int shutdowns = 0;
  void shut_down() noexcept override { ++shutdowns; }
};

TEST_CASE("the call registry settles every registered call at shutdown, and only those",
          "[queues]") {
  CallRegistry registry;
  std::vector<std::shared_ptr<CountingCall>> calls;
  std::vector<CallRegistry::Entry> entries;
  for (int i = 0; i < 40; ++i) {
    calls.push_back(std::make_shared<CountingCall>());
    CallRegistry::Entry entry{};
    REQUIRE(registry.add(calls.back(), entry));
    entries.push_back(entry);
  }
  CHECK(registry.size() == 40);

  // Every other call completes: its slot is freed and taken again by a new call.
  for (std::size_t i = 0; i < calls.size(); i += 2) registry.remove(entries[i]);
  CHECK(registry.size() == 20);
  auto late = std::make_shared<CountingCall>();
  CallRegistry::Entry late_entry{};
  REQUIRE(registry.add(late, late_entry));
  CHECK(late_entry < 40);  // a freed slot, not a new one
  CHECK(registry.size() == 21);

  // A registered call whose state is gone (it expired without removing itself) is
  // skipped, not dereferenced.
  calls[1].reset();

  registry.shut_down();
  CHECK(registry.closing());
  CHECK(late->shutdowns == 1);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (!calls[i]) continue;
    CHECK(calls[i]->shutdowns == (i % 2 == 1 ? 1 : 0));
  }

  // Once shut down it refuses new calls: the caller settles them itself.
  auto refused = std::make_shared<CountingCall>();
  CallRegistry::Entry refused_entry{};
  CHECK_FALSE(registry.add(refused, refused_entry));
  CHECK(refused->shutdowns == 0);
}

}  // namespace queues_test
