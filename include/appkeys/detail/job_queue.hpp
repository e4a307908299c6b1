// appkeys — JobQueue: the first-in, first-out queue of ThreadPool and RunLoop.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace appkeys::detail {

/// A FIFO of move-only jobs over one std::vector, in place of std::deque: <deque> (and its
/// instantiation for the jobs) was 1.1% of nlohmann/json's compile time in every program
/// that includes <appkeys/appkeys.hpp>, for two queues that only push at the back and
/// pop at the front.
///
/// pop() moves the front job out and steps past it; the jobs already taken are dropped
/// in one go once they are at least half of the vector (or all of it), so push and pop
/// are amortised O(1), as with a deque, and a taken job's slot holds only a moved-from
/// (empty) job until then.
///
/// Thread safety: none; its owner's mutex guards it.
template <class Job>
class JobQueue {
 public:
  bool empty() const noexcept { return head_ == jobs_.size(); }
  std::size_t size() const noexcept { return jobs_.size() - head_; }

  void push(Job job) { jobs_.push_back(std::move(job)); }

  /// Takes the front job. Precondition: !empty().
  Job pop() {
    Job job = std::move(jobs_[head_]);
    ++head_;
    if (head_ == jobs_.size()) {
      // Drained: a busy queue keeps its vector, one that held a burst gives it back.
      if (jobs_.capacity() > keep_capacity) {
        jobs_ = std::vector<Job>();
      } else {
        jobs_.clear();
      }
      head_ = 0;
    } else if (head_ >= compact_after && 2 * head_ >= jobs_.size()) {
      jobs_.erase(jobs_.begin(), jobs_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return job;
  }

 private:
  /// Taken jobs are dropped no sooner than this many at a time, so that a short queue
  /// is not shifted at every pop.
  static constexpr std::size_t compact_after = 32;
  /// The most room a drained queue keeps.
  static constexpr std::size_t keep_capacity = 1024;

  std::vector<Job> jobs_;
  std::size_t head_ = 0;  // jobs_[0, head_) have been taken
};

}  // namespace appkeys::detail
