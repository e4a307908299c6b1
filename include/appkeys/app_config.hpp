// appkeys — AppConfig: which app, where, and how patiently.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/retry.hpp>

#include <chrono>
#include <string>

namespace appkeys {

/// Describes this client to the server in every login's `options.device`
/// (PROTOCOL.md §4). The device id is not here: the server assigns it and App
/// remembers it.
struct DeviceInfo {
  std::string platform = "cpp";
  std::string platform_version = "";
  std::string sdk = "appkeys";
  std::string sdk_version = APPKEYS_VERSION_STRING;
  std::string app_version = "";
  std::string cpu_arch = "";
  std::string device_name = "";
  std::string device_version = "";
  std::string framework_name = "";
  std::string framework_version = "";
  std::string bundle_id = "";
};

/// Configuration of one App. An aggregate, so designated initializers work:
/// `AppConfig{.app_id = "shop-abcde", .skip_location = true}`.
struct AppConfig {
  /// The App Services client app id ("shop-abcde"); letters, digits, '-', '_', '.'.
  std::string app_id{};
  /// Where the location request goes; a trailing '/' is ignored.
  std::string base_url = "https://services.cloud.mongodb.com";
  /// Bound on each HTTP exchange (connect + send + receive).
  std::chrono::milliseconds request_timeout{60'000};
  /// Skip the location request and send every request to base_url.
  bool skip_location = false;
  DeviceInfo device{};
  /// Whether failed requests are retried (default: never). See RetryPolicy.
  RetryPolicy retry{};
};

}  // namespace appkeys
