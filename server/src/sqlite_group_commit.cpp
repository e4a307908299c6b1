// appkeys server — GroupCommit: a leader commits the writes waiting together.
#include <appkeys/server/sqlite_group_commit.hpp>

#include <utility>

namespace appkeys::server::sqlite {

void GroupCommit::run(const Work& work) {
  Pending mine;
  mine.work = &work;
  std::unique_lock lock(mutex_);
  waiting_.push_back(&mine);
  while (!mine.done) {
    if (leading_) {
      finished_.wait(lock);
      continue;
    }
    // No batch is running, so `mine` is still waiting: lead the next batch (it holds
    // `mine` and everything that queued up behind the previous one).
    leading_ = true;
    ++batches_;
    std::vector<Pending*> batch = std::exchange(waiting_, {});
    lock.unlock();
    commit_batch(batch);
    lock.lock();
    for (Pending* pending : batch) pending->done = true;
    leading_ = false;
    // Under the lock: a woken caller returns and its Pending goes with its frame.
    finished_.notify_all();
  }
  if (mine.error) std::rethrow_exception(mine.error);
}

std::size_t GroupCommit::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

std::size_t GroupCommit::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

void GroupCommit::commit_batch(const std::vector<Pending*>& batch) {
  try {
    auto c = pool_.acquire();
    WriteTransaction tx(*c);
    for (Pending* pending : batch) {
      c->prepare("SAVEPOINT grouped_write").run();
      bool keep = false;
      try {
        keep = (*pending->work)(*c);
      } catch (...) {
        pending->error = std::current_exception();
      }
      // If SQLite rolled the whole transaction back on an error (a full disk, say), the
      // savepoint is gone and this throws: the batch fails as a whole, below.
      if (!keep) c->prepare("ROLLBACK TO grouped_write").run();
      c->prepare("RELEASE grouped_write").run();
    }
    tx.commit();
  } catch (...) {
    // Nothing of this batch was committed: every caller learns it.
    const std::exception_ptr error = std::current_exception();
    for (Pending* pending : batch) {
      if (!pending->error) pending->error = error;
    }
  }
}

}  // namespace appkeys::server::sqlite
