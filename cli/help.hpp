// appkeys command — --help: each client subcommand lists the client options it accepts
// (they live on the top-level command), and every command ends with examples.
#pragma once

#include "client_options.hpp"
#include "exit_codes.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace appkeys::cli {

/// CLI11's formatter, plus: the help of a subcommand that falls through to its parent
/// shows the parent's client options, which it accepts after its own name.
///
/// Thread safety: immutable after construction; CLI11 only reads it.
class HelpFormatter : public CLI::Formatter {
 public:
  /// The footer, preceded by the inherited client options when there are any.
  std::string make_footer(const CLI::App* app) const override {
    std::string out;
    const CLI::App* parent = app->get_parent();
    if (parent != nullptr && app->get_fallthrough()) {
      const std::vector<const CLI::Option*> inherited = parent->get_options(
          [](const CLI::Option* option) { return option->get_group() == client_options_group; });
      if (!inherited.empty()) out += make_group(client_options_group, false, inherited) + "\n";
    }
    return out + CLI::Formatter::make_footer(app);
  }
};

/// The top-level footer: how to log in, examples, the exit statuses.
inline std::string main_help_footer() {
  return "Logging in (client commands): --email EMAIL with the password from\n"
         "--password-stdin, APPKEYS_PASSWORD, or a prompt without echo when stdin is a\n"
         "terminal; or an API key with --api-key-stdin or APPKEYS_API_KEY.\n"
         "Also from the environment: APPKEYS_BASE_URL, APPKEYS_APP_ID, APPKEYS_EMAIL,\n"
         "APPKEYS_CA_FILE, APPKEYS_CA_DIR, APPKEYS_STORE (serve, users).\n"
         "\n"
         "Examples:\n"
         "  appkeys serve --port 8080 --store memory: --user ann@example.com:secret1\n"
         "  export APPKEYS_BASE_URL=http://127.0.0.1:8080 APPKEYS_APP_ID=shop\n"
         "  appkeys register bo@example.com            # asks for the password twice\n"
         "  appkeys create reporting --email ann@example.com   # asks for the password\n"
         "  printf %s \"$PW\" | appkeys list --json --email ann@example.com --password-stdin\n"
         "  appkeys <command> --help                    # that command's options and examples\n"
         "\n" +
         std::string(exit_codes_help);
}

/// Examples for one subcommand's --help.
inline std::string examples(std::initializer_list<const char*> lines) {
  std::string out = "Examples:\n";
  for (const char* line : lines) out += std::string("  ") + line + "\n";
  return out;
}

}  // namespace appkeys::cli
