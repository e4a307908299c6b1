// appkeys — the clocks and durations the library uses, without C++20's calendar.
#pragma once

// <version> first: it is what defines __GLIBCXX__ (and costs nothing).
#include <version>

// C++20's <chrono> adds the calendar, time zones and their formatting to the clocks and
// durations this library uses (steady_clock, system_clock, milliseconds, the literals).
// With libstdc++ that part costs every program that includes <appkeys/appkeys.hpp> about
// 5% of nlohmann/json's own compile time (g++ 12 -O0: 1.42 -> 1.37 s for nlohmann/json
// plus the standard headers the client includes). libstdc++ (GCC 11 on) keeps the clocks,
// durations and std::chrono_literals in <bits/chrono.h>, the header its own <thread>,
// <mutex> and <future> include for the same reason. Elsewhere, the standard <chrono>.
// A program that uses the calendar includes <chrono> itself, as it would anyway.
#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <appkeys/detail/chrono.hpp>
#endif
