#!/usr/bin/env python3
"""Fails unless every public class documented by Doxygen says how it behaves across
threads: its doc comment must contain a "Thread safety:" line (Boost.Beast style).

usage: docs/check_thread_safety.py <doxygen xml directory>

Reads Doxygen's XML output (GENERATE_XML in docs/Doxyfile.in), so "public" means what the
API reference shows: every public class and struct outside detail/ and the *_detail
namespaces, std specializations included.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    xml_dir = pathlib.Path(argv[1])
    index = ET.parse(xml_dir / "index.xml").getroot()
    missing = []
    checked = 0
    for compound in index.iter("compound"):
        if compound.get("kind") not in ("class", "struct"):
            continue
        refid = compound.get("refid")
        definition = ET.parse(xml_dir / f"{refid}.xml").getroot().find("compounddef")
        if definition.get("prot", "public") != "public":
            continue  # a private nested class: not in the reference
        name = definition.findtext("compoundname")
        text = "".join(
            "".join(definition.find(part).itertext())
            for part in ("briefdescription", "detaileddescription")
            if definition.find(part) is not None)
        checked += 1
        if "Thread safety:" not in text:
            location = definition.find("location")
            where = location.get("file") if location is not None else "?"
            missing.append(f"{where}: {name}")
    if checked == 0:
        print("check_thread_safety: no class found in " + str(xml_dir), file=sys.stderr)
        return 1
    if missing:
        print("check_thread_safety: these public classes have no \"Thread safety:\" line "
              "in their doc comment:", file=sys.stderr)
        for entry in missing:
            print("  " + entry, file=sys.stderr)
        return 1
    print(f"check_thread_safety: all {checked} public classes say how they behave across "
          "threads")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
