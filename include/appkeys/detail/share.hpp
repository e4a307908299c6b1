// appkeys — share_new: std::make_shared's job, at a fraction of the code.
#pragma once

#include <memory>
#include <utility>

namespace appkeys::detail {

/// A new `T` built from `args`, owned by a std::shared_ptr: what std::make_shared does,
/// with the object and its reference counts in two allocations instead of one.
///
/// Why: at -O0 each std::make_shared<T> emits some forty functions for its in-place
/// control block (allocator plumbing, aligned buffer, deleter lookup), where a
/// shared_ptr adopting a pointer emits a handful; a program making calls has about ten
/// such types. None of them is created per request, so the second allocation costs
/// nothing measurable. If the control block cannot be allocated, the object is deleted
/// (std::shared_ptr's own guarantee).
template <class T, class... Args>
std::shared_ptr<T> share_new(Args&&... args) {
  return std::shared_ptr<T>(new T(std::forward<Args>(args)...));
}

}  // namespace appkeys::detail
