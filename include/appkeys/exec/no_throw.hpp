// appkeys — NoThrowExec: the call runs on the caller's thread and returns Result<T>.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/result.hpp>

#include <utility>

namespace appkeys {

/// Runs each call on the caller's thread. `result<T>` is Result<T>; never throws
/// (beyond std::bad_alloc), and works in programs built with -fno-exceptions.
///
/// Thread safety: stateless; run may be called from any number of threads.
struct NoThrowExec {
  /// What an operation producing `T` returns: Result<T>.
  template <class T>
  using result = Result<T>;

  /// Runs `operation` (returning Result<T>) now and returns its Result.
  template <class F>
  result<operation_value_t<F>> run(F&& operation) const {
    return std::forward<F>(operation)();
  }
};

}  // namespace appkeys
