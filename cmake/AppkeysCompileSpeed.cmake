# Compile-time settings for appkeys' own targets (the tests, examples, command, server
# and fuzz replays). Directory-scoped, so they never reach a consumer of the INTERFACE
# targets, and they change no generated code.

# GCC collects its garbage every time its heap has doubled since the last collection,
# from 128 MB (on any machine with 1 GB of RAM or more). A test unit here allocates 1 to
# 2 GB, so it collected four or five times: 7-8% of its CPU time (tests/behaviour_test.cpp
# 13.9 -> 12.8 s user, the executors unity unit 28.4 -> 26.5 s) for 80-200 MB of extra
# peak memory when the first collection waits for 1 GB.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(--param=ggc-min-heapsize=1048576)
endif()
