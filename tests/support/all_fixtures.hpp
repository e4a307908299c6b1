// Every transport the behaviour suite runs through: in memory, and over real HTTP
// against a LocalServer with each network transport.
#pragma once

#include "support/fixtures.hpp"
#include "support/http_fixtures_curl.hpp"
#include "support/http_fixtures_httplib.hpp"

#define APPKEYS_BEHAVIOUR_FIXTURES                                                    \
  appkeys_test::FakeFixture, appkeys_test::HttplibFixture, appkeys_test::CurlFixture, \
      appkeys_test::CurlMultiFixture
