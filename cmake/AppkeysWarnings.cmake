# Warnings as errors for the project's own targets (never imposed on consumers).
option(APPKEYS_WARNINGS_AS_ERRORS "Build appkeys' own targets with -Werror" ON)

function(appkeys_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(APPKEYS_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Known GCC 12 false positives, inside libstdc++ and only once the optimiser runs,
    # so -O0 (Debug, what scripts/test builds) keeps every warning:
    # - -Wmaybe-uninitialized in std::function inside <regex> (which catch.hpp includes),
    #   at -O1 and above (GCC bug 105562). Sanitized builds (cmake/AppkeysSanitizers.cmake)
    #   compile at -O1 in every configuration, and the instrumentation makes this
    #   flow-based warning noisier still, so it is off there; in the optimised
    #   configurations too.
    # - -Wrestrict in some std::string concatenations at -O3 (GCC bug 105651).
    # Clang has neither problem and keeps both warnings.
    if(APPKEYS_SANITIZE)
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    target_compile_options(${target} PRIVATE
      $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-Wno-maybe-uninitialized>
      $<$<CONFIG:Release>:-Wno-restrict>)
  endif()
endfunction()
