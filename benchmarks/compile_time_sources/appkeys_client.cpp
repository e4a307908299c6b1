// What benchmarks/compile_time measures against hand_written_client.cpp: the same calls
// through the single header and App<CurlTransport> (log in with email and password, then
// create, fetch, fetch all, disable, enable and delete a key).
//   appkeys_client http://127.0.0.1:PORT EMAIL PASSWORD
#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: appkeys_client BASE_URL EMAIL PASSWORD\n");
    return 2;
  }
  try {
    appkeys::App<appkeys::CurlTransport> app(
        {.app_id = "shop-abcde", .base_url = argv[1], .skip_location = true});
    appkeys::User user = app.log_in(appkeys::Credentials::email_password(argv[2], argv[3]));
    auto keys = app.api_keys(user);
    const appkeys::ApiKey key = keys.create("reporting");
    keys.fetch(key.id);
    std::printf("%zu key(s)\n", keys.fetch_all().size());
    keys.disable(key.id);
    keys.enable(key.id);
    keys.remove(key.id);
  } catch (const appkeys::AppError& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
