// appkeys — configuration macros shared by every header.
#pragma once

/// @file
/// The macros every appkeys header sees: the version and exception detection.
/// appkeys::version() (<appkeys/version.hpp>) gives the version as values.

#include <cstdio>
#include <cstdlib>

// The one place the version is written: CMake, tools/amalgamate and the .deb read it here.
#define APPKEYS_VERSION_MAJOR 0         ///< Incompatible API changes (from 1.0 on).
#define APPKEYS_VERSION_MINOR 1         ///< Additions; before 1.0 also incompatible changes.
#define APPKEYS_VERSION_PATCH 0         ///< Fixes only.
#define APPKEYS_VERSION_STRING "0.1.0"  ///< `"MAJOR.MINOR.PATCH"`.

// Like fmt, detect -fno-exceptions instead of asking for a macro: a program built
// without exceptions can still use every non-throwing part (NoThrowExec, Result).
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
/// 1 when the program is compiled with exceptions, 0 under -fno-exceptions.
#define APPKEYS_HAS_EXCEPTIONS 1
#else
/// 0: the program is compiled with -fno-exceptions.
#define APPKEYS_HAS_EXCEPTIONS 0
#endif

#if APPKEYS_HAS_EXCEPTIONS
/// Throws `error` (an AppError); without exceptions, prints its message and aborts.
#define APPKEYS_THROW(error) throw(error)
#else
// Without exceptions a throw site is a contract violation (e.g. Result::value() on an
// error); report what happened (never a secret: AppError messages carry none) and stop.
#define APPKEYS_THROW(error)                                                            \
  do {                                                                                  \
    std::fprintf(stderr, "appkeys: fatal (exceptions disabled): %s\n", (error).what()); \
    std::abort();                                                                       \
  } while (false)
#endif
