// A consumer's program: the whole life of a user API key on the in-memory fake server,
// built by each consumer project (find_package, add_subdirectory, single header, .deb)
// from the outside, with only what that way of consuming appkeys provides.
// Exits non-zero on the first result that is not what the library promises.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

int failures = 0;

void expect(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "consumer: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  namespace ak = appkeys;
#ifdef CONSUMER_EXPECTED_VERSION
  // The version the consumer's build system found (find_package's appkeys_VERSION) is the
  // version of the headers it compiled against.
  expect(std::string_view(APPKEYS_VERSION_STRING) == CONSUMER_EXPECTED_VERSION,
         "find_package version == APPKEYS_VERSION_STRING");
#endif

  ak::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "pw");
  ak::App<ak::testing::FakeTransport> app({.app_id = "consumer"},
                                          ak::testing::FakeTransport{backend});
  try {
    ak::User ann = app.log_in(ak::Credentials::email_password("ann@example.com", "pw"));
    expect(ann.is_logged_in() && ann.provider() == "local-userpass", "log in");
    auto keys = app.api_keys(ann);

    ak::ApiKey key = keys.create("reporting");
    expect(key.name == "reporting" && !key.disabled && key.key.has_value(), "create");
    const std::string secret(key.key->reveal());
    expect(!secret.empty(), "create returns the secret");

    ak::ApiKey fetched = keys.fetch(key.id);
    expect(fetched.id == key.id && fetched.name == "reporting" && !fetched.key.has_value(),
           "fetch");

    keys.create("billing");
    std::vector<ak::ApiKey> all = keys.fetch_all();
    expect(all.size() == 2 && all[0].name == "reporting" && all[1].name == "billing",
           "fetch_all, in creation order");

    keys.disable(key.id);
    expect(keys.fetch(key.id).disabled, "disable");
    bool refused = false;
    try {
      app.log_in(ak::Credentials::api_key(secret));
    } catch (const ak::AppError& error) {
      refused = error.code() == ak::errc::auth_error;
    }
    expect(refused, "a disabled key cannot log in");

    keys.enable(key.id);
    expect(!keys.fetch(key.id).disabled, "enable");
    ak::User service = app.log_in(ak::Credentials::api_key(secret));
    expect(service.id() == ann.id() && service.provider() == "api-key", "log in with the key");

    keys.remove(key.id);
    ak::errc after_remove{};
    try {
      keys.fetch(key.id);
    } catch (const ak::AppError& error) {
      after_remove = static_cast<ak::errc>(error.code().value());
    }
    expect(after_remove == ak::errc::api_key_not_found, "remove");
    expect(keys.fetch_all().size() == 1, "one key left");

    app.log_out(ann);
    expect(!ann.is_logged_in(), "log out");
  } catch (const ak::AppError& error) {
    std::fprintf(stderr, "consumer: unexpected error: %s\n", error.what());
    return 1;
  }
  if (failures != 0) return 1;
  std::printf("consumer: lifecycle passed (appkeys %s)\n", APPKEYS_VERSION_STRING);
  return 0;
}
