// Built with -fno-exceptions: NoThrowExec and Result carry every failure as a value.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

#include <cstdio>
#include <cstdlib>

#if APPKEYS_HAS_EXCEPTIONS
#error "this program must be compiled with -fno-exceptions"
#endif

static_assert(appkeys::Executor<appkeys::NoThrowExec> && appkeys::Executor<appkeys::SyncExec>,
              "the executors a program without exceptions can name model Executor");

int main() {
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "no_exceptions_program: FAILED: %s\n", what);
      ++failures;
    }
  };
  appkeys::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "pw");
  appkeys::App<appkeys::testing::FakeTransport, appkeys::NoThrowExec> app(
      {.app_id = "shop-abcde"}, appkeys::testing::FakeTransport{backend});
  auto wrong = app.log_in(appkeys::Credentials::email_password("ann@example.com", "nope"));
  expect(!wrong && wrong.error().code() == appkeys::errc::invalid_password, "wrong password");
  auto user = app.log_in(appkeys::Credentials::email_password("ann@example.com", "pw"));
  expect(user.has_value(), "log in");
  if (!user) return EXIT_FAILURE;
  auto keys = app.api_keys(*user);
  auto key = keys.create("no-exceptions");
  expect(key.has_value(), "create");
  if (!key) return EXIT_FAILURE;
  expect(keys.disable(key->id).has_value(), "disable");
  expect(keys.fetch(key->id)->disabled, "fetch");
  expect(!keys.create("bad name").has_value(), "invalid name refused");
  expect(keys.remove(key->id).has_value(), "remove");
  expect(keys.fetch_all()->empty(), "fetch_all");
  if (failures != 0) return EXIT_FAILURE;
  std::puts("no_exceptions_program: ok");
  return EXIT_SUCCESS;
}
