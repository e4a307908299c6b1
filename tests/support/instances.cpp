// The definitions of the instances support/instances.hpp declares extern.
#define APPKEYS_TEST_INSTANCES_DEFINE
#include "support/instances.hpp"
