# Install rules: `cmake --install <build> [--prefix P]` (and CPack, which runs them).
#
# Installed layout (GNUInstallDirs; DATADIR, not LIBDIR, because the library is header-only
# and the same files serve every architecture, as nlohmann_json does):
#
#   include/appkeys/...                      the headers (what appkeys::appkeys uses)
#   include/appkeys_single/appkeys/...       the generated single header and the files beside
#                                            it (appkeys::single_header; -I that directory)
#   share/cmake/appkeys/appkeysConfig.cmake  find_package(appkeys): appkeys::appkeys,
#                                            appkeys::single_header, appkeys::httplib,
#                                            appkeys::curl
#   share/pkgconfig/appkeys.pc               pkg-config --cflags appkeys
#   bin/appkeys                              the command, when APPKEYS_BUILD_CLI is on
#
# Two components, so a header-only install needs nothing built:
#   appkeys_development  everything but the command
#   appkeys_command      bin/appkeys
include(CMakePackageConfigHelpers)

set(APPKEYS_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/appkeys"
    CACHE STRING "Where appkeysConfig.cmake is installed (relative to the prefix)")
set(APPKEYS_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig"
    CACHE STRING "Where appkeys.pc is installed (relative to the prefix)")
mark_as_advanced(APPKEYS_INSTALL_CMAKEDIR APPKEYS_INSTALL_PKGCONFIGDIR)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/appkeys"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT appkeys_development
        FILES_MATCHING PATTERN "*.hpp")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/single_include/appkeys"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/appkeys_single"
        COMPONENT appkeys_development
        FILES_MATCHING PATTERN "*.hpp")

# One export set per target group: a transport whose library is missing on the consumer's
# machine must not stop the core from loading (appkeysConfig.cmake loads each when found).
install(TARGETS appkeys appkeys_single_header EXPORT appkeysTargets)
install(EXPORT appkeysTargets
        NAMESPACE appkeys::
        DESTINATION "${APPKEYS_INSTALL_CMAKEDIR}"
        COMPONENT appkeys_development)

set(APPKEYS_EXPORTED_TRANSPORTS "")
if(TARGET appkeys_httplib)
  install(TARGETS appkeys_httplib EXPORT appkeysHttplibTargets)
  install(EXPORT appkeysHttplibTargets
          NAMESPACE appkeys::
          DESTINATION "${APPKEYS_INSTALL_CMAKEDIR}"
          COMPONENT appkeys_development)
  list(APPEND APPKEYS_EXPORTED_TRANSPORTS httplib)
endif()
if(TARGET appkeys_curl)
  install(TARGETS appkeys_curl EXPORT appkeysCurlTargets)
  install(EXPORT appkeysCurlTargets
          NAMESPACE appkeys::
          DESTINATION "${APPKEYS_INSTALL_CMAKEDIR}"
          COMPONENT appkeys_development)
  list(APPEND APPKEYS_EXPORTED_TRANSPORTS curl)
endif()

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/appkeysConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/appkeysConfig.cmake"
  INSTALL_DESTINATION "${APPKEYS_INSTALL_CMAKEDIR}")
# 0.x: SameMajorVersion treats every 0.y as compatible; the CHANGELOG says what changed.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/appkeysConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/appkeysConfig.cmake"
              "${PROJECT_BINARY_DIR}/appkeysConfigVersion.cmake"
        DESTINATION "${APPKEYS_INSTALL_CMAKEDIR}"
        COMPONENT appkeys_development)

# pkg-config: the prefix is found from the .pc file's own place, so the installed tree
# can be moved (or unpacked from the .deb anywhere) and still be right.
file(RELATIVE_PATH APPKEYS_PC_TO_PREFIX
     "/prefix/${APPKEYS_INSTALL_PKGCONFIGDIR}" "/prefix")
string(REGEX REPLACE "/$" "" APPKEYS_PC_TO_PREFIX "${APPKEYS_PC_TO_PREFIX}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(APPKEYS_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(APPKEYS_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/appkeys.pc.in" "${PROJECT_BINARY_DIR}/appkeys.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/appkeys.pc"
        DESTINATION "${APPKEYS_INSTALL_PKGCONFIGDIR}"
        COMPONENT appkeys_development)

if(TARGET appkeys_cli)
  install(TARGETS appkeys_cli
          RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
          COMPONENT appkeys_command)
endif()
