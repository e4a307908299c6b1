// Shared pieces of the benchmarks: the hand-written "floor" clients and the fixtures.
//
// Every operation is measured twice in the same run, back to back (Google Benchmark's
// random interleaving shuffles the repetitions): once through the library, once through
// a client written by hand against the same server with the same requests. The ratio
// library / floor is what the suite reports; absolute times on a shared 2-core machine
// mean little, ratios measured side by side do.
//
// What the floor is:
// - on the in-memory fake: a hand-written client that builds the very same HttpRequest
//   (method, absolute URL, headers, body) with nlohmann/json, hands it to
//   FakeBackend::handle directly and parses the answer with nlohmann/json. The server's
//   own work (routing, token hashing, serializing the answer) is in both sides, so the
//   ratio isolates what the library adds on the client side: its request builders,
//   FakeTransport, the executor, validation, secret wiping and parsing into ApiKey.
// - over loopback: raw cpp-httplib (one kept-alive httplib::Client, TCP_NODELAY on) and
//   raw libcurl (one reused easy handle), sending the same headers and body to the same
//   LocalServer and parsing the answer with nlohmann/json.
//
// What the floor skips on purpose, because a hand-written client would: ObjectId
// validation of ids, the JSON depth guard, wiping of bodies that held secrets, copying
// values into Secret. They are part of the library's cost, hence of the ratio.
#pragma once

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

inline constexpr const char* app_id = "bench";
inline constexpr const char* email = "bench@example.com";
inline constexpr const char* password = "bench password";
inline constexpr const char* user_agent = "appkeys/" APPKEYS_VERSION_STRING;
inline constexpr std::string_view api_root = "/api/client/v2.0";

/// Room for the largest fetch_all the suite measures (the documented limit is 20).
inline appkeys::testing::FakeBackendOptions backend_options() {
  appkeys::testing::FakeBackendOptions options;
  options.max_keys_per_user = 200'000;
  return options;
}

/// What the hand-written client keeps of a key: the fields as the server sent them.
struct RawKey {
  std::string id;
  std::string name;
  bool disabled = false;
  std::string key;
};

inline RawKey raw_key_from(const nlohmann::json& j) {
  RawKey key;
  key.id = j.at("_id").get<std::string>();
  key.name = j.at("name").get<std::string>();
  key.disabled = j.at("disabled").get<bool>();
  if (auto it = j.find("key"); it != j.end()) key.key = it->get<std::string>();
  return key;
}

struct RawResponse {
  int status = 0;
  std::string body;
};

struct RawSession {
  std::string access_token;
  std::string refresh_token;
  std::string user_id;
  std::string device_id;
};

/// The hand-written client: the requests of PROTOCOL.md built with nlohmann/json,
/// sent through `Sender` (which adds the same four headers the library sends:
/// Accept, Authorization, Content-Type when there is a body, User-Agent) and parsed
/// with nlohmann/json.
///
/// Sender: RawResponse send(appkeys::HttpMethod, const std::string& path,
///                          const std::string& body, const std::string& bearer)
template <class Sender>
class RawClient {
 public:
  explicit RawClient(Sender sender) : sender_(std::move(sender)) {}
  Sender& sender() { return sender_; }

  void set_refresh_token(std::string token) { refresh_ = std::move(token); }
  void set_device_id(std::string id) { device_id_ = std::move(id); }

  RawKey create(const std::string& name) {
    nlohmann::json body = nlohmann::json::object();
    body["name"] = name;
    RawResponse r = sender_.send(appkeys::HttpMethod::post, keys_path(), body.dump(), refresh_);
    expect_success(r, "create");
    return raw_key_from(nlohmann::json::parse(r.body));
  }

  RawKey fetch(const std::string& id) {
    RawResponse r = sender_.send(appkeys::HttpMethod::get, key_path(id), {}, refresh_);
    expect_success(r, "fetch");
    return raw_key_from(nlohmann::json::parse(r.body));
  }

  std::vector<RawKey> fetch_all() {
    RawResponse r = sender_.send(appkeys::HttpMethod::get, keys_path(), {}, refresh_);
    expect_success(r, "fetch_all");
    const nlohmann::json list = nlohmann::json::parse(r.body);
    std::vector<RawKey> keys;
    keys.reserve(list.size());
    for (const auto& item : list) keys.push_back(raw_key_from(item));
    return keys;
  }

  void enable(const std::string& id) {
    RawResponse r = sender_.send(appkeys::HttpMethod::put, key_path(id) + "/enable", {}, refresh_);
    expect_success(r, "enable");
  }

  void remove(const std::string& id) {
    RawResponse r = sender_.send(appkeys::HttpMethod::del, key_path(id), {}, refresh_);
    expect_success(r, "remove");
  }

  /// Log in with an API key, then read the profile (as the library and the official
  /// SDKs do). The body is the library's: the key plus options.device.
  RawSession log_in_with_key(const std::string& key) {
    nlohmann::json device = nlohmann::json::object();
    device["appId"] = app_id;
    device["platform"] = "cpp";
    device["platformVersion"] = "";
    device["sdk"] = "appkeys";
    device["sdkVersion"] = APPKEYS_VERSION_STRING;
    if (!device_id_.empty()) device["deviceId"] = nlohmann::json{{"$oid", device_id_}};
    nlohmann::json body = nlohmann::json::object();
    body["key"] = key;
    body["options"] = nlohmann::json{{"device", std::move(device)}};
    std::string path(api_root);
    path += "/app/";
    path += app_id;
    path += "/auth/providers/api-key/login";
    RawResponse r = sender_.send(appkeys::HttpMethod::post, path, body.dump(), {});
    expect_success(r, "log in");
    const nlohmann::json login = nlohmann::json::parse(r.body);
    RawSession session{
        login.at("access_token").get<std::string>(), login.at("refresh_token").get<std::string>(),
        login.at("user_id").get<std::string>(), login.at("device_id").get<std::string>()};
    std::string profile_path(api_root);
    profile_path += "/auth/profile";
    RawResponse p = sender_.send(appkeys::HttpMethod::get, profile_path, {}, session.access_token);
    expect_success(p, "profile");
    const nlohmann::json profile = nlohmann::json::parse(p.body);
    if (profile.at("user_id").get<std::string>() != session.user_id ||
        profile.at("identities").empty()) {
      throw std::runtime_error("profile does not match the login");
    }
    return session;
  }

  void log_out(const RawSession& session) {
    std::string path(api_root);
    path += "/auth/session";
    RawResponse r = sender_.send(appkeys::HttpMethod::del, path, {}, session.refresh_token);
    expect_success(r, "log out");
  }

 private:
  static std::string keys_path() {
    std::string path(api_root);
    path += "/auth/api_keys";
    return path;
  }
  static std::string key_path(const std::string& id) {
    std::string path = keys_path();
    path += '/';
    path += id;
    return path;
  }
  static void expect_success(const RawResponse& r, const char* what) {
    if (r.status < 200 || r.status > 299) {
      throw std::runtime_error(std::string(what) + ": HTTP " + std::to_string(r.status));
    }
  }

  Sender sender_;
  std::string refresh_;
  std::string device_id_;
};

/// The floor's sender on the fake: a hand-built HttpRequest straight into
/// FakeBackend::handle (no FakeTransport, no URL check).
class FakeSender {
 public:
  FakeSender(appkeys::testing::FakeBackend& backend, std::string base_url)
      : backend_(&backend), base_url_(std::move(base_url)) {}

  RawResponse send(appkeys::HttpMethod method, const std::string& path, const std::string& body,
                   const std::string& bearer) {
    appkeys::HttpRequest request;
    request.method = method;
    request.url = base_url_ + path;
    request.headers.emplace("Accept", "application/json");
    if (!body.empty()) request.headers.emplace("Content-Type", "application/json");
    if (!bearer.empty()) request.headers.emplace("Authorization", "Bearer " + bearer);
    request.headers.emplace("User-Agent", user_agent);
    request.body = body;
    appkeys::HttpResponse response = backend_->handle(request);
    return RawResponse{response.status, std::move(response.body)};
  }

 private:
  appkeys::testing::FakeBackend* backend_;
  std::string base_url_;
};

/// The refresh token a library User holds, so the hand-written client can act as the
/// same session. Reads it through the protocol layer's accessor, which is public.
inline std::string refresh_token_of(const appkeys::User& user) {
  return std::string(appkeys::detail::user_state(user)->current_refresh_token().reveal());
}

/// The server side shared by the environments of one transport family: a FakeBackend
/// with the owner (who holds one fixed key) and, made on first use, users holding
/// exactly n keys. Everything is set up through FakeBackend::handle directly, which is
/// quicker than any client.
class World {
 public:
  World() : backend_(backend_options()), setup_(backend_, "http://setup.invalid") {
    backend_.add_email_user(email, password);
    RawClient<FakeSender> owner(setup_);
    owner.set_refresh_token(log_in_email(email));
    RawKey fixed = owner.create("fixed");
    fixed_id_ = fixed.id;
    fixed_secret_ = fixed.key;
  }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  appkeys::testing::FakeBackend& backend() { return backend_; }
  const std::string& fixed_id() const { return fixed_id_; }
  const std::string& fixed_secret() const { return fixed_secret_; }

  /// The email of a user holding exactly `n` keys, made on first request.
  std::string list_user(std::size_t n) {
    if (auto it = list_users_.find(n); it != list_users_.end()) return it->second;
    std::string user = "list-" + std::to_string(n) + "@example.com";
    backend_.add_email_user(user, password);
    RawClient<FakeSender> client(setup_);
    client.set_refresh_token(log_in_email(user));
    for (std::size_t i = 0; i < n; ++i) client.create("key-" + std::to_string(i));
    list_users_.emplace(n, user);
    return user;
  }

 private:
  std::string log_in_email(const std::string& user) {
    nlohmann::json body = {{"username", user},
                           {"password", password},
                           {"options", {{"device", nlohmann::json::object()}}}};
    std::string path(api_root);
    path += "/app/";
    path += app_id;
    path += "/auth/providers/local-userpass/login";
    RawResponse r = setup_.send(appkeys::HttpMethod::post, path, body.dump(), {});
    if (r.status != 200) throw std::runtime_error("setup log in failed");
    return nlohmann::json::parse(r.body).at("refresh_token").get<std::string>();
  }

  appkeys::testing::FakeBackend backend_;
  FakeSender setup_;
  std::string fixed_id_;
  std::string fixed_secret_;
  std::map<std::size_t, std::string> list_users_;
};

/// One client side of a World: the library (App<T> with SyncExec) and the
/// hand-written client (RawClient<Sender>), each with its own session of the same user.
template <appkeys::Transport T, class Sender>
class Env {
 public:
  Env(World& world, const std::string& base_url, T transport, Sender sender)
      : world_(world),
        app_(appkeys::AppConfig{.app_id = app_id, .base_url = base_url}, std::move(transport)),
        owner_(app_.log_in(appkeys::Credentials::email_password(email, password))),
        keys_(app_.api_keys(owner_)),
        raw_(std::move(sender)),
        fixed_id_(appkeys::ObjectId::from_hex(world.fixed_id()).value()) {
    // The same session as the library's user; the same device id in log-in bodies.
    raw_.set_refresh_token(refresh_token_of(owner_));
    raw_.set_device_id(owner_.device_id());
  }

  appkeys::App<T>& app() { return app_; }
  appkeys::ApiKeyAuth<T>& keys() { return keys_; }
  RawClient<Sender>& raw() { return raw_; }
  const appkeys::ObjectId& fixed_id() const { return fixed_id_; }
  const std::string& fixed_secret() const { return world_.fixed_secret(); }

  appkeys::ApiKeyAuth<T>& list_keys(std::size_t n) { return list(n).keys; }
  RawClient<Sender>& raw_list(std::size_t n) { return list(n).raw; }

 private:
  struct ListSession {
    appkeys::ApiKeyAuth<T> keys;
    RawClient<Sender> raw;
  };

  ListSession& list(std::size_t n) {
    if (auto it = lists_.find(n); it != lists_.end()) return *it->second;
    const std::string user_email = world_.list_user(n);
    appkeys::User user = app_.log_in(appkeys::Credentials::email_password(user_email, password));
    RawClient<Sender> raw = raw_;
    raw.set_refresh_token(refresh_token_of(user));
    auto session = std::make_unique<ListSession>(ListSession{app_.api_keys(user), std::move(raw)});
    return *lists_.emplace(n, std::move(session)).first->second;
  }

  World& world_;
  appkeys::App<T> app_;
  appkeys::User owner_;
  appkeys::ApiKeyAuth<T> keys_;
  RawClient<Sender> raw_;
  appkeys::ObjectId fixed_id_;
  std::map<std::size_t, std::unique_ptr<ListSession>> lists_;
};

/// A distinct key name per call, across the whole process (the server refuses
/// duplicates per user).
inline std::string next_key_name() {
  static std::size_t counter = 0;
  std::string name = "bench-";
  name += std::to_string(counter++);
  return name;
}

}  // namespace bench
