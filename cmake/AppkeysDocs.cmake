# The API reference: `cmake --build <dir> --target docs` runs Doxygen over the public
# headers (docs/Doxyfile.in) into <dir>/docs/html/index.html. Every public name must carry
# a doc comment and every public class a "Thread safety:" line: a warning, or a class
# without that line (docs/check_thread_safety.py), fails the target.
find_package(Doxygen QUIET)
set(appkeys_docs_default OFF)
if(APPKEYS_IS_TOP_LEVEL AND DOXYGEN_FOUND)
  set(appkeys_docs_default ON)
endif()
option(APPKEYS_BUILD_DOCS "Provide the docs target (Doxygen API reference)"
       ${appkeys_docs_default})
if(NOT APPKEYS_BUILD_DOCS)
  return()
endif()
if(NOT DOXYGEN_FOUND)
  message(FATAL_ERROR "APPKEYS_BUILD_DOCS needs Doxygen (Debian: apt-get install doxygen)")
endif()
find_package(Python3 REQUIRED COMPONENTS Interpreter)

set(APPKEYS_DOCS_OUTPUT_DIR "${PROJECT_BINARY_DIR}/docs")
configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${PROJECT_BINARY_DIR}/Doxyfile" @ONLY)
add_custom_target(docs
  # A fresh output every time, so no page of a removed name survives.
  COMMAND ${CMAKE_COMMAND} -E rm -rf "${APPKEYS_DOCS_OUTPUT_DIR}/html"
          "${APPKEYS_DOCS_OUTPUT_DIR}/xml"
  COMMAND ${CMAKE_COMMAND} -E make_directory "${APPKEYS_DOCS_OUTPUT_DIR}"
  COMMAND Doxygen::doxygen "${PROJECT_BINARY_DIR}/Doxyfile"
  COMMAND Python3::Interpreter "${PROJECT_SOURCE_DIR}/docs/check_thread_safety.py"
          "${APPKEYS_DOCS_OUTPUT_DIR}/xml"
  COMMAND ${CMAKE_COMMAND} -E echo "API reference: ${APPKEYS_DOCS_OUTPUT_DIR}/html/index.html"
  WORKING_DIRECTORY "${PROJECT_BINARY_DIR}"
  COMMENT "Doxygen: the API reference (warnings are errors)"
  VERBATIM)
