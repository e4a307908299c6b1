// main() of the test binaries: Catch2's runner, as CATCH_CONFIG_MAIN would write it.
#include "catch_runner.hpp"

int main(int argc, char* argv[]) { return appkeys_test::run_catch(argc, argv); }
