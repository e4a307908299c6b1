// Catch2's implementation, compiled once for every test binary: its runner without a
// main() (main.cpp and server/pg_main.cpp each have their own).
#define CATCH_CONFIG_RUNNER
#include "catch_runner.hpp"

#include <catch2/catch.hpp>

int appkeys_test::run_catch(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
