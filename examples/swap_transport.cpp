// Swapping the transport is a one-line change.
//
// `key_lifecycle` below is written once, as a template over the Transport; main() runs
// it three times, and the three blocks differ only in their `using Transport = ...;`
// line: cpp-httplib and libcurl over real HTTP to a LocalServer on 127.0.0.1, and
// FakeTransport, which hands the same requests to the same backend in-process.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/fake.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>

#include <iostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace ak = appkeys;

namespace {

constexpr const char* email = "ann@example.com";
constexpr const char* password = "correct horse battery";

/// The network transports are default-constructible; FakeTransport needs the backend.
template <ak::Transport T>
T make_transport(ak::testing::FakeBackend& backend) {
  if constexpr (std::is_constructible_v<T, ak::testing::FakeBackend&>) {
    return T{backend};
  } else {
    return T{};
  }
}

/// Written once: nothing here knows or cares how the bytes move.
template <ak::Transport T>
bool key_lifecycle(std::string_view label, ak::App<T>& app) {
  try {
    ak::User user = app.log_in(ak::Credentials::email_password(email, password));
    auto keys = app.api_keys(user);

    const std::string name = "key-from-" + std::string(label);
    ak::ApiKey key = keys.create(name);
    keys.disable(key.id);
    const bool disabled = keys.fetch(key.id).disabled;
    keys.enable(key.id);
    ak::User service = app.log_in(ak::Credentials::api_key(*key.key));
    const std::size_t listed = keys.fetch_all().size();
    keys.remove(key.id);
    const std::size_t left = keys.fetch_all().size();
    app.log_out(service);
    app.log_out(user);

    const bool ok =
        disabled && service.id() == user.id() && listed == 1 && left == 0 && !user.is_logged_in();
    std::cout << "  " << label << ": created " << key.name << ", disabled/enabled it, logged in "
              << "with it as " << service.provider() << ", deleted it -> "
              << (ok ? "ok" : "UNEXPECTED RESULT") << '\n';
    return ok;
  } catch (const ak::AppError& error) {
    std::cout << "  " << label << ": failed: " << error.what() << '\n';
    return false;
  }
}

}  // namespace

int main() {
  ak::testing::FakeBackend backend;
  backend.add_email_user(email, password);
  ak::testing::LocalServer server{backend};
  // The FakeTransport never opens this URL; the network transports do.
  const ak::AppConfig config{.app_id = "shop-abcde", .base_url = server.base_url()};
  std::cout << "one function, three transports (server " << server.base_url() << "):\n";

  bool ok = true;
  {
    using Transport = ak::HttplibTransport;
    ak::App<Transport> app(config, make_transport<Transport>(backend));
    ok = key_lifecycle("HttplibTransport", app) && ok;
  }
  {
    using Transport = ak::CurlTransport;
    ak::App<Transport> app(config, make_transport<Transport>(backend));
    ok = key_lifecycle("CurlTransport", app) && ok;
  }
  {
    using Transport = ak::testing::FakeTransport;
    ak::App<Transport> app(config, make_transport<Transport>(backend));
    ok = key_lifecycle("FakeTransport", app) && ok;
  }

  std::cout << "requests the backend answered: " << backend.request_count() << '\n';
  std::cout << (ok ? "all three transports behaved the same\n" : "a transport misbehaved\n");
  return ok ? 0 : 1;
}
