// appkeys::version() and the APPKEYS_VERSION_* macros agree with each other and with the
// version the build system gave the project (CMake reads it from config.hpp).
#if defined(__has_include) && __has_include(<appkeys/version.hpp>)
#include <appkeys/version.hpp>
#else
#include <appkeys/appkeys.hpp>
#endif

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace version_test {

// Usable at compile time.
static_assert(appkeys::version().major == APPKEYS_VERSION_MAJOR);
static_assert(appkeys::version().string == APPKEYS_VERSION_STRING);

TEST_CASE("version() gives the numbers and the string of the APPKEYS_VERSION macros", "[version]") {
  constexpr appkeys::Version v = appkeys::version();
  CHECK(v.major == APPKEYS_VERSION_MAJOR);
  CHECK(v.minor == APPKEYS_VERSION_MINOR);
  CHECK(v.patch == APPKEYS_VERSION_PATCH);
  CHECK(v.string == APPKEYS_VERSION_STRING);
  CHECK(std::string(v.string) ==
        std::to_string(v.major) + '.' + std::to_string(v.minor) + '.' + std::to_string(v.patch));
}

TEST_CASE("version() is the version CMake configured the project with", "[version]") {
  CHECK(appkeys::version().string == std::string_view(APPKEYS_TEST_PROJECT_VERSION));
}

TEST_CASE("Versions compare by their numbers", "[version]") {
  CHECK(appkeys::Version{1, 2, 3, "1.2.3"} == appkeys::Version{1, 2, 3, "1.2.3"});
  CHECK_FALSE(appkeys::Version{1, 2, 3, "1.2.3"} == appkeys::Version{1, 2, 4, "1.2.4"});
  CHECK_FALSE(appkeys::Version{1, 2, 3, "1.2.3"} == appkeys::Version{2, 2, 3, "2.2.3"});
}

}  // namespace version_test
