#pragma once
// Catch2's runner, compiled once (catch_impl.cpp) for the main() of every test binary.

namespace appkeys_test {

/// Runs the tests as Catch2's own main() would: Catch::Session().run(argc, argv).
int run_catch(int argc, char* argv[]);

}  // namespace appkeys_test
