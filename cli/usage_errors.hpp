// appkeys command — command-line errors reported without echoing a secret: a mistyped
// `--pasword hunter2` must not print the password back (CLI11's own message would).
#pragma once

#include "exit_codes.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace appkeys::cli {

namespace usage_detail {

/// Whether an option name suggests that its value is a secret ("--pasword", "--apikey").
inline bool sounds_secret(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view word : {"pass", "pw", "key", "token", "secret", "cred"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

/// Looks like an option name alone: "-x", "--some-name" (no value attached).
inline bool is_option_name(std::string_view token) {
  if (token.size() < 2 || token.size() > 40 || token[0] != '-') return false;
  const std::string_view name = token.substr(token.starts_with("--") ? 2 : 1);
  if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '_'; });
}

}  // namespace usage_detail

/// The argument values that may be secrets: those of options whose names sound secret
/// (`--password X`, `--pasword=X`, `--api-key X`), whether the option exists or not.
inline std::vector<std::string> possibly_secret_values(int argc, const char* const* argv) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (!arg.starts_with("-")) continue;
    const auto equals = arg.find('=');
    if (!usage_detail::sounds_secret(arg.substr(0, equals))) continue;
    if (equals != std::string_view::npos) {
      values.emplace_back(arg.substr(equals + 1));
    } else if (i + 1 < argc) {
      values.emplace_back(argv[i + 1]);
    }
  }
  return values;
}

/// CLI11's message with every possibly secret value replaced, and for unexpected
/// arguments only the option names kept ("The following arguments were not expected:
/// hunter2 --pasword" becomes "unexpected arguments: --pasword, and 1 value not shown").
inline std::string redacted_message(const CLI::ParseError& error,
                                    const std::vector<std::string>& secret_values) {
  std::string message = error.what();
  // By its status: CLI11 names an ExtrasError after the command it arose in.
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::ExtrasError)) {
    const auto colon = message.find(": ");
    std::vector<std::string> shown;
    std::size_t hidden = 0;
    std::size_t tokens = 0;
    if (colon != std::string::npos) {
      std::string_view rest = std::string_view(message).substr(colon + 2);
      while (!rest.empty()) {
        const auto space = rest.find(' ');
        const std::string_view token = rest.substr(0, space);
        const auto equals = token.find('=');
        if (!token.empty()) ++tokens;
        if (usage_detail::is_option_name(token.substr(0, equals))) {
          shown.emplace_back(token.substr(0, equals));
          if (equals != std::string_view::npos) ++hidden;
        } else if (!token.empty()) {
          ++hidden;
        }
        rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
      }
    }
    std::reverse(shown.begin(), shown.end());  // CLI11 lists them last first
    std::string out = "unexpected argument";
    out += tokens > 1 ? "s" : "";
    for (std::size_t i = 0; i < shown.size(); ++i) out += (i == 0 ? ": " : ", ") + shown[i];
    if (hidden > 0) {
      out += (shown.empty() ? ": " : ", and ") + std::to_string(hidden) +
             (hidden == 1 ? " value not shown (it may be a secret)"
                          : " values not shown (they may be secrets)");
    }
    return out;
  }
  for (const auto& value : secret_values) {
    if (value.empty()) continue;
    for (auto at = message.find(value); at != std::string::npos; at = message.find(value, at + 8)) {
      message.replace(at, value.size(), "[hidden]");
    }
  }
  return message;
}

/// Reports a parse error: help and --version print as usual (status 0); everything else
/// is one redacted line on stderr and status 2.
inline int report_parse_error(const CLI::App& cli, const CLI::ParseError& error,
                              const std::vector<std::string>& secret_values) {
  const std::string name = error.get_name();
  if (name == "CallForHelp" || name == "CallForAllHelp" || name == "CallForVersion") {
    return cli.exit(error);
  }
  std::cerr << "appkeys: error: " << redacted_message(error, secret_values)
            << "\nRun with --help for more information.\n";
  return static_cast<int>(ExitCode::usage);
}

}  // namespace appkeys::cli
