// Many calls at once: FutureExec turns every call into a std::future, so 16 creates can
// be in flight together, then 16 disables. The same work is done one call after another
// with SyncExec for comparison. Both run over real HTTP (cpp-httplib, kept-alive
// connections) against a LocalServer on 127.0.0.1.
//
// The times are printed, not checked: on a busy machine either may win. What is checked
// is the outcome of every round (16 keys, all disabled).
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/local_server.hpp>
#include <appkeys/transport/httplib.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <future>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace ak = appkeys;

namespace {

constexpr std::size_t key_count = 16;
// Each mode runs a few rounds and keeps its fastest: one round on a shared machine
// measures mostly the scheduler.
constexpr int rounds = 3;

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::duration<double, std::milli>;

std::string key_name(std::size_t i) { return "worker-" + std::to_string(i); }

/// The user has exactly the 16 keys, all disabled.
bool all_disabled(const std::vector<ak::ApiKey>& keys) {
  return keys.size() == key_count &&
         std::all_of(keys.begin(), keys.end(), [](const ak::ApiKey& key) { return key.disabled; });
}

/// The baseline: each call returns its value before the next one starts.
std::optional<Millis> run_sequential(const std::string& base_url) {
  ak::App<ak::HttplibTransport, ak::SyncExec> app({.app_id = "shop-abcde", .base_url = base_url});
  ak::User user = app.log_in(ak::Credentials::email_password("bob@example.com", "pw-of-bob"));
  auto keys = app.api_keys(user);

  std::optional<Millis> best;
  for (int round = 0; round < rounds; ++round) {
    const auto start = Clock::now();
    std::vector<ak::ApiKey> created;
    for (std::size_t i = 0; i < key_count; ++i) created.push_back(keys.create(key_name(i)));
    for (const ak::ApiKey& key : created) keys.disable(key.id);
    const Millis took = Clock::now() - start;

    if (!all_disabled(keys.fetch_all())) return std::nullopt;
    for (const ak::ApiKey& key : created) keys.remove(key.id);  // a user may hold 20 keys
    best = std::min(best.value_or(took), took);
  }
  app.log_out(user);
  return best;
}

/// All 16 creates in flight at once, then all 16 disables.
std::optional<Millis> run_concurrent(const std::string& base_url) {
  // One pool thread and one kept-alive connection per call in flight.
  ak::App<ak::HttplibTransport, ak::FutureExec> app(
      {.app_id = "shop-abcde", .base_url = base_url},
      ak::HttplibTransport{{.max_connections_per_host = key_count}}, ak::FutureExec{key_count});
  ak::User user = app.log_in(ak::Credentials::email_password("ann@example.com", "pw-of-ann")).get();
  auto keys = app.api_keys(user);

  std::optional<Millis> best;
  for (int round = 0; round < rounds; ++round) {
    const auto start = Clock::now();
    std::vector<std::future<ak::ApiKey>> creating;
    for (std::size_t i = 0; i < key_count; ++i) creating.push_back(keys.create(key_name(i)));
    std::vector<ak::ApiKey> created;
    for (auto& future : creating) created.push_back(future.get());  // throws AppError on failure

    std::vector<std::future<void>> disabling;
    for (const ak::ApiKey& key : created) disabling.push_back(keys.disable(key.id));
    for (auto& future : disabling) future.get();
    const Millis took = Clock::now() - start;

    if (!all_disabled(keys.fetch_all().get())) return std::nullopt;
    std::vector<std::future<void>> removing;
    for (const ak::ApiKey& key : created) removing.push_back(keys.remove(key.id));
    for (auto& future : removing) future.get();
    best = std::min(best.value_or(took), took);
  }
  app.log_out(user).get();
  return best;
}

}  // namespace

int main() {
  ak::testing::FakeBackend backend;
  backend.add_email_user("ann@example.com", "pw-of-ann");
  backend.add_email_user("bob@example.com", "pw-of-bob");
  ak::testing::LocalServer server{backend};
  std::cout << "server: " << server.base_url() << "; " << key_count << " creates, then "
            << key_count << " disables; best of " << rounds << " rounds\n";

  try {
    const std::optional<Millis> sequential = run_sequential(server.base_url());
    const std::optional<Millis> concurrent = run_concurrent(server.base_url());
    if (!sequential || !concurrent) {
      std::cerr << "error: after a round, the user's keys were not all there and disabled\n";
      return 1;
    }

    char line[160];
    std::snprintf(line, sizeof line, "SyncExec,   one after another: %8.2f ms\n",
                  sequential->count());
    std::cout << line;
    std::snprintf(line, sizeof line, "FutureExec, %2zu at once:        %8.2f ms\n", key_count,
                  concurrent->count());
    std::cout << line;
    std::snprintf(line, sizeof line, "measured ratio (sequential / concurrent): %.2fx\n",
                  concurrent->count() > 0 ? sequential->count() / concurrent->count() : 0.0);
    std::cout << line
              << "(on loopback a call is mostly CPU time, which client and server threads share;\n"
                 " over a real network each call mostly waits, and the waits overlap)\n";
  } catch (const ak::AppError& error) {
    std::cerr << "error: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
