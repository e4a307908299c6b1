# Builds and runs one consumer project of appkeys, from scratch, the way a user would.
# Registered by tests/CMakeLists.txt as ctest consumer_<MODE>:
#
#   cmake -DMODE=<mode> -DAPPKEYS_SOURCE_DIR=... -DAPPKEYS_BINARY_DIR=... -DWORK_DIR=...
#         -DCONSUMER_GENERATOR=... -DCONSUMER_CXX_COMPILER=... [-DCONSUMER_WITH_HTTP=ON]
#         [-DDEB_DEPENDS=... -DDEB_SHLIBDEPS=ON] -P run.cmake
#
# MODE
#   find_package      `cmake --install` the development component into WORK_DIR/prefix,
#                     then find_package(appkeys) from there (and check appkeys.pc)
#   add_subdirectory  add_subdirectory(<appkeys source>) in a consumer project
#   single_header     copy single_include/appkeys/appkeys.hpp and testing/fake.hpp alone into a new project
#   deb               `cpack -G DEB` into WORK_DIR, check its Depends, unpack it with
#                     `dpkg-deb -x` into WORK_DIR/root (never onto the system), build the
#                     find_package consumer against WORK_DIR/root/usr and run the
#                     unpacked `appkeys --version`
#
# Everything is written under WORK_DIR (inside the build tree), which is emptied first.
# Each consumer compiles its few files with -Wall -Wextra -Wpedantic -Werror, -j1.
cmake_minimum_required(VERSION 3.20)

foreach(required IN ITEMS MODE APPKEYS_SOURCE_DIR APPKEYS_BINARY_DIR WORK_DIR
                          CONSUMER_GENERATOR CONSUMER_CXX_COMPILER)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${required}=... is required")
  endif()
endforeach()
if(NOT DEFINED CONSUMER_WITH_HTTP)
  set(CONSUMER_WITH_HTTP OFF)
endif()
set(consumers "${APPKEYS_SOURCE_DIR}/tests/consumers")

function(step)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "consumer_${MODE}: ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "consumer_${MODE}: FAILED (${result}): ${shown}")
  endif()
endfunction()

# Configures, builds (-j1) and runs every program of a consumer project.
function(build_and_run source_dir build_dir)
  step(${CMAKE_COMMAND} -S "${source_dir}" -B "${build_dir}" -G "${CONSUMER_GENERATOR}"
       -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER} -DCMAKE_BUILD_TYPE=Debug ${ARGN})
  step(${CMAKE_COMMAND} --build "${build_dir}" -j1)
  file(GLOB programs LIST_DIRECTORIES false "${build_dir}/consumer_*")
  if(NOT programs)
    message(FATAL_ERROR "consumer_${MODE}: no consumer_* program was built in ${build_dir}")
  endif()
  foreach(program IN LISTS programs)
    step("${program}")
  endforeach()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  # Only the development component: it needs nothing built.
  step(${CMAKE_COMMAND} --install "${APPKEYS_BINARY_DIR}" --prefix "${prefix}"
       --component appkeys_development)
  build_and_run("${consumers}/find_package" "${WORK_DIR}/build"
                "-DCMAKE_PREFIX_PATH=${prefix}" "-DCONSUMER_EXPECTED_PREFIX=${prefix}"
                "-DCONSUMER_WITH_HTTP=${CONSUMER_WITH_HTTP}"
                -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

  # pkg-config finds the installed headers through the relocatable appkeys.pc.
  find_program(PKG_CONFIG_EXECUTABLE pkg-config)
  if(PKG_CONFIG_EXECUTABLE)
    set(ENV{PKG_CONFIG_PATH} "${prefix}/share/pkgconfig")
    execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --cflags appkeys
                    OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE result)
    if(NOT result EQUAL 0 OR NOT cflags MATCHES "-I([^ ]+)")
      message(FATAL_ERROR "consumer_${MODE}: pkg-config --cflags appkeys: '${cflags}'")
    endif()
    if(NOT EXISTS "${CMAKE_MATCH_1}/appkeys/appkeys.hpp")
      message(FATAL_ERROR "consumer_${MODE}: appkeys.pc points at ${CMAKE_MATCH_1}, "
                          "which has no appkeys/appkeys.hpp")
    endif()
    message(STATUS "consumer_${MODE}: pkg-config --cflags appkeys: ${cflags}")
  endif()

elseif(MODE STREQUAL "add_subdirectory")
  build_and_run("${consumers}/add_subdirectory" "${WORK_DIR}/build"
                "-DAPPKEYS_SOURCE_DIR=${APPKEYS_SOURCE_DIR}")

elseif(MODE STREQUAL "single_header")
  set(project "${WORK_DIR}/project")
  file(COPY "${consumers}/single_header/CMakeLists.txt" "${consumers}/lifecycle.cpp"
       DESTINATION "${project}")
  file(COPY "${APPKEYS_SOURCE_DIR}/single_include/appkeys/appkeys.hpp"
       DESTINATION "${project}/third_party/appkeys")
  file(COPY "${APPKEYS_SOURCE_DIR}/single_include/appkeys/testing/fake.hpp"
       DESTINATION "${project}/third_party/appkeys/testing")
  build_and_run("${project}" "${WORK_DIR}/build")

elseif(MODE STREQUAL "deb")
  foreach(tool IN ITEMS CPACK_COMMAND DPKG_DEB)
    if(NOT DEFINED ${tool} OR "${${tool}}" STREQUAL "")
      message(FATAL_ERROR "run.cmake: -D${tool}=... is required for MODE=deb")
    endif()
  endforeach()
  set(packages "${WORK_DIR}/packages")
  step(${CPACK_COMMAND} -G DEB --config "${APPKEYS_BINARY_DIR}/CPackConfig.cmake"
       -B "${packages}")
  file(GLOB debs "${packages}/*.deb")
  list(LENGTH debs count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "consumer_${MODE}: expected one .deb in ${packages}, found: ${debs}")
  endif()

  # Depends holds every declared dependency, and the command's libraries.
  execute_process(COMMAND "${DPKG_DEB}" --field "${debs}" Package Version Depends
                  OUTPUT_VARIABLE fields RESULT_VARIABLE result)
  message(STATUS "consumer_${MODE}: dpkg-deb --field:\n${fields}")
  if(NOT result EQUAL 0 OR NOT fields MATCHES "\nDepends: ([^\n]*)")
    message(FATAL_ERROR "consumer_${MODE}: no Depends in ${debs}")
  endif()
  set(depends "${CMAKE_MATCH_1}")
  string(REPLACE ", " ";" declared "${DEB_DEPENDS}")
  set(expected ${declared})
  if(DEB_SHLIBDEPS)
    list(APPEND expected "libc6 (" "libstdc++6 (" "libcurl4 (" "libcpp-httplib0.11 (")
  endif()
  foreach(item IN LISTS expected)
    string(FIND "${depends}" "${item}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "consumer_${MODE}: Depends lacks '${item}': ${depends}")
    endif()
  endforeach()
  if(NOT fields MATCHES "Package: appkeys\nVersion: ${EXPECTED_VERSION}\n")
    message(FATAL_ERROR "consumer_${MODE}: not appkeys ${EXPECTED_VERSION}:\n${fields}")
  endif()

  set(root "${WORK_DIR}/root")
  step("${DPKG_DEB}" -x "${debs}" "${root}")
  foreach(file IN ITEMS include/appkeys/appkeys.hpp include/appkeys_single/appkeys/appkeys.hpp
                        share/cmake/appkeys/appkeysConfig.cmake
                        share/cmake/appkeys/appkeysConfigVersion.cmake
                        share/pkgconfig/appkeys.pc bin/appkeys)
    if(NOT EXISTS "${root}/usr/${file}")
      message(FATAL_ERROR "consumer_${MODE}: the package has no /usr/${file}")
    endif()
  endforeach()

  build_and_run("${consumers}/find_package" "${WORK_DIR}/build"
                "-DCMAKE_PREFIX_PATH=${root}/usr" "-DCONSUMER_EXPECTED_PREFIX=${root}/usr"
                "-DCONSUMER_WITH_HTTP=${CONSUMER_WITH_HTTP}"
                -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

  execute_process(COMMAND "${root}/usr/bin/appkeys" --version
                  OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE result)
  if(NOT result EQUAL 0 OR NOT version STREQUAL "${EXPECTED_VERSION}")
    message(FATAL_ERROR "consumer_${MODE}: unpacked appkeys --version: '${version}' (${result}), "
                        "expected '${EXPECTED_VERSION}'")
  endif()
  message(STATUS "consumer_${MODE}: unpacked appkeys --version: ${version}")

else()
  message(FATAL_ERROR "run.cmake: unknown MODE '${MODE}'")
endif()

message(STATUS "consumer_${MODE}: passed")
