// appkeys — the request bodies the client sends (PROTOCOL.md §3 and §4): create a key,
// log in, register.
//
// Written with JsonObjectWriter, not nlohmann/json (see detail/json_writer.hpp for why):
// the text is what a nlohmann/json document dumped, and building a request compiles
// none of nlohmann/json. The field names are wire.hpp's, shared with the answers and
// the fake backend.
#pragma once

#include <appkeys/app_config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/json_writer.hpp>
#include <appkeys/detail/wire.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace appkeys::detail::wire {

/// The create-key body, `{"name":…}`.
template <class T = void>
inline std::string create_key_body(std::string_view name) {
  std::string out;
  out.reserve(2 + json_member_bound(field::name, name.size()));
  JsonObjectWriter<T> body(out);
  body.string(field::name, name);
  body.end();
  return out;
}

/// The JSON text of a login's options.device. Members in sorted order (the order they
/// have always been sent in, nlohmann/json's); each optional one only when set.
template <class T = void>
inline std::string device_json(const DeviceInfo& device, std::string_view app_id,
                               const std::string& device_id) {
  std::string out;  // no secret here: no room to reserve first
  JsonObjectWriter<T> writer(out);
  const auto optional = [&writer](const char* key, const std::string& value) {
    if (!value.empty()) writer.string(key, value);
  };
  writer.string("appId", app_id);
  optional("appVersion", device.app_version);
  optional("bundleId", device.bundle_id);
  optional("cpuArch", device.cpu_arch);
  if (!device_id.empty()) {
    JsonObjectWriter<T> id = writer.object("deviceId");
    id.string(field::oid, device_id);
    id.end();
  }
  optional("deviceName", device.device_name);
  optional("deviceVersion", device.device_version);
  optional("frameworkName", device.framework_name);
  optional("frameworkVersion", device.framework_version);
  writer.string("platform", device.platform);
  writer.string("platformVersion", device.platform_version);
  writer.string("sdk", device.sdk);
  writer.string("sdkVersion", device.sdk_version);
  writer.end();
  return out;
}

/// The most bytes login_body writes for these credentials and device text: every
/// member any provider writes, `{"key":…,"options":{"device":…},"password":…,
/// "username":…}`, each string at its longest escaped.
inline std::size_t login_body_bound(const Credentials& credentials, std::string_view device) {
  const std::size_t secret = credentials.secret().reveal().size();
  const std::size_t options = json_string_bound(std::string_view(field::options).size()) + 1 + 2 +
                              json_string_bound(std::string_view(field::device).size()) + 1 +
                              device.size() + 1;
  return 2 + json_member_bound(field::key, secret) + options +
         json_member_bound(field::password, secret) +
         json_member_bound(field::username, credentials.email().size());
}

/// The login body: the provider's credential fields plus options.device, whose JSON
/// text (device_json) is `device`.
/// The returned string holds the password or key: callers keep it in a request only.
template <class T = void>
inline std::string login_body(const Credentials& credentials, std::string_view device) {
  std::string out;
  // All the room it needs, before the secret is in it: the string never reallocates,
  // so no copy of the secret is left in freed memory (and nothing here copies it).
  out.reserve(login_body_bound(credentials, device));
  const AuthProvider provider = credentials.provider();
  JsonObjectWriter<T> body(out);
  if (provider == AuthProvider::api_key) body.string(field::key, credentials.secret().reveal());
  JsonObjectWriter<T> options = body.object(field::options);
  options.raw(field::device, device);
  options.end();
  if (provider == AuthProvider::email_password) {
    body.string(field::password, credentials.secret().reveal());
    body.string(field::username, credentials.email());
  }
  body.end();
  return out;
}

/// The most bytes register_body writes; reserved before the password is written.
inline std::size_t register_body_bound(std::string_view email, std::string_view password) {
  return 2 + json_member_bound(field::email, email.size()) +
         json_member_bound(field::password, password.size());
}

/// The register body. Like login_body, the returned string holds the password, and
/// never reallocates once it does.
template <class T = void>
inline std::string register_body(std::string_view email, std::string_view password) {
  std::string out;
  out.reserve(register_body_bound(email, password));
  JsonObjectWriter<T> body(out);
  body.string(field::email, email);
  body.string(field::password, password);
  body.end();
  return out;
}

}  // namespace appkeys::detail::wire
