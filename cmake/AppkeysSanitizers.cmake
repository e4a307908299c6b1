# Sanitized builds of appkeys' own targets (tests, command, examples, benchmarks).
#
#   -DAPPKEYS_SANITIZE="address;undefined"   AddressSanitizer (+ LeakSanitizer) and UBSan
#   -DAPPKEYS_SANITIZE=thread                ThreadSanitizer
#
# CMakePresets.json sets this for the `asan-ubsan` and `tsan` presets; scripts/sanitize
# runs them. Empty (the default) adds nothing, and nothing is ever imposed on a project
# that consumes appkeys: the flags are directory-scoped to this source tree, not put on
# the INTERFACE targets.
#
# The flags go on through add_compile_options/add_link_options before any target is
# declared, so they reach every executable of the tree, including the compile-fail tests
# (which only need to keep failing to compile) and the programs catch_discover_tests runs
# at build time. Every failure is fatal (-fno-sanitize-recover=all), so a UBSan report
# fails its test instead of scrolling past.

set(APPKEYS_SANITIZE "" CACHE STRING
    "Sanitizers for appkeys' own targets: empty, \"address;undefined\" or \"thread\"")

if(APPKEYS_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "APPKEYS_SANITIZE needs GCC or Clang, not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  foreach(_appkeys_sanitizer IN LISTS APPKEYS_SANITIZE)
    if(NOT _appkeys_sanitizer MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "APPKEYS_SANITIZE: unknown sanitizer '${_appkeys_sanitizer}'")
    endif()
  endforeach()
  if("thread" IN_LIST APPKEYS_SANITIZE AND
     ("address" IN_LIST APPKEYS_SANITIZE OR "leak" IN_LIST APPKEYS_SANITIZE))
    message(FATAL_ERROR "APPKEYS_SANITIZE: ThreadSanitizer cannot be combined with "
                        "AddressSanitizer or LeakSanitizer")
  endif()

  list(JOIN APPKEYS_SANITIZE "," _appkeys_sanitizers)
  set(_appkeys_sanitizer_flags
    -fsanitize=${_appkeys_sanitizers}
    -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  add_compile_options(${_appkeys_sanitizer_flags})
  add_link_options(${_appkeys_sanitizer_flags})
  message(STATUS "appkeys: sanitizers ${_appkeys_sanitizers} on for this tree's targets")
endif()
