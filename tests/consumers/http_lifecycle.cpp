// A consumer's program on real HTTP: appkeys::curl and appkeys::httplib (through the
// consumer's find_package) against testing::LocalServer on 127.0.0.1.
// Exits non-zero on the first result that is not what the library promises.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/curl.hpp>
#include <appkeys/transport/httplib.hpp>

#include <cstdio>
#include <string>

namespace {

namespace ak = appkeys;

template <ak::Transport T>
bool lifecycle(const char* name, const std::string& base_url) {
  ak::App<T, ak::NoThrowExec> app({.app_id = "consumer", .base_url = base_url});
  auto fail = [name](const char* step) {
    std::fprintf(stderr, "consumer %s: FAILED: %s\n", name, step);
    return false;
  };
  auto ann = app.log_in(ak::Credentials::email_password("ann@example.com", "pw"));
  if (!ann) return fail("log in");
  auto keys = app.api_keys(*ann);
  auto key = keys.create(std::string("key-") + name);
  if (!key || !key->key) return fail("create");
  auto fetched = keys.fetch(key->id);
  if (!fetched || fetched->name != key->name || fetched->key) return fail("fetch");
  auto all = keys.fetch_all();
  if (!all || all->empty() || all->back().id != key->id) return fail("fetch_all");
  if (!keys.disable(key->id)) return fail("disable");
  if (app.log_in(ak::Credentials::api_key(*key->key))) return fail("disabled key refused");
  if (!keys.enable(key->id)) return fail("enable");
  auto service = app.log_in(ak::Credentials::api_key(*key->key));
  if (!service || service->id() != ann->id()) return fail("log in with the key");
  if (!keys.remove(key->id)) return fail("remove");
  auto gone = keys.fetch(key->id);
  if (gone || gone.error().code() != ak::errc::api_key_not_found) return fail("removed");
  return true;
}

}  // namespace

int main() {
  ak::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "pw");
  ak::testing::LocalServer server{backend};
  const bool curl = lifecycle<ak::CurlTransport>("curl", server.base_url());
  const bool httplib = lifecycle<ak::HttplibTransport>("httplib", server.base_url());
  if (!curl || !httplib) return 1;
  std::printf("consumer: curl and httplib lifecycles passed against %s\n",
              server.base_url().c_str());
  return 0;
}
