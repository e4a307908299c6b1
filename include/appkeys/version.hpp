// appkeys — version(): the version of the headers a program was compiled with.
#pragma once

#include <appkeys/config.hpp>

#include <string_view>

namespace appkeys {

/// A release number, as semantic versioning reads it (`major.minor.patch`): while
/// `major` is 0 any minor release may change the API (CHANGELOG.md says how); from 1 on,
/// only a new `major` does.
///
/// Thread safety: a constant value type; distinct objects are independent.
struct Version {
  int major = 0;  ///< Incompatible API changes (from 1.0 on).
  int minor = 0;  ///< Additions; before 1.0 also incompatible changes.
  int patch = 0;  ///< Fixes only.
  /// `"major.minor.patch"`, the same as APPKEYS_VERSION_STRING.
  std::string_view string;

  /// Same numbers (the string follows from them).
  friend constexpr bool operator==(const Version& a, const Version& b) noexcept {
    return a.major == b.major && a.minor == b.minor && a.patch == b.patch;
  }
};

/// The version of the appkeys headers this translation unit was compiled with: the
/// numbers of APPKEYS_VERSION_MAJOR, APPKEYS_VERSION_MINOR and APPKEYS_VERSION_PATCH, and
/// APPKEYS_VERSION_STRING. Header-only, so it is also the version the program runs with.
///
///     static_assert(appkeys::version().major == 0);
///     std::cout << "appkeys " << appkeys::version().string << '\n';
constexpr Version version() noexcept {
  return {APPKEYS_VERSION_MAJOR, APPKEYS_VERSION_MINOR, APPKEYS_VERSION_PATCH,
          APPKEYS_VERSION_STRING};
}

// The string is written out by hand in config.hpp (CMake and tools/amalgamate read it
// there); it must spell the three numbers.
#define APPKEYS_DETAIL_STRINGIFY_IMPL(x) #x
#define APPKEYS_DETAIL_STRINGIFY(x) APPKEYS_DETAIL_STRINGIFY_IMPL(x)
static_assert(std::string_view(APPKEYS_VERSION_STRING) ==
                  APPKEYS_DETAIL_STRINGIFY(APPKEYS_VERSION_MAJOR) "." APPKEYS_DETAIL_STRINGIFY(
                      APPKEYS_VERSION_MINOR) "." APPKEYS_DETAIL_STRINGIFY(APPKEYS_VERSION_PATCH),
              "APPKEYS_VERSION_STRING does not match APPKEYS_VERSION_MAJOR/MINOR/PATCH");
#undef APPKEYS_DETAIL_STRINGIFY
#undef APPKEYS_DETAIL_STRINGIFY_IMPL

}  // namespace appkeys
