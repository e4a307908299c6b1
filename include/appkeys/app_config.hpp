// appkeys — AppConfig: which app, where, and how patiently.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/detail/chrono.hpp>
#include <appkeys/retry.hpp>

#include <string>

namespace appkeys {

/// Describes this client to the server in every login's `options.device`
/// (PROTOCOL.md §4). The device id is not here: the server assigns it and App
/// remembers it.
///
/// Thread safety: a value type; distinct objects are independent.
struct DeviceInfo {
  std::string platform = "cpp";                      ///< `platform`: the language or OS.
  std::string platform_version = "";                 ///< `platformVersion`.
  std::string sdk = "appkeys";                       ///< `sdk`: this library.
  std::string sdk_version = APPKEYS_VERSION_STRING;  ///< `sdkVersion`.
  std::string app_version = "";                      ///< `appVersion`: your program's.
  std::string cpu_arch = "";                         ///< `cpuArch`.
  std::string device_name = "";                      ///< `deviceName`.
  std::string device_version = "";                   ///< `deviceVersion`.
  std::string framework_name = "";                   ///< `frameworkName`.
  std::string framework_version = "";                ///< `frameworkVersion`.
  std::string bundle_id = "";                        ///< `bundleId`.
};

/// Configuration of one App. An aggregate, so designated initializers work:
/// `AppConfig{.app_id = "shop-abcde", .skip_location = true}`.
///
/// Thread safety: a value type; App keeps its own copy, fixed at construction.
struct AppConfig {
  /// The App Services client app id ("shop-abcde"); letters, digits, '-', '_', '.'.
  std::string app_id{};
  /// Where the location request goes; a trailing '/' is ignored.
  std::string base_url = "https://services.cloud.mongodb.com";
  /// Bound on each HTTP exchange (connect + send + receive).
  std::chrono::milliseconds request_timeout{60'000};
  /// Skip the location request and send every request to base_url.
  bool skip_location = false;
  /// What each login says about this client (PROTOCOL.md §4, `options.device`).
  DeviceInfo device{};
  /// Whether failed requests are retried (default: never). See RetryPolicy.
  RetryPolicy retry{};
};

}  // namespace appkeys
