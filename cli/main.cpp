// appkeys — the command: run the local server, walk the demo, or manage keys on a server.
//
//   appkeys serve [--host ADDR] [--port N] [--app-id ID] [--user EMAIL:PASSWORD ...]
//                 [--threads N] [--tls-cert FILE --tls-key FILE] [--allow-insecure-http]
//                 [--log] [--delay-ms N] [--store sqlite:PATH|postgresql://...|memory:]
//   appkeys users list|add EMAIL|disable USER|enable USER|delete USER [--store URI]
//   appkeys demo [--transport curl|httplib]
//   appkeys create NAME | list | get ID | enable ID | disable ID | delete ID | register EMAIL
//           [client options, before or after the subcommand: --base-url URL --app-id ID
//            --email E [--password-stdin] | --api-key-stdin, --json, --ca-file F, ...]
#include "client_app.hpp"
#include "client_options.hpp"
#include "demo.hpp"
#include "exit_codes.hpp"
#include "help.hpp"
#include "key_commands.hpp"
#include "login.hpp"
#include "register_command.hpp"
#include "serve.hpp"
#include "usage_errors.hpp"
#include "users.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace {

using appkeys::cli::ExitCode;
using appkeys::cli::KeyCommand;

int usage_error(const std::string& message) {
  std::cerr << "appkeys: error: " << message << '\n';
  return static_cast<int>(ExitCode::usage);
}

int run_key_client(appkeys::cli::ClientOptions& options, KeyCommand command,
                   const std::string& argument) {
  if (options.app_id.empty())
    return usage_error("an app id is needed (--app-id or APPKEYS_APP_ID)");
  appkeys::cli::SecretInputError error;
  auto credentials = appkeys::cli::resolve_credentials(options, error);
  if (!credentials) return usage_error(error.message);
  return appkeys::cli::with_client_app(options, [&](auto& app) {
    appkeys::cli::run_key_command(app, std::move(*credentials), options, command, argument);
  });
}

int run_register_client(appkeys::cli::ClientOptions& options, const std::string& email) {
  if (options.app_id.empty())
    return usage_error("an app id is needed (--app-id or APPKEYS_APP_ID)");
  appkeys::cli::SecretInputError error;
  const auto password =
      appkeys::cli::resolve_password(options, email, appkeys::cli::PasswordPrompt::confirm, error);
  if (!password) return usage_error(error.message);
  return appkeys::cli::with_client_app(
      options, [&](auto& app) { appkeys::cli::run_register(app, email, *password, options); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"appkeys " APPKEYS_VERSION_STRING
               " - manage App Services user API keys, or serve the protocol locally"};
  cli.formatter(std::make_shared<appkeys::cli::HelpFormatter>());
  cli.require_subcommand(1);
  cli.set_version_flag("--version", APPKEYS_VERSION_STRING);

  appkeys::cli::ClientOptions client;
  const auto secret_options = appkeys::cli::add_client_options(cli, client);
  std::string& transport = client.transport;

  appkeys::cli::ServeOptions serve;
  auto* serve_cmd = cli.add_subcommand("serve", "run the local App Services key server");
  serve_cmd->footer(
      "Failed password logins: after 5 in a row for one email, every login for it is refused\n"
      "for 1 s, doubling with each further failure up to 15 min. The count is kept in this\n"
      "process's memory: a restart forgets it, and several servers on one store count apart.\n"
      "The SQLite store acknowledges a write only once it is on disk (WAL, synchronous=FULL):\n"
      "it survives kill -9, and an OS crash or power loss on storage that honours fsync.");
  serve_cmd->add_option("--host", serve.host, "address to listen on")->capture_default_str();
  serve_cmd->add_option("--port", serve.port, "port to listen on (0: a free port)")
      ->capture_default_str();
  serve_cmd->add_option("--app-id", serve.app_id, "serve only this app id (default: any)");
  serve_cmd->add_option("--user", serve.users,
                        "make sure this email/password user exists, with this password "
                        "(EMAIL:PASSWORD; repeatable)");
  serve_cmd
      ->add_option("--threads", serve.worker_threads,
                   "connections served at once, idle keep-alive ones included")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  // Both or neither: checked by run_serve, which exits 2 as for every bad serve flag.
  serve_cmd->add_option("--tls-cert", serve.tls_cert,
                        "serve HTTPS with this PEM certificate chain");
  serve_cmd->add_option("--tls-key", serve.tls_key, "the PEM private key of --tls-cert");
  serve_cmd->add_flag("--allow-insecure-http", serve.allow_insecure_http,
                      "serve plain HTTP on an address that is not loopback (secrets in clear)");
  serve_cmd->add_flag("--log", serve.log,
                      "access log on stderr: method, path, status, duration (never a secret)");
  serve_cmd->add_option("--delay-ms", serve.delay_ms, "answer every request after this delay")
      ->check(CLI::Range(0LL, 600'000LL));
  serve_cmd
      ->add_option("--store", serve.store,
                   "where users and keys live: sqlite:PATH (created if absent), "
                   "postgresql://USER@HOST/DB (shared by several servers) or memory:")
      ->envname("APPKEYS_STORE")
      ->capture_default_str();
  serve_cmd->add_option("--cors-origin", serve.cors_origins,
                        "let web pages of this origin (https://app.example.com) call the server "
                        "from a browser; repeatable; * for any");

  appkeys::cli::UsersOptions users;
  auto* users_cmd = cli.add_subcommand("users", "manage email/password users in a store");
  users_cmd->require_subcommand(1);
  users_cmd->fallthrough();  // `users list --store URI` as well as `users --store URI list`
  users_cmd->add_option("--store", users.store, "the store: sqlite:PATH or postgresql://...")
      ->envname("APPKEYS_STORE")
      ->capture_default_str();
  auto* users_list = users_cmd->add_subcommand("list", "list the users");
  users_list->add_flag("--json", users.json, "machine-readable output");
  auto* users_add = users_cmd->add_subcommand("add", "add a user, or set its password");
  users_add->add_option("EMAIL", users.user, "email")->required();
  users_add
      ->add_option("--password", users.password,
                   "the password (else APPKEYS_PASSWORD, else asked without echo at a terminal, "
                   "else one line of stdin)")
      ->envname("APPKEYS_PASSWORD");
  auto* users_disable = users_cmd->add_subcommand("disable", "disable a user, ending its sessions");
  users_disable->add_option("USER", users.user, "email or user id")->required();
  auto* users_enable = users_cmd->add_subcommand("enable", "enable a user");
  users_enable->add_option("USER", users.user, "email or user id")->required();
  auto* users_delete = users_cmd->add_subcommand("delete", "delete a user and its keys");
  users_delete->add_option("USER", users.user, "email or user id")->required();

  auto* demo_cmd = cli.add_subcommand("demo", "walk the whole key lifecycle over real HTTP");

  // The client commands take the client options after their own name too (CLI11 hands
  // an option it does not know to the parent).
  using appkeys::cli::examples;
  std::string name, id, email;
  auto client_command = [&](const char* command, const char* description,
                            std::initializer_list<const char*> example_lines) {
    auto* sub = cli.add_subcommand(command, description);
    sub->fallthrough();
    sub->footer(examples(example_lines));
    return sub;
  };
  auto* create_cmd = client_command(
      "create", "create a key and print its value once",
      {"appkeys create reporting --email ann@example.com      # asks for the password",
       "appkeys create reporting --json --email ann@example.com --password-stdin < pw.txt",
       "# the value is printed this once: the server keeps only a hash"});
  create_cmd->add_option("NAME", name, "key name: ASCII letters, digits, _ and -")->required();
  auto* list_cmd = client_command(
      "list", "list the user's keys",
      {"appkeys list --email ann@example.com", "appkeys list --json --api-key-stdin < key.txt"});
  auto* get_cmd =
      client_command("get", "show one key",
                     {"appkeys get 65a1b2c3d4e5f60718293a4b --email ann@example.com",
                      "appkeys get 65a1b2c3d4e5f60718293a4b --json --email ann@example.com"});
  get_cmd->add_option("ID", id, "key id (24 hex characters)")->required();
  auto* enable_cmd =
      client_command("enable", "enable a key",
                     {"appkeys enable 65a1b2c3d4e5f60718293a4b --email ann@example.com"});
  enable_cmd->add_option("ID", id, "key id")->required();
  auto* disable_cmd =
      client_command("disable", "disable a key: it can no longer log in until enabled",
                     {"appkeys disable 65a1b2c3d4e5f60718293a4b --email ann@example.com"});
  disable_cmd->add_option("ID", id, "key id")->required();
  auto* delete_cmd =
      client_command("delete", "delete a key for good",
                     {"appkeys delete 65a1b2c3d4e5f60718293a4b --email ann@example.com",
                      "appkeys delete 65a1b2c3d4e5f60718293a4b --json --api-key-stdin < key.txt"});
  delete_cmd->add_option("ID", id, "key id")->required();
  auto* register_cmd = client_command(
      "register", "register a new email/password user on the server",
      {"appkeys register bo@example.com                 # asks for the password twice",
       "printf %s \"$PW\" | appkeys register bo@example.com --password-stdin",
       "# exit status 5 when the email is already registered"});
  register_cmd->add_option("EMAIL", email, "the new user's email")->required();

  demo_cmd->fallthrough();  // `demo --transport httplib`
  demo_cmd->footer(examples({"appkeys demo", "appkeys demo --transport httplib"}));
  serve_cmd->footer(examples(
      {"appkeys serve --port 8080 --store memory: --user ann@example.com:secret1",
       "appkeys serve --host 0.0.0.0 --port 8443 --tls-cert cert.pem --tls-key key.pem --log",
       "# first line: listening on http(s)://HOST:PORT; SIGTERM or Ctrl-C stops it gracefully"}));
  const std::string users_examples =
      examples({"appkeys users add ann@example.com --store sqlite:appkeys.db   # password on stdin",
                "appkeys users list --json --store sqlite:appkeys.db",
                "appkeys users disable ann@example.com --store sqlite:appkeys.db"});
  for (auto* sub : {users_cmd, users_list, users_add, users_disable, users_enable, users_delete}) {
    sub->footer(users_examples);
  }
  cli.footer(appkeys::cli::main_help_footer());

  const auto secret_values = appkeys::cli::possibly_secret_values(argc, argv);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return appkeys::cli::report_parse_error(cli, error, secret_values);
  }
  // The secrets given as arguments stay in `ps` no longer than this; CLI11's copies go too.
  for (const char* secret_flag : {"--password", "--api-key"}) {
    appkeys::cli::scrub_argument_values(argc, argv, secret_flag);
  }
  appkeys::cli::forget_option_values(secret_options.password);
  appkeys::cli::forget_option_values(secret_options.api_key);

  try {
    if (serve_cmd->parsed()) return appkeys::cli::run_serve(serve);
    if (users_cmd->parsed()) {
      using appkeys::cli::UsersCommand;
      const UsersCommand command = users_list->parsed()      ? UsersCommand::list
                                   : users_add->parsed()     ? UsersCommand::add
                                   : users_disable->parsed() ? UsersCommand::disable
                                   : users_enable->parsed()  ? UsersCommand::enable
                                                             : UsersCommand::remove;
      return appkeys::cli::run_users(command, users);
    }
    if (demo_cmd->parsed()) {
      return transport == "httplib" ? appkeys::cli::run_demo<appkeys::HttplibTransport>("httplib")
                                    : appkeys::cli::run_demo<appkeys::CurlTransport>("curl");
    }
    if (create_cmd->parsed()) return run_key_client(client, KeyCommand::create, name);
    if (list_cmd->parsed()) return run_key_client(client, KeyCommand::list, {});
    if (get_cmd->parsed()) return run_key_client(client, KeyCommand::get, id);
    if (enable_cmd->parsed()) return run_key_client(client, KeyCommand::enable, id);
    if (disable_cmd->parsed()) return run_key_client(client, KeyCommand::disable, id);
    if (delete_cmd->parsed()) return run_key_client(client, KeyCommand::remove, id);
    if (register_cmd->parsed()) return run_register_client(client, email);
  } catch (const appkeys::AppError& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
