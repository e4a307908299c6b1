// How Catch prints appkeys' own types in a failed assertion.
// Include it after the appkeys headers (include/ or the single header, whichever the
// test file is built against).
#pragma once

#include <catch2/catch.hpp>

#include <string>

namespace Catch {
/// errc values print by name ("errc::api_key_not_found"), not as bare numbers.
template <>
struct StringMaker<appkeys::errc> {
  static std::string convert(appkeys::errc code) {
    return "errc::" + std::string(appkeys::detail::errc_name(code));
  }
};
}  // namespace Catch
