#!/usr/bin/env python3
"""Fails when including the single header makes GCC compile classes that only a call needs.

GCC instantiates a class template that a template names non-dependently (a member's
type, the type of an expression in a function body) where the template is defined, so
in every program that includes the header, whether or not it makes a call. The library
names such types through detail::dependent_t (include/appkeys/detail/dependent.hpp),
which keeps the header alone within its compile-time budget (benchmarks/compile_time).
This test keeps it so: it compiles `#include <appkeys/appkeys.hpp>` alone with
-fdump-lang-class, which lists every class GCC completes, and fails if one of the
classes below is among them, naming it. A class that a public type holds by value
(Headers' multimap, std::optional<Secret>) is compiled anyway and is not listed.

usage: check_instantiations.py SINGLE_INCLUDE_DIR [CXX]   (exit 77: not GCC, skipped)
"""
import os
import re
import subprocess
import sys
import tempfile

# Each compiled only where a program makes calls (or starts the executor that needs it).
ONLY_WHERE_USED = [
    r"appkeys::BasicThreadPool<",
    r"appkeys::detail::BasicFuturePool<",
    r"appkeys::detail::BasicTimerThread<",
    r"appkeys::detail::BasicCallRegistry<",
    r"appkeys::detail::steps::Basic\w+<",
    r"appkeys::detail::steps::KeyCall<",
    r"appkeys::Result<appkeys::(User|ApiKey|Secret|detail::wire::\w+)>",
    r"appkeys::Result<std::(vector|basic_string_view)<",
    r"std::optional<std::(chrono::|basic_string_view|__cxx11::basic_string)",
    r"std::optional<appkeys::errc>",
    r"std::vector<std::thread",
    r"std::vector<std::(weak|shared)_ptr<appkeys::detail::ShutdownTarget",
    r"std::multimap<std::chrono::",
    r"std::atomic<std::thread::id>",
]


def main():
    include_dir = sys.argv[1]
    compiler = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("CXX", "g++")
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    if "Free Software Foundation" not in version:  # GCC says so; clang does not
        print(f"skipped: {compiler} is not GCC (-fdump-lang-class is GCC's)")
        return 77
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "header_alone.cpp")
        dump = os.path.join(work, "classes")
        with open(source, "w") as out:
            out.write("#include <appkeys/appkeys.hpp>\n")
        subprocess.run([compiler, "-std=c++20", "-fsyntax-only", "-I", include_dir,
                        f"-fdump-lang-class={dump}", source], check=True)
        with open(dump, errors="replace") as listing:
            classes = {line[len("Class "):].rstrip() for line in listing
                       if line.startswith("Class ")}
    patterns = [re.compile(pattern) for pattern in ONLY_WHERE_USED]
    found = sorted(name for name in classes if any(p.match(name) for p in patterns))
    print(f"{len(classes)} classes compiled by the header alone")
    if found:
        print("compiled by every program that includes the header, though only a call needs "
              "them (name them through detail::dependent_t):")
        for name in found:
            print(f"  {name}")
        return 1
    print(f"none of the {len(ONLY_WHERE_USED)} kinds that only a call needs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
