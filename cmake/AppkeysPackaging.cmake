# CPack: `cpack -G DEB` in the build directory makes appkeys_<version>_<arch>.deb with
# everything `cmake --install` installs (cmake/AppkeysInstall.cmake): the headers, the
# single header, the CMake package, appkeys.pc and, when built, the `appkeys` command.
#
# Depends, declared here because the installed files need them:
#  - the headers include nlohmann/json, and the transports' headers include
#    cpp-httplib / libcurl, and appkeysConfig.cmake finds them (cpp-httplib through
#    pkg-config), so the -dev packages a consumer compiles against;
#  - the command's shared libraries, computed by dpkg-shlibdeps (exact versions) when it
#    is there, else listed by hand for Debian 12.
set(CPACK_PACKAGE_NAME "appkeys")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "appkeys")
set(CPACK_PACKAGE_CONTACT "appkeys maintainers <maintainers@appkeys.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "Create, list, enable, disable and delete App Services user API keys and log in with\n"
    "them, from C++20: headers, CMake package (find_package(appkeys)), pkg-config file,\n"
    "and the `appkeys` command (a local server and a key manager).")
string(JOIN "" CPACK_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "/build-[^/]*/")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "libdevel")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")

set(appkeys_deb_depends "nlohmann-json3-dev (>= 3.11)")
if(TARGET appkeys_httplib)
  list(APPEND appkeys_deb_depends "libcpp-httplib-dev" "libssl-dev" "pkg-config")
endif()
if(TARGET appkeys_curl)
  list(APPEND appkeys_deb_depends "libcurl4-openssl-dev (>= 7.68) | libcurl-dev")
endif()

if(TARGET appkeys_cli)
  find_program(APPKEYS_DPKG_SHLIBDEPS dpkg-shlibdeps)
  mark_as_advanced(APPKEYS_DPKG_SHLIBDEPS)
  if(APPKEYS_DPKG_SHLIBDEPS)
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  else()
    # What the command links on Debian 12 (CLI11 is header-only).
    list(APPEND appkeys_deb_depends "libc6 (>= 2.34)" "libstdc++6 (>= 12)" "libgcc-s1"
         "libcurl4 (>= 7.68)" "libcpp-httplib0.11" "libssl3" "libsqlite3-0 (>= 3.37)"
         "libpq5")
  endif()
else()
  # Headers and text files only.
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "all")
endif()

list(JOIN appkeys_deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
# For tests/consumers: what `dpkg-deb --info` must show.
set(APPKEYS_DEB_DEPENDS "${CPACK_DEBIAN_PACKAGE_DEPENDS}")
set(APPKEYS_DEB_SHLIBDEPS "${CPACK_DEBIAN_PACKAGE_SHLIBDEPS}")

include(CPack)
