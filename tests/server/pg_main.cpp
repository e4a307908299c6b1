// main() of the PostgreSQL server suite. Its tests need a database: the URI in
// APPKEYS_TEST_POSTGRES_URI (scripts/pg-cluster start prints it; scripts/test and
// .ci/run start a throwaway cluster and set it). Without it:
// - under ctest (which sets APPKEYS_TEST_POSTGRES_REQUIRED=1), the run FAILS, so CI can
//   never pass by skipping PostgreSQL;
// - run by hand, every test is skipped with a message saying how to run them.
#include "catch_runner.hpp"
#include "server/temp_pg_schema.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

int main(int argc, char* argv[]) {
  bool listing = false;  // catch_discover_tests lists the tests at build time
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).rfind("--list", 0) == 0) listing = true;
  }
  const char* uri = std::getenv(appkeys_test::postgres_uri_variable);
  if (!listing && (uri == nullptr || *uri == '\0')) {
    const char* required = std::getenv("APPKEYS_TEST_POSTGRES_REQUIRED");
    if (required != nullptr && std::string_view(required) == "1") {
      std::fprintf(stderr,
                   "FAIL: %s is not set, and these PostgreSQL tests are required here "
                   "(APPKEYS_TEST_POSTGRES_REQUIRED=1, set by ctest). Start a throwaway "
                   "cluster first: eval \"$(scripts/pg-cluster start /tmp/appkeys-pg)\" "
                   "(scripts/test does it), or configure with -DAPPKEYS_TEST_POSTGRES=OFF.\n",
                   appkeys_test::postgres_uri_variable);
      return 1;
    }
    std::fprintf(stderr,
                 "SKIPPED: every PostgreSQL test: %s is not set. To run them: eval \"$(scripts/"
                 "pg-cluster start /tmp/appkeys-pg)\", then run this again.\n",
                 appkeys_test::postgres_uri_variable);
    return 0;
  }
  return appkeys_test::run_catch(argc, argv);
}
