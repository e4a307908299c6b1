// appkeys command — `appkeys register EMAIL`: a new email/password user on the server
// (the SDKs' `emailPasswordAuth.registerUser`).
#pragma once

#include "client_options.hpp"
#include "output.hpp"

#include <appkeys/appkeys.hpp>

#include <iostream>
#include <string>

namespace appkeys::cli {

/// Registers `email` with `password`; prints the email (never the password). Failures
/// throw AppError (an email in use: HTTP 409, exit status 5).
template <Transport T>
void run_register(App<T>& app, const std::string& email, const Secret& password,
                  const ClientOptions& options) {
  app.register_email(email, password.reveal());
  if (options.json) {
    print_json(std::cout, detail::json{{"email", email}, {"result", "registered"}});
  } else {
    std::cout << "registered " << email << '\n';
  }
}

}  // namespace appkeys::cli
