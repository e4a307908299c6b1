// Quick start: the whole life of a user API key, over real HTTP.
//
// A LocalServer serves the in-memory FakeBackend on 127.0.0.1 (a free port), so this
// runs with no network and no account; the client is the same App<CurlTransport> you
// would point at any App Services-compatible server by setting AppConfig::base_url.
//
// Nothing secret is ever printed: ApiKey, User, Secret and AppError print redacted.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace ak = appkeys;

int main() {
  // The server side: one email/password user, served over HTTP until `server` dies.
  ak::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "correct horse battery");
  ak::testing::LocalServer server{backend};
  std::cout << "server:      " << server.base_url() << " (appkeys::testing::LocalServer)\n";

  // The client side: DESIGN.md's snippet as a program.
  ak::App<ak::CurlTransport, ak::SyncExec> app(
      {.app_id = "shop-abcde", .base_url = server.base_url()});
  try {
    ak::User user =
        app.log_in(ak::Credentials::email_password("ann@example.com", "correct horse battery"));
    std::cout << "log in:      " << user << '\n';

    auto keys = app.api_keys(user);  // ApiKeyAuth<CurlTransport, SyncExec>
    ak::ApiKey key = keys.create("reporting");
    // key.key holds the secret, this once: keep it somewhere safe (here: a Secret).
    const ak::Secret secret = *key.key;
    std::cout << "create:      " << key << "\n"
              << "             the value (" << secret.size()
              << " characters) is returned only now; printed: " << secret << '\n';

    keys.create("billing");
    std::vector<ak::ApiKey> all = keys.fetch_all();
    std::cout << "fetch_all:   " << all.size() << " key(s), in creation order\n";
    for (const ak::ApiKey& k : all) std::cout << "               " << k << '\n';

    keys.disable(key.id);
    std::cout << "disable:     " << keys.fetch(key.id) << '\n';
    try {
      app.log_in(ak::Credentials::api_key(secret));
      std::cerr << "error: a disabled key could log in\n";
      return 1;
    } catch (const ak::AppError& refused) {
      std::cout << "             logging in with it now fails: " << refused.what() << '\n';
    }

    keys.enable(key.id);
    std::cout << "enable:      " << keys.fetch(key.id) << '\n';

    ak::User service = app.log_in(ak::Credentials::api_key(secret));
    std::cout << "key log in:  " << service << "\n"
              << "             acts for the key's owner: "
              << (service.id() == user.id() ? "same user id" : "DIFFERENT user id") << '\n';
    if (service.id() != user.id() || service.provider() != "api-key") return 1;

    keys.remove(key.id);
    std::cout << "remove:      " << key.id << " deleted; " << keys.fetch_all().size()
              << " key(s) left\n";

    app.log_out(service);
    app.log_out(user);
    std::cout << "log out:     " << user << '\n';
  } catch (const ak::AppError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
