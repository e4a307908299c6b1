// The request bodies as the client built them before detail/json_writer.hpp:
// nlohmann/json documents, dumped. The reference that tests/json_writer_test.cpp and
// fuzz/fuzz_json_writer.cpp hold the writer to, byte for byte, and the writer's side of
// that comparison for one string; kept in one place so the two cannot drift apart.
#pragma once

#include <appkeys/app_config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/json_writer.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace request_bodies_reference {

using json = nlohmann::json;

/// The client's serialization: never throwing on ill-formed UTF-8 (U+FFFD instead).
inline std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// `text` as the writer writes it: a JSON string, quotes included (compare with dump()).
inline std::string written(std::string_view text) {
  std::string out;
  appkeys::detail::append_json_string(out, text);
  return out;
}

inline json create_key(std::string_view name) { return json{{"name", std::string(name)}}; }

inline json device(const appkeys::DeviceInfo& info, std::string_view app_id,
                   const std::string& device_id) {
  json out = json::object();
  out["appId"] = std::string(app_id);
  if (!info.app_version.empty()) out["appVersion"] = info.app_version;
  out["platform"] = info.platform;
  out["platformVersion"] = info.platform_version;
  out["sdk"] = info.sdk;
  out["sdkVersion"] = info.sdk_version;
  if (!info.cpu_arch.empty()) out["cpuArch"] = info.cpu_arch;
  if (!info.device_name.empty()) out["deviceName"] = info.device_name;
  if (!info.device_version.empty()) out["deviceVersion"] = info.device_version;
  if (!info.framework_name.empty()) out["frameworkName"] = info.framework_name;
  if (!info.framework_version.empty()) out["frameworkVersion"] = info.framework_version;
  if (!info.bundle_id.empty()) out["bundleId"] = info.bundle_id;
  if (!device_id.empty()) out["deviceId"] = json{{"$oid", device_id}};
  return out;
}

inline json login(const appkeys::Credentials& credentials, const json& device_document) {
  json body = json::object();
  switch (credentials.provider()) {
    case appkeys::AuthProvider::email_password:
      body["username"] = credentials.email();
      body["password"] = credentials.secret().reveal();
      break;
    case appkeys::AuthProvider::api_key:
      body["key"] = credentials.secret().reveal();
      break;
    case appkeys::AuthProvider::anonymous:
      break;
  }
  body["options"] = json{{"device", device_document}};
  return body;
}

inline json register_email(std::string_view email, std::string_view password) {
  return json{{"email", std::string(email)}, {"password", std::string(password)}};
}

}  // namespace request_bodies_reference
