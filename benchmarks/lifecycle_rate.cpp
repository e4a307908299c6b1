// Requests per second of the key lifecycle over loopback HTTP, per transport.
//
// Each iteration is create → fetch → disable → enable → delete (5 requests) against a
// LocalServer on 127.0.0.1, through one App with a kept-alive transport. Prints one
// line per transport; the figures are for comparison within one run on one machine.
//
//   build/bench/benchmarks/lifecycle_rate [seconds-per-transport]
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

template <appkeys::Transport T>
void measure(const char* name, double seconds) {
  appkeys::testing::FakeBackend backend;
  backend.add_email_user("bench@example.com", "bench password");
  appkeys::testing::LocalServer server(backend);
  appkeys::App<T> app({.app_id = "bench", .base_url = server.base_url()});
  auto user =
      app.log_in(appkeys::Credentials::email_password("bench@example.com", "bench password"));
  auto keys = app.api_keys(user);

  using clock = std::chrono::steady_clock;
  const auto budget = std::chrono::duration<double>(seconds);
  const auto start = clock::now();
  long iterations = 0;
  while (clock::now() - start < budget) {
    // (Appending instead of "k" + ... avoids GCC 12's false -Wrestrict at -O3.)
    std::string name = "k";
    name += std::to_string(iterations);
    auto key = keys.create(name);
    (void)keys.fetch(key.id);
    keys.disable(key.id);
    keys.enable(key.id);
    keys.remove(key.id);
    ++iterations;
  }
  const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
  const double requests = static_cast<double>(iterations) * 5;
  std::printf("%-8s %8ld loops  %9.0f requests/s  %7.1f us/request\n", name, iterations,
              requests / elapsed, elapsed / requests * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  std::printf("create-fetch-disable-enable-delete over loopback, %.1f s per transport\n", seconds);
  measure<appkeys::HttplibTransport>("httplib", seconds);
  measure<appkeys::CurlTransport>("curl", seconds);
  return 0;
}
