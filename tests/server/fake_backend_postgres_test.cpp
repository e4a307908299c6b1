// Every test of fake_backend_test.cpp, again, with the same rules over the PostgreSQL store.
#define APPKEYS_TEST_POSTGRES_STORE 1
#include "fake_backend_test.cpp"  // NOLINT(bugprone-suspicious-include): the suite itself
