// Concurrency: one App and one ApiKeyAuth shared by many threads, through every
// transport of the behaviour suite, with the backend expiring access tokens mid-run;
// and FutureExec handles destroyed while calls are still queued.
//
// Catch2 assertions are not thread-safe, so worker threads only record what went
// wrong; the test thread asserts afterwards. Built alone with -fsanitize=thread it must
// report nothing.
#include "support/all_fixtures.hpp"

#include <appkeys/appkeys.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace concurrency_test {

using appkeys::ApiKey;
using appkeys::AppError;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::NoThrowExec;
using appkeys::User;

namespace {

constexpr const char* email = "ann@example.com";
constexpr const char* password = "correct horse battery";
constexpr int thread_count = 8;
constexpr int iterations = 4;

/// What the workers saw go wrong, for the test thread to report.
class Problems {
 public:
  void add(std::string what) {
    std::lock_guard lock(mutex_);
    list_.push_back(std::move(what));
  }
  std::vector<std::string> list() const {
    std::lock_guard lock(mutex_);
    return list_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> list_;
};

std::string describe(const AppError& error) { return error.what(); }

}  // namespace

TEMPLATE_TEST_CASE("one App and one ApiKeyAuth shared by 8 threads", "[concurrency]",
                   APPKEYS_BEHAVIOUR_FIXTURES) {
  TestType fixture;
  const std::string owner_id = fixture.backend.add_email_user(email, password);
  auto app = fixture.make_app(NoThrowExec{});
  auto login = app.log_in(Credentials::email_password(email, password));
  REQUIRE(login.has_value());
  User shared_user = *login;
  const auto keys = app.api_keys(shared_user);

  Problems problems;
  std::atomic<int> finished_iterations{0};
  std::atomic<bool> expired{false};
  std::atomic<int> expected_failures{0};
  std::atomic<int> api_key_logins{0};

  // Every step checks its own outcome; `what` names the step for the report.
  auto worker = [&](int t) {
    const std::string prefix = "t" + std::to_string(t) + "-";
    auto fail = [&](const std::string& what) { problems.add(prefix + ": " + what); };
    auto expect_error = [&](const auto& result, errc code, const std::string& what) {
      if (result.has_value()) {
        fail(what + ": succeeded, expected failure");
      } else if (result.error().value() != code) {
        fail(what + ": wrong error: " + describe(result.error()));
      } else {
        expected_failures.fetch_add(1);
      }
    };
    // Logs in with `secret`, checks the session, logs it out again.
    auto key_login_cycle = [&](const std::string& secret, const std::string& what) {
      auto session = app.log_in(Credentials::api_key(secret));
      if (!session) return fail(what + " login: " + describe(session.error()));
      api_key_logins.fetch_add(1);
      User svc = *session;
      if (svc.id() != owner_id) fail(what + ": api-key login has the wrong user id");
      if (svc.provider() != "api-key")
        fail(what + ": api-key login has provider " + svc.provider());
      if (!svc.is_logged_in()) fail(what + ": api-key login is not logged in");
      if (auto out = app.log_out(svc); !out) fail(what + " logout: " + describe(out.error()));
      if (svc.is_logged_in()) fail(what + ": still logged in after log_out");
    };

    auto keep = keys.create(prefix + "keep");
    if (!keep) return fail("create keep: " + describe(keep.error()));
    const std::string keep_secret(keep->key->reveal());

    for (int i = 0; i < iterations; ++i) {
      const std::string name = prefix + "tmp" + std::to_string(i);
      auto created = keys.create(name);
      if (!created) {
        fail("create " + name + ": " + describe(created.error()));
        continue;
      }
      const std::string secret(created->key->reveal());
      if (created->name != name || created->disabled) fail("create " + name + ": wrong key");

      auto fetched = keys.fetch(created->id);
      if (!fetched) {
        fail("fetch " + name + ": " + describe(fetched.error()));
      } else if (fetched->name != name || fetched->key.has_value()) {
        fail("fetch " + name + ": wrong key");
      }

      auto all = keys.fetch_all();
      if (!all) {
        fail("fetch_all: " + describe(all.error()));
      } else {
        std::set<std::string> names;
        for (const auto& key : *all) names.insert(key.name);
        if (!names.count(name) || !names.count(prefix + "keep")) fail("fetch_all misses own keys");
        if (all->size() > 2 * thread_count) fail("fetch_all: too many keys");
      }

      if (auto r = keys.disable(created->id); !r) fail("disable: " + describe(r.error()));
      auto disabled = keys.fetch(created->id);
      if (!disabled || !disabled->disabled) fail("fetch after disable: not disabled");
      expect_error(app.log_in(Credentials::api_key(secret)), errc::auth_error,
                   "login with disabled " + name);

      if (auto r = keys.enable(created->id); !r) fail("enable: " + describe(r.error()));
      key_login_cycle(secret, "enabled " + name);

      if (auto r = keys.remove(created->id); !r) fail("remove: " + describe(r.error()));
      expect_error(keys.fetch(created->id), errc::api_key_not_found, "fetch removed " + name);
      expect_error(app.log_in(Credentials::api_key(secret)), errc::auth_error,
                   "login with removed " + name);
      finished_iterations.fetch_add(1);
    }

    // New logins once the access tokens have been expired.
    while (!expired.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (t % 2 == 1) {
      if (auto r = keys.disable(keep->id); !r) fail("disable keep: " + describe(r.error()));
      expect_error(app.log_in(Credentials::api_key(keep_secret)), errc::auth_error,
                   "login with disabled keep");
    } else {
      key_login_cycle(keep_secret, "keep");
    }
  };

  // Expires every access token once half the work is done, so
  // some logins find their fresh access token gone before the profile request and go
  // through the refresh path.
  auto expirer = [&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (finished_iterations.load() < thread_count * iterations / 2 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Once: a login that meets two expiries (its first profile request, then the retry
    // after the refresh) fails by design (PROTOCOL.md §5 retries once), and no spacing
    // in time keeps a login on a loaded machine from meeting two.
    fixture.backend.expire_access_tokens();
    expired.store(true);
  };

  const auto started = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) threads.emplace_back(worker, t);
    threads.emplace_back(expirer);
    for (auto& thread : threads) thread.join();
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  INFO("fixture " << TestType::name << ", "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                  << " ms");

  for (const auto& problem : problems.list()) {
    UNSCOPED_INFO(problem);
  }
  CHECK(problems.list().empty());
  CHECK(finished_iterations.load() == thread_count * iterations);
  // Per iteration: disabled login, fetch removed, removed login; odd threads one more.
  CHECK(expected_failures.load() == thread_count * iterations * 3 + thread_count / 2);
  CHECK(api_key_logins.load() == thread_count * iterations + thread_count / 2);

  // The shared session survived everything.
  CHECK(shared_user.is_logged_in());
  auto all = keys.fetch_all();
  REQUIRE(all.has_value());

  // Exactly one key per thread is left, in the right state.
  std::map<std::string, bool> expected;
  for (int t = 0; t < thread_count; ++t) expected["t" + std::to_string(t) + "-keep"] = t % 2 == 1;
  std::map<std::string, bool> actual;
  for (const auto& key : *all) actual[key.name] = key.disabled;
  CHECK(actual == expected);
  CHECK(fixture.backend.key_count(owner_id) == static_cast<std::size_t>(thread_count));

  const auto dump = appkeys::detail::json::parse(fixture.backend.debug_dump());
  REQUIRE(dump["users"].size() == 1);
  const auto& stored = dump["users"][0];
  CHECK(stored["id"] == owner_id);
  REQUIRE(stored["api_keys"].size() == static_cast<std::size_t>(thread_count));
  for (const auto& key : stored["api_keys"]) {
    const std::string name = key["name"].template get<std::string>();
    REQUIRE(expected.count(name) == 1);
    CHECK(key["disabled"].template get<bool>() == expected[name]);
  }
  // Every api-key session was logged out: only the shared user's session is left.
  CHECK(stored["sessions"] == 1);

  // The shared user can still do everything.
  auto last = keys.create("after-the-storm");
  REQUIRE(last.has_value());
  CHECK(keys.remove(last->id).has_value());
  CHECK(app.log_out(shared_user).has_value());
  CHECK_FALSE(shared_user.is_logged_in());
}

namespace {

/// Opens and closes a gate that every send() passes through, so a test can hold the
/// executor's workers inside calls while more calls queue up behind them.
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  bool open = true;
  int waiting = 0;

  void pass() {
    std::unique_lock lock(mutex);
    ++waiting;
    changed.notify_all();
    changed.wait(lock, [this] { return open; });
    --waiting;
  }
  void set_open(bool value) {
    {
      std::lock_guard lock(mutex);
      open = value;
    }
    changed.notify_all();
  }
  bool wait_for_waiting(int count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return waiting >= count; });
  }
};

/// A third-party Transport: the fixture's transport behind a Gate.
template <class Inner>
class GatedTransport {
 public:
  GatedTransport(Inner inner, std::shared_ptr<Gate> gate)
      : inner_(std::make_shared<Inner>(std::move(inner))), gate_(std::move(gate)) {}

  appkeys::Result<appkeys::HttpResponse> send(const appkeys::HttpRequest& request) {
    gate_->pass();
    return inner_->send(request);
  }

 private:
  std::shared_ptr<Inner> inner_;
  std::shared_ptr<Gate> gate_;
};

}  // namespace

TEMPLATE_TEST_CASE("FutureExec: handles destroyed while calls are queued settle every future",
                   "[concurrency][future]", APPKEYS_BEHAVIOUR_FIXTURES) {
  using Transport = GatedTransport<typename TestType::transport_type>;
  static_assert(appkeys::Transport<Transport>);
  constexpr int pool_size = 4;
  constexpr int call_count = 64;

  TestType fixture;
  const std::string owner_id = fixture.backend.add_email_user(email, password);
  auto gate = std::make_shared<Gate>();

  std::optional<appkeys::FutureExec> executor{std::in_place, pool_size};
  std::optional<appkeys::App<Transport, appkeys::FutureExec>> app;
  app.emplace(fixture.config(), Transport(fixture.transport(), gate), *executor);

  auto login = app->log_in(Credentials::email_password(email, password));
  REQUIRE(login.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  User user = login.get();
  REQUIRE(user.is_logged_in());
  std::optional<appkeys::ApiKeyAuth<Transport, appkeys::FutureExec>> keys{app->api_keys(user)};

  // Hold the workers inside their first calls, then queue the rest behind them.
  gate->set_open(false);
  std::vector<std::future<ApiKey>> creates, fetches;
  std::vector<std::future<std::vector<ApiKey>>> lists;
  std::vector<std::future<void>> removes;
  const auto missing = appkeys::ObjectId::from_hex("0123456789abcdef01234567");
  REQUIRE(missing.has_value());
  for (int i = 0; i < call_count / 4; ++i) {
    creates.push_back(keys->create("future-" + std::to_string(i)));
    lists.push_back(keys->fetch_all());
    fetches.push_back(keys->fetch(*missing));
    removes.push_back(i % 2 == 0 ? keys->remove(*missing)
                                 : keys->remove(std::string_view("not-an-id")));
  }
  REQUIRE(gate->wait_for_waiting(pool_size, std::chrono::seconds(5)));

  // Drop every handle to the pool while calls are queued: the destruction must wait
  // for them (the last handle joins the workers), so it runs on its own thread and the
  // gate opens while it is blocked.
  std::promise<void> destroyed;
  auto destroyed_future = destroyed.get_future();
  std::thread destroyer([&] {
    keys.reset();
    app.reset();
    executor.reset();
    destroyed.set_value();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  gate->set_open(true);
  const bool finished =
      destroyed_future.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  if (!finished) {
    destroyer.detach();  // ctest's timeout ends the process
    FAIL("destroying the App, ApiKeyAuth and FutureExec did not finish within 60 s");
  }
  destroyer.join();

  // Every future is satisfied, never a broken promise: a call that ran with its real
  // outcome, a call still queued when the executor went with errc::shutting_down. Which
  // calls had started depends on the scheduler, so the counts are checked per outcome.
  int values = 0, errors = 0, not_started = 0, keys_created = 0;
  auto settle = [&](auto& future, bool succeeds) {
    REQUIRE(future.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    try {
      future.get();
      ++values;
      CHECK(succeeds);
    } catch (const AppError& error) {
      if (error.code() == errc::shutting_down) {
        ++not_started;
      } else {
        ++errors;
        CHECK_FALSE(succeeds);
      }
    }
  };
  for (auto& f : creates) {
    const int before = values;
    settle(f, true);
    keys_created += values - before;
  }
  for (auto& f : lists) settle(f, true);
  for (auto& f : fetches) settle(f, false);
  for (auto& f : removes) settle(f, false);
  CHECK(values + errors + not_started == call_count);
  CHECK(values + errors >= pool_size);  // the calls held at the gate were running
  CHECK(fixture.backend.key_count(owner_id) == static_cast<std::size_t>(keys_created));
}

}  // namespace concurrency_test
