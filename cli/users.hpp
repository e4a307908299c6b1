// appkeys command — `appkeys users list|add|disable|enable|delete --store URI`: an
// operator's tool that manages email/password users directly in a store (no server
// needs to run; a running `appkeys serve` on the same SQLite file sees the changes).
#pragma once

#include "secret_input.hpp"
#include "serve.hpp"

#include <appkeys/server/service.hpp>
#include <appkeys/testing/backend/records.hpp>

#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>

namespace appkeys::cli {

/// Which `users` subcommand runs.
enum class UsersCommand { list, add, disable, enable, remove };

/// What `appkeys users` was given.
struct UsersOptions {
  std::string store{server::default_store_uri};  // --store URI
  std::string user;      // EMAIL (add), or EMAIL or user id (disable/enable/delete)
  std::string password;  // add: --password, APPKEYS_PASSWORD, a prompt without echo at a
                         // terminal, else one line of stdin
  bool json = false;     // list: machine-readable
};

/// The user `who` names: an email, or a user id (24 hex).
inline std::optional<testing::backend::UserRecord> find_user(const server::Service& service,
                                                             const std::string& who) {
  for (auto& user : service.list_users()) {
    if (user.email == who || user.id == who) return user;
  }
  return std::nullopt;
}

/// Runs one `users` subcommand; the exit status (0, 1: failed, 2: bad usage).
inline int run_users(UsersCommand command, UsersOptions options) {
  if (options.store == "memory:") {
    std::cerr << "appkeys: error: `users` changes a store that outlives it: give --store "
                 "sqlite:PATH (memory: would be gone at once)\n";
    return 2;
  }
  // A user added here is used by the server with the server's own rules and hashes.
  const auto service = open_store(options.store);
  if (!service) return 2;
  switch (command) {
    case UsersCommand::list: {
      const auto users = service->list_users();
      if (options.json) {
        detail::json out = detail::json::array();
        for (const auto& user : users) {
          out.push_back(detail::json{{"id", user.id},
                                     {"provider", user.provider},
                                     {"email", user.email},
                                     {"disabled", user.disabled},
                                     {"api_keys", service->key_count(user.id)}});
        }
        std::cout << out.dump(2) << '\n';
      } else {
        for (const auto& user : users) {
          std::cout << user.id << "  "
                    << (user.email.empty() ? "(" + user.provider + ")" : user.email)
                    << (user.disabled ? "  disabled" : "") << "  " << service->key_count(user.id)
                    << " key(s)\n";
        }
        std::cerr << users.size() << " user(s) in " << service->store_uri().to_string() << '\n';
      }
      return 0;
    }
    case UsersCommand::add: {
      std::optional<Secret> prompted;
      if (options.password.empty() && can_prompt()) {
        // At a terminal, ask without echo, as the client commands do: the password is
        // then never on the screen, in the shell's history or in `ps`.
        SecretInputError error;
        prompted = prompt_secret("Password for " + options.user + ": ", error);
        if (!prompted) {
          std::cerr << "appkeys: error: " << error.message << '\n';
          return 2;
        }
      } else if (options.password.empty() && !std::getline(std::cin, options.password)) {
        std::cerr << "appkeys: error: give the password with --password, APPKEYS_PASSWORD "
                     "or one line on stdin\n";
        return 2;
      }
      const std::string id = service->add_email_user(
          options.user, prompted ? prompted->reveal() : std::string_view(options.password));
      detail::wipe(options.password);
      std::cout << id << '\n';
      return 0;
    }
    case UsersCommand::disable:
    case UsersCommand::enable:
    case UsersCommand::remove: {
      const auto user = find_user(*service, options.user);
      if (!user) {
        std::cerr << "appkeys: error: no user with that email or id in "
                  << service->store_uri().to_string() << '\n';
        return 1;
      }
      if (command == UsersCommand::remove) {
        service->delete_user(user->id);
      } else {
        service->set_user_disabled(user->id, command == UsersCommand::disable);
      }
      std::cout << user->id << '\n';
      return 0;
    }
  }
  return 2;
}

}  // namespace appkeys::cli
