// Written only against the public table of DESIGN.md and built with nothing but the
// generated single header and nlohmann/json on the include path: the whole key
// lifecycle on testing::FakeTransport with each of the three executors.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>
#include <unordered_set>

namespace {

int failures = 0;

void expect(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "contract_program: FAILED: %s\n", what);
    ++failures;
  }
}

template <class T>
std::string printed(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void run_sync() {
  appkeys::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "pw-sync");
  appkeys::App<appkeys::testing::FakeTransport, appkeys::SyncExec> app(
      {.app_id = "shop-abcde"}, appkeys::testing::FakeTransport{backend});
  appkeys::User user =
      app.log_in(appkeys::Credentials::email_password("ann@example.com", "pw-sync"));
  expect(user.is_logged_in() && user.provider() == "local-userpass", "sync: log in");
  appkeys::ApiKeyAuth<appkeys::testing::FakeTransport, appkeys::SyncExec> keys = app.api_keys(user);
  appkeys::ApiKey key = keys.create("reporting");
  expect(key.key.has_value(), "sync: create returns the secret");
  const std::string secret(key.key->reveal());
  expect(printed(key).find(secret) == std::string::npos, "sync: ApiKey prints redacted");
  expect(printed(*key.key).find(secret) == std::string::npos, "sync: Secret prints redacted");
  expect(!keys.fetch(key.id).key.has_value(), "sync: fetch has no secret");
  expect(keys.fetch_all().size() == 1, "sync: fetch_all");
  keys.disable(key.id);
  expect(keys.fetch(key.id).disabled, "sync: disable");
  try {
    app.log_in(appkeys::Credentials::api_key(secret));
    expect(false, "sync: disabled key logged in");
  } catch (const appkeys::AppError& e) {
    expect(e.code() == appkeys::errc::auth_error && e.http_status() == 401, "sync: auth_error");
    expect(std::string(e.what()).find(secret) == std::string::npos, "sync: no secret in what()");
  }
  keys.enable(key.id);
  appkeys::User svc = app.log_in(appkeys::Credentials::api_key(secret));
  expect(svc.id() == user.id() && svc.provider() == "api-key", "sync: key login as owner");
  keys.remove(key.id);
  try {
    keys.fetch(key.id);
    expect(false, "sync: deleted key fetched");
  } catch (const appkeys::AppError& e) {
    expect(e.code() == appkeys::errc::api_key_not_found, "sync: api_key_not_found");
    expect(e.server_code() == "APIKeyNotFound", "sync: server_code");
  }
  app.log_out(user);
  expect(!user.is_logged_in(), "sync: log out");
}

void run_no_throw() {
  appkeys::testing::FakeBackend backend;
  backend.add_email_user("bob@example.com", "pw-nothrow");
  appkeys::App<appkeys::testing::FakeTransport, appkeys::NoThrowExec> app(
      {.app_id = "shop-abcde"}, appkeys::testing::FakeTransport{backend});
  appkeys::Result<appkeys::User> user =
      app.log_in(appkeys::Credentials::email_password("bob@example.com", "pw-nothrow"));
  expect(user.has_value(), "nothrow: log in");
  if (!user) return;
  auto keys = app.api_keys(*user);
  appkeys::Result<appkeys::ApiKey> key = keys.create("billing");
  expect(bool(key), "nothrow: create");
  if (!key) return;
  expect(keys.fetch(key->id).has_value(), "nothrow: fetch");
  expect(keys.fetch_all().value().size() == 1, "nothrow: fetch_all");
  expect(keys.disable(key->id).has_value() && keys.enable(key->id).has_value(), "nothrow: toggle");
  appkeys::Result<appkeys::User> svc =
      app.log_in(appkeys::Credentials::api_key(std::string(key->key->reveal())));
  expect(svc && svc->id() == user->id(), "nothrow: key login");
  expect(keys.remove(key->id).has_value(), "nothrow: remove");
  auto gone = keys.fetch(key->id);
  expect(!gone && gone.error().code() == appkeys::errc::api_key_not_found, "nothrow: gone");
  auto bad = appkeys::ObjectId::from_hex("not-an-id");
  expect(!bad && bad.error().code() == appkeys::errc::invalid_argument, "nothrow: from_hex");
  auto anon = app.log_in(appkeys::Credentials::anonymous());
  expect(anon && anon->provider() == "anon-user", "nothrow: anonymous");
  auto refused = app.api_keys(*anon).create("x");
  expect(!refused && refused.error().code() == appkeys::errc::provider_not_allowed,
         "nothrow: anonymous create refused");
}

void run_future() {
  appkeys::testing::FakeBackend backend;
  backend.add_email_user("cy@example.com", "pw-future");
  appkeys::App<appkeys::testing::FakeTransport, appkeys::FutureExec> app(
      {.app_id = "shop-abcde"}, appkeys::testing::FakeTransport{backend});
  appkeys::User user =
      app.log_in(appkeys::Credentials::email_password("cy@example.com", "pw-future")).get();
  auto keys = app.api_keys(user);
  appkeys::ApiKey key = keys.create("audit").get();
  expect(key.key.has_value(), "future: create");
  expect(keys.fetch(key.id).get().name == "audit", "future: fetch");
  keys.disable(key.id).get();
  keys.enable(key.id).get();
  expect(keys.fetch_all().get().size() == 1, "future: fetch_all");
  keys.remove(key.id).get();
  try {
    keys.fetch(key.id).get();
    expect(false, "future: deleted key fetched");
  } catch (const appkeys::AppError& e) {
    expect(e.code() == appkeys::errc::api_key_not_found, "future: api_key_not_found");
  }
  app.log_out(user).get();
  expect(!user.is_logged_in(), "future: log out");
}

void check_value_types() {
  auto a = appkeys::ObjectId::from_hex("0123456789abcdef01234567").value();
  auto b = appkeys::ObjectId::from_hex("0123456789ABCDEF01234568").value();
  expect(a.to_hex() == "0123456789abcdef01234567", "ObjectId to_hex");
  expect(a != b && (a <=> b) < 0, "ObjectId ordering");
  std::unordered_set<appkeys::ObjectId> set{a, b, a};
  expect(set.size() == 2, "ObjectId hash");
  appkeys::Secret s("hunter2");
  expect(s.reveal() == "hunter2" && printed(s).find("hunter2") == std::string::npos, "Secret");
  appkeys::Headers h;
  h.emplace("Content-Type", "application/json");
  expect(h.find("content-type") != h.end(), "Headers case-insensitive");
  appkeys::HttpRequest request{
      appkeys::HttpMethod::del, "https://x/y", {}, {}, std::chrono::seconds(1)};
  appkeys::HttpResponse response{204, {}, {}};
  expect(request.method == appkeys::HttpMethod::del && response.status == 204, "http vocabulary");
  appkeys::AppConfig config{.app_id = "x"};
  expect(config.base_url == "https://services.cloud.mongodb.com" &&
             config.request_timeout == std::chrono::seconds(60) && !config.skip_location,
         "AppConfig defaults");
  std::error_code ec = appkeys::errc::api_key_already_exists;
  expect(
      ec == appkeys::errc::api_key_already_exists && ec.category().name() == std::string("appkeys"),
      "errc is an error_code enum");
  static_assert(appkeys::Transport<appkeys::testing::FakeTransport>);
  static_assert(appkeys::Executor<appkeys::SyncExec> && appkeys::Executor<appkeys::NoThrowExec> &&
                appkeys::Executor<appkeys::FutureExec>);
}

}  // namespace

int main() {
  check_value_types();
  run_sync();
  run_no_throw();
  run_future();
  if (failures != 0) {
    std::fprintf(stderr, "contract_program: %d failure(s)\n", failures);
    return EXIT_FAILURE;
  }
  std::puts("contract_program: every public name works through the single header");
  return EXIT_SUCCESS;
}
