// Written only against the public table and the Transport concept of DESIGN.md, and
// built with nothing but the generated client header and nlohmann/json on the include
// path: no testing header, no HTTP library. A user-written Transport (as a user would
// write one to script a server in a unit test) answers the wire protocol of
// PROTOCOL.md from a map, and the whole key lifecycle runs through SyncExec, NoThrowExec
// and FutureExec over it.
#include <appkeys/appkeys.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace {

int failures = 0;

void expect(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "client_only_program: FAILED: %s\n", what);
    ++failures;
  }
}

/// A scripted server: one email/password user, its keys in a map. Thread-safe, as
/// FutureExec calls it from its own threads.
class ScriptedServer {
 public:
  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest& request) {
    std::lock_guard lock(mutex_);
    const std::string prefix = "http://127.0.0.1:1/api/client/v2.0";
    if (request.url.rfind(prefix, 0) != 0) return reply(404, {{"error", "no such route"}});
    const std::string path = request.url.substr(prefix.size());
    const std::string keys = "/auth/api_keys";
    if (path.ends_with("/auth/providers/local-userpass/login")) {
      const auto body = nlohmann::json::parse(request.body);
      if (body.value("username", "") != "ada@example.com" ||
          body.value("password", "") != "correct horse") {
        return reply(401,
                     {{"error", "invalid username/password"}, {"error_code", "InvalidPassword"}});
      }
      return reply(200, {{"access_token", "access"},
                         {"refresh_token", "refresh"},
                         {"user_id", user_id},
                         {"device_id", "000000000000000000000000"}});
    }
    // The profile is read with the access token, the key calls use the refresh token
    // (PROTOCOL.md).
    const bool profile = path == "/auth/profile";
    if (!authorized(request, profile ? "Bearer access" : "Bearer refresh")) {
      return reply(401, {{"error", "invalid session"}, {"error_code", "InvalidSession"}});
    }
    if (profile) {
      return reply(200, {{"user_id", user_id},
                         {"type", "normal"},
                         {"data", nlohmann::json::object()},
                         {"identities", {{{"id", "ada"}, {"provider_type", "local-userpass"}}}}});
    }
    if (path == keys && request.method == appkeys::HttpMethod::post) {
      const std::string id = "00000000000000000000000" + std::to_string(next_id_++);
      keys_[id] = Key{nlohmann::json::parse(request.body).at("name"), false};
      auto out = describe(id);
      out["key"] = "the-value-of-" + id;
      return reply(201, out);
    }
    if (path == "/auth/session" && request.method == appkeys::HttpMethod::del) {
      return reply(204, nullptr);  // log out
    }
    if (path == keys) {
      auto list = nlohmann::json::array();
      for (const auto& [id, key] : keys_) list.push_back(describe(id));
      return reply(200, list);
    }
    if (path.rfind(keys + "/", 0) != 0) return reply(404, {{"error", "no such route"}});
    std::string id = path.substr(keys.size() + 1);
    const std::string action = id.size() > 24 ? id.substr(24) : "";
    id.resize(24);
    if (!keys_.contains(id)) {
      return reply(404, {{"error", "API key not found"}, {"error_code", "APIKeyNotFound"}});
    }
    if (request.method == appkeys::HttpMethod::del) {
      keys_.erase(id);
      return reply(204, nullptr);
    }
    if (request.method == appkeys::HttpMethod::put) {
      keys_[id].disabled = action == "/disable";
      return reply(204, nullptr);
    }
    return reply(200, describe(id));
  }

  static constexpr const char* user_id = "5f0c0a1b2c3d4e5f60718293";

 private:
  struct Key {
    std::string name;
    bool disabled;
  };

  static bool authorized(const appkeys::HttpRequest& request, std::string_view expected) {
    for (const auto& [name, value] : request.headers) {
      if (name == "Authorization") return value == expected;
    }
    return false;
  }

  nlohmann::json describe(const std::string& id) const {
    const Key& key = keys_.at(id);
    return {{"_id", id}, {"name", key.name}, {"disabled", key.disabled}};
  }

  static appkeys::HttpResponse reply(int status, const nlohmann::json& body) {
    appkeys::HttpResponse response{status, {}, body.is_null() ? "" : body.dump()};
    if (!body.is_null()) response.headers.emplace("Content-Type", "application/json");
    return response;
  }

  std::mutex mutex_;
  std::map<std::string, Key> keys_;
  int next_id_ = 1;
};

/// The Transport a user writes: a handle on the shared scripted server.
struct ScriptedTransport {
  ScriptedServer* server;
  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest& request) {
    return server->send(request);
  }
};
static_assert(appkeys::Transport<ScriptedTransport>);

appkeys::AppConfig config() {
  appkeys::AppConfig config;
  config.app_id = "contract-abcde";
  config.base_url = "http://127.0.0.1:1";
  config.skip_location = true;
  return config;
}

void blocking_lifecycle(ScriptedServer& server) {
  appkeys::App<ScriptedTransport> app(config(), ScriptedTransport{&server});
  appkeys::User user =
      app.log_in(appkeys::Credentials::email_password("ada@example.com", "correct horse"));
  expect(user.id() == ScriptedServer::user_id, "log_in gives the server's user id");
  expect(user.provider() == "local-userpass", "the user's provider");
  auto keys = app.api_keys(user);
  const appkeys::ApiKey created = keys.create("reporting");
  expect(created.key.has_value() && created.key->reveal().starts_with("the-value-of-"),
         "create returns the key's value");
  expect(!keys.fetch(created.id).key.has_value(), "fetch never returns the value");
  keys.disable(created.id);
  expect(keys.fetch(created.id).disabled, "disable");
  keys.enable(created.id);
  expect(!keys.fetch_all().front().disabled, "enable, seen through fetch_all");
  keys.remove(created.id);
  try {
    keys.fetch(created.id);
    expect(false, "a removed key is not found");
  } catch (const appkeys::AppError& error) {
    expect(error.code() == appkeys::errc::api_key_not_found, "the error names the server code");
    expect(error.http_status() == 404, "the error keeps the status");
  }
  try {
    app.log_in(appkeys::Credentials::email_password("ada@example.com", "wrong"));
    expect(false, "a wrong password is refused");
  } catch (const appkeys::AppError& error) {
    expect(error.code() == appkeys::errc::invalid_password, "a wrong password's code");
  }
  app.log_out(user);
  expect(!user.is_logged_in(), "log_out ends the handle's session");
}

void no_throw_and_future(ScriptedServer& server) {
  appkeys::App<ScriptedTransport, appkeys::NoThrowExec> app(config(), ScriptedTransport{&server});
  auto user = app.log_in(appkeys::Credentials::email_password("ada@example.com", "correct horse"));
  expect(user.has_value(), "NoThrowExec: log_in");
  if (!user) return;
  auto keys = app.api_keys(*user);
  expect(keys.create("").error().code() == appkeys::errc::invalid_argument,
         "NoThrowExec: an empty name fails before any I/O");
  auto bad_id = appkeys::ObjectId::from_hex("not-an-id");
  expect(!bad_id.has_value(), "ObjectId::from_hex refuses text that is not 24 hex digits");

  appkeys::App<ScriptedTransport, appkeys::FutureExec> futures(config(),
                                                               ScriptedTransport{&server});
  appkeys::User future_user =
      futures.log_in(appkeys::Credentials::email_password("ada@example.com", "correct horse"))
          .get();
  auto future_keys = futures.api_keys(future_user);
  const appkeys::ApiKey key = future_keys.create("from a future").get();
  expect(future_keys.fetch(key.id).get().name == "from a future", "FutureExec: create, fetch");
}

}  // namespace

int main() {
  ScriptedServer server;
  try {
    blocking_lifecycle(server);
    no_throw_and_future(server);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "client_only_program: unexpected exception: %s\n", error.what());
    return 1;
  }
  if (failures != 0) return 1;
  std::puts("client_only_program: all checks passed");
  return 0;
}
