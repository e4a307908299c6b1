// Must not compile: an executor needs result<T> and run().
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>

struct NotAnExecutor {};

int main() {
  appkeys::testing::FakeBackend backend;
  appkeys::App<appkeys::testing::FakeTransport, NotAnExecutor> app(
      {.app_id = "shop-abcde"}, appkeys::testing::FakeTransport{backend});
  (void)app;
}
