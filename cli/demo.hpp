// appkeys command — `appkeys demo`: the whole key lifecycle over real HTTP against an
// embedded local server, narrated step by step.
#pragma once

#include "output.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>

#include <iostream>
#include <string>

namespace appkeys::cli {

template <Transport T>
int run_demo(std::string_view transport_name) {
  testing::FakeBackend backend(testing::FakeBackendOptions{.app_id = "demo-app"});
  backend.add_email_user("ann@example.com", "demo password");
  testing::LocalServer server(backend);
  std::cout << "local server   listening on " << server.base_url()
            << " (transport: " << transport_name << ")\n";

  App<T> app({.app_id = "demo-app", .base_url = server.base_url()});
  int step = 0;
  auto say = [&step](std::string_view what) { std::cout << ++step << ". " << what << '\n'; };
  try {
    say("log in as ann@example.com (email/password)");
    User ann = app.log_in(Credentials::email_password("ann@example.com", "demo password"));
    std::cout << "   " << ann << '\n';
    auto keys = app.api_keys(ann);

    say("create the key \"reporting\"");
    ApiKey key = keys.create("reporting");
    std::cout << "   " << key << " -- its value (" << key.key->size()
              << " characters) is returned this once and stays in a Secret\n";

    say("create the key \"billing\" and list all keys");
    keys.create("billing");
    print_table(std::cout, keys.fetch_all());

    say("fetch \"reporting\" by id");
    std::cout << "   " << keys.fetch(key.id) << '\n';

    say("disable it");
    keys.disable(key.id);
    std::cout << "   " << keys.fetch(key.id) << '\n';

    say("log in with the disabled key (must be refused)");
    try {
      app.log_in(Credentials::api_key(*key.key));
      std::cout << "   UNEXPECTED: the disabled key logged in\n";
      return 1;
    } catch (const AppError& refused) {
      std::cout << "   refused: " << refused.what() << '\n';
    }

    say("enable it again");
    keys.enable(key.id);
    std::cout << "   " << keys.fetch(key.id) << '\n';

    say("log in with the key: a service acting for ann, without her password");
    User service = app.log_in(Credentials::api_key(*key.key));
    std::cout << "   " << service
              << (service.id() == ann.id() ? " -- same user id as ann\n" : "\n");

    say("delete the key and list what is left");
    keys.remove(key.id);
    print_table(std::cout, keys.fetch_all());

    say("log both sessions out");
    app.log_out(service);
    app.log_out(ann);
    std::cout << "   " << ann << '\n';
  } catch (const AppError& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return 1;
  }
  std::cout << "done: " << backend.request_count() << " HTTP requests served\n";
  return 0;
}

}  // namespace appkeys::cli
