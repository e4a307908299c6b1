// appkeys — run_guarded: an operation's exception becomes its Result's AppError, for
// executors whose calls run where no caller could catch it.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>

#if APPKEYS_HAS_EXCEPTIONS

namespace appkeys::detail {

/// Runs `operation` (returning Result<T>) and returns its outcome. An operation should
/// report failures as values; one that throws anyway (a throwing transport or
/// allocator, a third-party component) gives an errc::transport AppError instead of
/// ending the program on a worker thread. The exception's own text is not kept: it
/// might quote a request, and so a token. An AppError thrown is returned as it is.
template <class T, class Operation>
Result<T> run_guarded(Operation& operation) {
  try {
    return operation();
  } catch (const AppError& error) {
    return error;
  } catch (...) {
    return AppError(errc::transport, "the operation threw an exception");
  }
}

}  // namespace appkeys::detail

#endif  // APPKEYS_HAS_EXCEPTIONS
