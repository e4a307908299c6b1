# Warnings as errors for the project's own targets (never imposed on consumers).
option(APPKEYS_WARNINGS_AS_ERRORS "Build appkeys' own targets with -Werror" ON)

function(appkeys_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
    if(APPKEYS_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
