// Before anything is measured: proves that the hand-written floor sends exactly the
// HttpRequests the library sends (method, URL, headers, body), operation by operation,
// by recording both against one FakeBackend. The loopback floors build their requests
// from the same (method, path, body, bearer) through the same header rules, so this
// check covers them too, up to what each HTTP library adds itself (Host, framing).
#include "common.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include <cstdio>
#include <vector>

namespace bench {
namespace {

std::vector<appkeys::HttpRequest> lib_sent;
std::vector<appkeys::HttpRequest> floor_sent;

struct RecordingTransport {
  appkeys::testing::FakeBackend* backend;
  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest& request) {
    lib_sent.push_back(request);
    return backend->handle(request);
  }
};

/// FakeSender, recording what it hands to the backend.
struct RecordingSender {
  appkeys::testing::FakeBackend* backend;
  std::string base_url;
  RawResponse send(appkeys::HttpMethod method, const std::string& path, const std::string& body,
                   const std::string& bearer) {
    FakeSender inner(*backend, base_url);
    // Rebuild the request FakeSender builds, to record it (FakeSender keeps none).
    appkeys::HttpRequest request;
    request.method = method;
    request.url = base_url + path;
    request.headers.emplace("Accept", "application/json");
    if (!body.empty()) request.headers.emplace("Content-Type", "application/json");
    if (!bearer.empty()) request.headers.emplace("Authorization", "Bearer " + bearer);
    request.headers.emplace("User-Agent", user_agent);
    request.body = body;
    floor_sent.push_back(std::move(request));
    return inner.send(method, path, body, bearer);
  }
};

bool same(const char* what, appkeys::HttpRequest lib, appkeys::HttpRequest floor,
          bool ignore_bearer = false) {
  if (ignore_bearer) {
    lib.headers.erase("Authorization");
    floor.headers.erase("Authorization");
  }
  const bool ok = lib.method == floor.method && lib.url == floor.url &&
                  lib.headers == floor.headers && lib.body == floor.body;
  if (!ok) std::fprintf(stderr, "same_requests: %s: the floor's request differs\n", what);
  return ok;
}

}  // namespace

bool same_requests() {
  constexpr const char* base_url = "http://check.invalid";
  World world;
  Env<RecordingTransport, RecordingSender> env(world, base_url,
                                               RecordingTransport{&world.backend()},
                                               RecordingSender{&world.backend(), base_url});
  bool ok = true;
  const appkeys::ObjectId id = env.fixed_id();

  env.keys().fetch(id);
  env.raw().fetch(id.to_hex());
  ok = same("fetch", lib_sent.back(), floor_sent.back()) && ok;

  env.keys().enable(id);
  env.raw().enable(id.to_hex());
  ok = same("enable", lib_sent.back(), floor_sent.back()) && ok;

  env.list_keys(3).fetch_all();
  env.raw_list(3).fetch_all();
  ok = same("fetch_all", lib_sent.back(), floor_sent.back()) && ok;

  // The same name twice: the library's key is deleted before the floor creates its own.
  const appkeys::ApiKey key = env.keys().create("same-name");
  const appkeys::HttpRequest lib_create = lib_sent.back();
  env.keys().remove(key.id);
  const appkeys::HttpRequest lib_remove = lib_sent.back();
  const RawKey raw_key = env.raw().create("same-name");
  ok = same("create", lib_create, floor_sent.back()) && ok;
  env.raw().remove(raw_key.id);
  appkeys::HttpRequest floor_remove = floor_sent.back();
  floor_remove.url.replace(floor_remove.url.size() - raw_key.id.size(), raw_key.id.size(),
                           key.id.to_hex());
  ok = same("remove", lib_remove, floor_remove) && ok;

  // Log in with a key: the login itself, then the profile read (each with its own
  // session's access token).
  env.app().log_in(appkeys::Credentials::api_key(env.fixed_secret()));
  env.raw().log_in_with_key(env.fixed_secret());
  ok = same("log in", lib_sent[lib_sent.size() - 2], floor_sent[floor_sent.size() - 2]) && ok;
  ok = same("profile", lib_sent.back(), floor_sent.back(), /*ignore_bearer=*/true) && ok;
  return ok;
}

}  // namespace bench
