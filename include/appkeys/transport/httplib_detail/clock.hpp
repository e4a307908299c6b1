// appkeys — the clock HttplibTransport measures every deadline on.
#pragma once

#include <appkeys/detail/chrono.hpp>

namespace appkeys::httplib_detail {

using Clock = std::chrono::steady_clock;

}  // namespace appkeys::httplib_detail
