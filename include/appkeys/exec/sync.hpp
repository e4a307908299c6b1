// appkeys — SyncExec: the call runs on the caller's thread and throws on failure.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/result.hpp>

#include <type_traits>
#include <utility>

namespace appkeys {

/// Runs each call on the caller's thread. `result<T>` is T; a failure throws AppError.
/// Needs exceptions (use NoThrowExec under -fno-exceptions).
///
/// Thread safety: stateless; run may be called from any number of threads.
struct SyncExec {
  /// What an operation producing `T` returns: `T` itself.
  template <class T>
  using result = T;

  /// Runs `operation` (returning Result<T>) now: returns the value or throws the AppError.
  template <class F>
  result<operation_value_t<F>> run(F&& operation) const {
    using T = operation_value_t<F>;
    auto outcome = std::forward<F>(operation)();
    if constexpr (std::is_void_v<T>) {
      outcome.value();
    } else {
      return std::move(outcome).value();
    }
  }
};

}  // namespace appkeys
