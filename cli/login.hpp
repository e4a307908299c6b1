// appkeys command — which credentials a client command logs in with, and where their
// secret comes from: stdin, a flag, the environment, or a prompt without echo.
#pragma once

#include "client_options.hpp"
#include "secret_input.hpp"

#include <appkeys/credentials.hpp>
#include <appkeys/secret.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace appkeys::cli {

/// How a missing password may be asked for.
enum class PasswordPrompt {
  once,     ///< logging in
  confirm,  ///< registering: asked twice, both answers must match
};

/// The password for `email`, from (first match) --password-stdin, --password,
/// APPKEYS_PASSWORD, or a prompt when stdin is a terminal. `options.password` is wiped.
/// nullopt after setting `error` (a usage error; the message holds no secret).
inline std::optional<Secret> resolve_password(ClientOptions& options, std::string_view email,
                                              PasswordPrompt prompt, SecretInputError& error) {
  std::optional<Secret> password;
  if (options.password_stdin) {
    password = read_secret_from_stdin("password", error);
  } else if (!options.password.empty()) {
    std::cerr << "appkeys: warning: a password given with --password is visible to other "
                 "users in `ps`; use --password-stdin, APPKEYS_PASSWORD or the prompt\n";
    password.emplace(options.password);
  } else if (auto from_environment = take_secret_from_environment("APPKEYS_PASSWORD")) {
    password = std::move(from_environment);
  } else if (can_prompt()) {
    const std::string question = "Password for " + std::string(email) + ": ";
    password = prompt_secret(question, error);
    if (password && prompt == PasswordPrompt::confirm) {
      const auto again = prompt_secret("Repeat the password: ", error);
      if (!again) {
        password.reset();
      } else if (!(*again == *password)) {
        error.message = "the two passwords differ";
        password.reset();
      }
    }
  } else {
    error.message = "no password for " + std::string(email) +
                    ": give it on stdin with --password-stdin, in APPKEYS_PASSWORD, or run on a "
                    "terminal to be asked";
  }
  detail::wipe(options.password);
  return password;
}

/// The credentials of a key command, the first of: an API key from --api-key-stdin or
/// --api-key; email/password with --email; an API key from APPKEYS_API_KEY;
/// email/password with APPKEYS_EMAIL. `options.password` and `options.api_key` are wiped. nullopt
/// after setting `error` (a usage error).
inline std::optional<Credentials> resolve_credentials(ClientOptions& options,
                                                      SecretInputError& error) {
  std::optional<Credentials> credentials;
  if (options.api_key_stdin) {
    if (auto key = read_secret_from_stdin("API key", error)) {
      credentials = Credentials::api_key(std::move(*key));
    }
  } else if (!options.api_key.empty()) {
    credentials = Credentials::api_key(Secret(options.api_key));
  } else {
    // A flag beats the environment (a password flag asks for email/password); between
    // the two variables the key wins, as before.
    const bool password_flag = options.password_stdin || !options.password.empty();
    std::optional<Secret> key_from_environment;
    if (options.email.empty()) {
      if (!password_flag) key_from_environment = take_secret_from_environment("APPKEYS_API_KEY");
      const char* email = std::getenv("APPKEYS_EMAIL");
      if (!key_from_environment && email != nullptr) options.email = email;
    }
    if (key_from_environment) {
      credentials = Credentials::api_key(std::move(*key_from_environment));
    } else if (!options.email.empty()) {
      if (auto password = resolve_password(options, options.email, PasswordPrompt::once, error)) {
        credentials = Credentials::email_password(options.email, password->reveal());
      }
    } else {
      error.message =
          "log in with --email (password on stdin with --password-stdin, in "
          "APPKEYS_PASSWORD, or asked for), or with --api-key-stdin; or set APPKEYS_EMAIL or "
          "APPKEYS_API_KEY";
    }
  }
  detail::wipe(options.password);
  detail::wipe(options.api_key);
  return credentials;
}

}  // namespace appkeys::cli
