// appkeys server — GroupCommit: concurrent SQLite writes share one durable commit.
#pragma once

#include <appkeys/server/sqlite_connection.hpp>

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

namespace appkeys::server::sqlite {

/// Runs the write transactions of concurrent callers together, so that they share one
/// COMMIT, hence one fsync (with synchronous=FULL, the fsync is what a write costs).
///
/// A caller hands run() its work; the first caller to find no batch running becomes the
/// leader: it takes every work waiting, runs them one after another on one connection
/// inside one `BEGIN IMMEDIATE` transaction, each in a SAVEPOINT of its own, commits,
/// and wakes their callers. The callers that arrived meanwhile form the next batch. So:
/// - each work sees the writes before it, as if the transactions ran one by one (the
///   database's own checks, the key count and the unique indexes, still decide);
/// - a work that returns false or throws has its savepoint rolled back: the others keep
///   their changes;
/// - run() returns only after the COMMIT holding its work has succeeded, so an
///   acknowledged write is as durable as before; if the COMMIT (or anything outside the
///   works) fails, every caller in that batch gets the error, and none of its writes
///   happened.
///
/// A work runs on the leader's thread, not its caller's (whose frame it may reference:
/// the caller stays blocked until it has run).
///
/// Thread safety: run() may be called concurrently; that is its point.
class GroupCommit {
 public:
  /// Work on the connection, inside the shared transaction; true keeps its changes.
  using Work = std::function<bool(Connection&)>;

  /// Writes through connections of `pool`, which must outlive this.
  explicit GroupCommit(Pool& pool) noexcept : pool_(pool) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  /// Runs `work` in a shared write transaction and returns once it has committed;
  /// rethrows what `work` threw, or a StoreError of the batch's transaction.
  void run(const Work& work);

  /// Transactions committed (or tried) so far: fewer than the works when they batched.
  std::size_t batches() const;
  /// Works waiting for the next batch now.
  std::size_t waiting() const;

 private:
  struct Pending {
    const Work* work = nullptr;
    std::exception_ptr error;
    bool done = false;  // guarded by mutex_
  };

  /// The leader's part: one transaction for `batch`; sets each one's error.
  void commit_batch(const std::vector<Pending*>& batch);

  Pool& pool_;
  mutable std::mutex mutex_;
  std::condition_variable finished_;
  std::vector<Pending*> waiting_;  // guarded by mutex_
  bool leading_ = false;           // a batch is running; guarded by mutex_
  std::size_t batches_ = 0;        // guarded by mutex_
};

}  // namespace appkeys::server::sqlite
