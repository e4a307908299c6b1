// appkeys — the command: run the local server, walk the demo, or manage keys on a server.
//
//   appkeys serve [--host ADDR] [--port N] [--app-id ID] [--user EMAIL:PASSWORD ...]
//                 [--threads N] [--tls-cert FILE --tls-key FILE] [--allow-insecure-http]
//                 [--log] [--delay-ms N] [--store sqlite:PATH|postgresql://...|memory:]
//   appkeys users list|add EMAIL|disable USER|enable USER|delete USER [--store URI]
//   appkeys demo [--transport curl|httplib]
//   appkeys [--base-url URL] [--app-id ID] (--email E --password P | --api-key K) [--json]
//           create NAME | list | get ID | enable ID | disable ID | delete ID
#include "demo.hpp"
#include "key_commands.hpp"
#include "serve.hpp"
#include "users.hpp"

#include <appkeys/appkeys.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

namespace {

using appkeys::cli::KeyCommand;

int run_client(const appkeys::cli::ClientOptions& options, const std::string& transport,
               KeyCommand command, const std::string& argument) {
  if (options.app_id.empty()) {
    std::cerr << "appkeys: error: an app id is needed (--app-id or APPKEYS_APP_ID)\n";
    return 2;
  }
  if (options.api_key.empty() && (options.email.empty() || options.password.empty())) {
    std::cerr << "appkeys: error: log in with --email and --password, or with --api-key "
                 "(or APPKEYS_EMAIL/APPKEYS_PASSWORD/APPKEYS_API_KEY)\n";
    return 2;
  }
  if (transport == "httplib") {
    return appkeys::cli::run_key_command(
        options,
        appkeys::HttplibTransport(appkeys::HttplibTransportOptions{
            .ca_file = options.ca_file, .allow_insecure_http = options.allow_insecure_http}),
        command, argument);
  }
  return appkeys::cli::run_key_command(
      options,
      appkeys::CurlTransport(appkeys::CurlTransportOptions{
          .ca_file = options.ca_file, .allow_insecure_http = options.allow_insecure_http}),
      command, argument);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"appkeys " APPKEYS_VERSION_STRING
               " - manage App Services user API keys, or serve the protocol locally"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", APPKEYS_VERSION_STRING);

  appkeys::cli::ClientOptions client;
  std::string transport = "curl";
  long long timeout_ms = client.timeout.count();
  cli.add_option("--base-url", client.base_url, "server address")
      ->envname("APPKEYS_BASE_URL")
      ->capture_default_str();
  cli.add_option("--app-id", client.app_id, "client app id")->envname("APPKEYS_APP_ID");
  cli.add_option("--email", client.email, "log in with this email")->envname("APPKEYS_EMAIL");
  cli.add_option("--password", client.password, "password for --email")
      ->envname("APPKEYS_PASSWORD");
  cli.add_option("--api-key", client.api_key, "log in with an API key instead")
      ->envname("APPKEYS_API_KEY");
  cli.add_flag("--json", client.json, "machine-readable output");
  cli.add_flag("--skip-location", client.skip_location,
               "send requests to --base-url without asking for the app's location");
  cli.add_flag("--allow-insecure-http", client.allow_insecure_http,
               "allow plain http:// to a host that is not loopback (sends secrets in clear)");
  cli.add_option("--ca-file", client.ca_file,
                 "trust the CA certificates in this PEM file (e.g. a self-signed server's)")
      ->envname("APPKEYS_CA_FILE");
  cli.add_option("--timeout-ms", timeout_ms, "bound on each HTTP exchange")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cli.add_option("--transport", transport, "network transport")
      ->check(CLI::IsMember({"curl", "httplib"}))
      ->capture_default_str();

  appkeys::cli::ServeOptions serve;
  auto* serve_cmd = cli.add_subcommand("serve", "run the local App Services key server");
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
                   "the password (else APPKEYS_PASSWORD, else one line of stdin)")
      ->envname("APPKEYS_PASSWORD");
  auto* users_disable = users_cmd->add_subcommand("disable", "disable a user, ending its sessions");
  users_disable->add_option("USER", users.user, "email or user id")->required();
  auto* users_enable = users_cmd->add_subcommand("enable", "enable a user");
  users_enable->add_option("USER", users.user, "email or user id")->required();
  auto* users_delete = users_cmd->add_subcommand("delete", "delete a user and its keys");
  users_delete->add_option("USER", users.user, "email or user id")->required();

  auto* demo_cmd = cli.add_subcommand("demo", "walk the whole key lifecycle over real HTTP");

  std::string name, id;
  auto* create_cmd = cli.add_subcommand("create", "create a key and print its value once");
  create_cmd->add_option("NAME", name, "key name")->required();
  auto* list_cmd = cli.add_subcommand("list", "list the user's keys");
  auto* get_cmd = cli.add_subcommand("get", "show one key");
  get_cmd->add_option("ID", id, "key id (24 hex characters)")->required();
  auto* enable_cmd = cli.add_subcommand("enable", "enable a key");
  enable_cmd->add_option("ID", id, "key id")->required();
  auto* disable_cmd = cli.add_subcommand("disable", "disable a key");
  disable_cmd->add_option("ID", id, "key id")->required();
  auto* delete_cmd = cli.add_subcommand("delete", "delete a key for good");
  delete_cmd->add_option("ID", id, "key id")->required();

  CLI11_PARSE(cli, argc, argv);
  client.timeout = std::chrono::milliseconds(timeout_ms);

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
    if (create_cmd->parsed()) return run_client(client, transport, KeyCommand::create, name);
    if (list_cmd->parsed()) return run_client(client, transport, KeyCommand::list, {});
    if (get_cmd->parsed()) return run_client(client, transport, KeyCommand::get, id);
    if (enable_cmd->parsed()) return run_client(client, transport, KeyCommand::enable, id);
    if (disable_cmd->parsed()) return run_client(client, transport, KeyCommand::disable, id);
    if (delete_cmd->parsed()) return run_client(client, transport, KeyCommand::remove, id);
  } catch (const appkeys::AppError& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "appkeys: error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
