// appkeys — configuration macros shared by every header.
#pragma once

#include <cstdio>
#include <cstdlib>

#define APPKEYS_VERSION_MAJOR 0
#define APPKEYS_VERSION_MINOR 1
#define APPKEYS_VERSION_PATCH 0
#define APPKEYS_VERSION_STRING "0.1.0"

// Like fmt, detect -fno-exceptions instead of asking for a macro: a program built
// without exceptions can still use every non-throwing part (NoThrowExec, Result).
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define APPKEYS_HAS_EXCEPTIONS 1
#else
#define APPKEYS_HAS_EXCEPTIONS 0
#endif

#if APPKEYS_HAS_EXCEPTIONS
#define APPKEYS_THROW(error) throw(error)
#else
// Without exceptions a throw site is a contract violation (e.g. Result::value() on an
// error); report what happened (never a secret: AppError messages carry none) and stop.
#define APPKEYS_THROW(error)                                                   \
  do {                                                                         \
    std::fprintf(stderr, "appkeys: fatal (exceptions disabled): %s\n",         \
                 (error).what());                                              \
    std::abort();                                                              \
  } while (false)
#endif
