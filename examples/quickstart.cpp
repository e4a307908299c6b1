// Quick start: the whole life of a user API key, on the in-memory fake server.
//
// Swap `testing::FakeTransport` for a network transport and point AppConfig::base_url at
// a server, and the same code runs over HTTP.
#include <appkeys/appkeys.hpp>

#include <iostream>
#include <string>

namespace ak = appkeys;

int main() {
  ak::testing::FakeBackend server;  // a complete App Services key server, in memory
  server.add_email_user("ann@example.com", "correct horse battery");

  ak::App<ak::testing::FakeTransport> app({.app_id = "shop-abcde"},
                                          ak::testing::FakeTransport{server});
  try {
    ak::User ann = app.log_in(ak::Credentials::email_password("ann@example.com",
                                                              "correct horse battery"));
    std::cout << "logged in:   " << ann << '\n';

    auto keys = app.api_keys(ann);
    ak::ApiKey key = keys.create("reporting");
    std::cout << "created:     " << key << "  (the value is shown once: "
              << key.key->size() << " characters, kept in a Secret)\n";

    keys.create("billing");
    std::cout << "all keys:\n";
    for (const ak::ApiKey& k : keys.fetch_all()) std::cout << "  " << k << '\n';

    keys.disable(key.id);
    std::cout << "disabled:    " << keys.fetch(key.id) << '\n';
    try {
      app.log_in(ak::Credentials::api_key(*key.key));
    } catch (const ak::AppError& refused) {
      std::cout << "refused:     " << refused.what() << '\n';
    }

    keys.enable(key.id);
    ak::User service = app.log_in(ak::Credentials::api_key(*key.key));
    std::cout << "key login:   " << service << " (acts for " << ann.id() << ")\n";

    keys.remove(key.id);
    std::cout << "deleted:     " << keys.fetch_all().size() << " key(s) left\n";

    app.log_out(service);
    app.log_out(ann);
    std::cout << "logged out:  " << ann << '\n';
  } catch (const ak::AppError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
