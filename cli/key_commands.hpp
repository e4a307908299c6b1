// appkeys command — the key commands against any server: create, list, get, enable,
// disable, delete.
#pragma once

#include "output.hpp"

#include <appkeys/appkeys.hpp>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>

namespace appkeys::cli {

struct ClientOptions {
  std::string base_url = "https://services.cloud.mongodb.com";
  std::string app_id;
  std::string email;
  std::string password;
  std::string api_key;
  bool json = false;
  bool skip_location = false;
  bool allow_insecure_http = false;
  std::string ca_file;  // trust this PEM CA bundle instead of the system's
  std::chrono::milliseconds timeout{30'000};
};

enum class KeyCommand { create, list, get, enable, disable, remove };

/// Runs one key command; returns the process exit status. Errors print one line to
/// stderr. Nothing secret is printed except the new key's value on `create`.
template <Transport T>
int run_key_command(const ClientOptions& options, T transport, KeyCommand command,
                    const std::string& argument) {
  App<T> app(AppConfig{.app_id = options.app_id,
                       .base_url = options.base_url,
                       .request_timeout = options.timeout,
                       .skip_location = options.skip_location},
             std::move(transport));
  try {
    User user = !options.api_key.empty()
                    ? app.log_in(Credentials::api_key(options.api_key))
                    : app.log_in(Credentials::email_password(options.email, options.password));
    auto keys = app.api_keys(user);
    switch (command) {
      case KeyCommand::create: {
        ApiKey key = keys.create(argument);
        if (options.json) {
          print_json(std::cout, key_to_json(key, true));
        } else {
          std::cout << "created " << key.name << " (" << key.id << ")\n"
                    << "key: " << key.key->reveal() << '\n'
                    << "Store this value now: the server keeps only a hash and will not "
                       "show it again.\n";
        }
        break;
      }
      case KeyCommand::list: {
        auto all = keys.fetch_all();
        if (options.json) {
          auto list = detail::json::array();
          for (const auto& key : all) list.push_back(key_to_json(key, false));
          print_json(std::cout, list);
        } else {
          print_table(std::cout, all);
        }
        break;
      }
      case KeyCommand::get: {
        ApiKey key = keys.fetch(std::string_view(argument));
        if (options.json) {
          print_json(std::cout, key_to_json(key, false));
        } else {
          print_table(std::cout, {key});
        }
        break;
      }
      case KeyCommand::enable:
      case KeyCommand::disable:
      case KeyCommand::remove: {
        const char* done = command == KeyCommand::enable    ? "enabled"
                           : command == KeyCommand::disable ? "disabled"
                                                            : "deleted";
        if (command == KeyCommand::enable) keys.enable(std::string_view(argument));
        if (command == KeyCommand::disable) keys.disable(std::string_view(argument));
        if (command == KeyCommand::remove) keys.remove(std::string_view(argument));
        if (options.json) {
          print_json(std::cout, detail::json{{"_id", argument}, {"result", done}});
        } else {
          std::cout << done << ' ' << argument << '\n';
        }
        break;
      }
    }
    // The command's work is done; a failed log-out only leaves a session to expire.
    try {
      app.log_out(user);
    } catch (const AppError&) {
    }
  } catch (const AppError& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace appkeys::cli
