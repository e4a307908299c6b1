// appkeys command — the key commands against any server: create, list, get, enable,
// disable, delete.
#pragma once

#include "client_options.hpp"
#include "output.hpp"

#include <appkeys/appkeys.hpp>

#include <iostream>
#include <string>

namespace appkeys::cli {

enum class KeyCommand { create, list, get, enable, disable, remove };

/// Logs in with `credentials`, runs one key command and logs out. Nothing secret is
/// printed except the new key's value on `create`; failures throw AppError.
template <Transport T>
void run_key_command(App<T>& app, Credentials credentials, const ClientOptions& options,
                     KeyCommand command, const std::string& argument) {
  User user = app.log_in(std::move(credentials));
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
}

}  // namespace appkeys::cli
