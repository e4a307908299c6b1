// appkeys — the name Flight (steps/flight.hpp), for headers that only hold one by pointer.
#pragma once

#include <appkeys/result.hpp>

namespace appkeys::detail::steps {

template <class>
class BasicFlight;
/// One request shared by every call that needs it at the same time (steps/flight.hpp).
using Flight = BasicFlight<Result<void>>;

}  // namespace appkeys::detail::steps
