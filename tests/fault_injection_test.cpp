// Fault injection: every operation meets every kind of network and server failure, and
// must end in a typed, clear, secret-free AppError while the client stays usable.
#include <appkeys/appkeys.hpp>
#include <appkeys/testing/async_fake.hpp>
#include <appkeys/testing/fault_injection.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fault_injection_test {

using appkeys::ApiKey;
using appkeys::AppError;
using appkeys::Credentials;
using appkeys::errc;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::Result;
using appkeys::User;
using appkeys::testing::FakeBackend;
using appkeys::testing::FakeTransport;
using appkeys::testing::Fault;
using appkeys::testing::FaultKind;
using Faulty = appkeys::testing::FaultInjectingTransport<FakeTransport>;
using FaultyAsync = appkeys::testing::FaultInjectingTransport<appkeys::testing::FakeAsyncTransport>;
using namespace std::chrono_literals;

static_assert(appkeys::Transport<Faulty>);
static_assert(appkeys::AsyncTransport<FaultyAsync> && appkeys::Transport<FaultyAsync>);

namespace {

constexpr const char* app_id = "fault-app";
constexpr const char* email = "fault@example.com";
constexpr const char* password = "s3cret-fault-password";

enum class Op { log_in, create, fetch, fetch_all, enable, disable, remove, log_out };
constexpr Op all_ops[] = {Op::log_in, Op::create,  Op::fetch,  Op::fetch_all,
                          Op::enable, Op::disable, Op::remove, Op::log_out};

const char* op_name(Op op) {
  switch (op) {
    case Op::log_in:
      return "log_in";
    case Op::create:
      return "create";
    case Op::fetch:
      return "fetch";
    case Op::fetch_all:
      return "fetch_all";
    case Op::enable:
      return "enable";
    case Op::disable:
      return "disable";
    case Op::remove:
      return "remove";
    case Op::log_out:
      return "log_out";
  }
  return "?";
}

/// Operations whose 2xx body the client parses; the others ignore it (PROTOCOL.md §3).
bool reads_body(Op op) {
  return op == Op::log_in || op == Op::create || op == Op::fetch || op == Op::fetch_all;
}

/// Aims a fault at the one request that `op` sends.
Fault aim(Fault fault, Op op) {
  switch (op) {
    case Op::log_in:
      return std::move(fault).on(HttpMethod::post).url_contains("/login");
    case Op::create:
      return std::move(fault).on(HttpMethod::post).url_ends_with("/auth/api_keys");
    case Op::fetch:
      return std::move(fault).on(HttpMethod::get).url_contains("/auth/api_keys/");
    case Op::fetch_all:
      return std::move(fault).on(HttpMethod::get).url_ends_with("/auth/api_keys");
    case Op::enable:
      return std::move(fault).on(HttpMethod::put).url_ends_with("/enable");
    case Op::disable:
      return std::move(fault).on(HttpMethod::put).url_ends_with("/disable");
    case Op::remove:
      return std::move(fault).on(HttpMethod::del).url_contains("/auth/api_keys/");
    case Op::log_out:
      return std::move(fault).on(HttpMethod::del).url_ends_with("/auth/session");
  }
  return fault;
}

/// One fault and what the client must make of it.
struct FaultCase {
  std::string name;
  Fault fault;
  /// The errc for every operation; nullopt for body damage, whose outcome depends on
  /// whether the operation reads the body.
  std::optional<errc> fixed;
  int status = 0;             // expected http_status() (0: no response)
  bool logs_out = false;      // a 401 on a refresh-token request ends the session
  bool damages_body = false;  // body made unreadable: malformed_response where read
  bool valid_list = false;    // still a valid fetch_all answer (`[]`)
};

std::vector<FaultCase> fault_cases() {
  std::vector<FaultCase> cases;
  auto add = [&cases](std::string name, Fault fault, std::optional<errc> fixed, int status = 0) {
    cases.push_back(FaultCase{std::move(name), std::move(fault), fixed, status});
    return &cases.back();
  };
  add("refused connection", Fault::refuse_connection(), errc::connection_failed);
  add("timeout before sending", Fault::timeout_before_send(), errc::timeout);
  add("timeout after the server processed it", Fault::timeout_after_send(), errc::timeout);
  add("connection reset mid-response", Fault::reset_mid_response(), errc::transport);
  add("truncated body (10 bytes)", Fault::truncate_body(10), std::nullopt)->damages_body = true;
  add("oversized body (2 MiB)", Fault::oversized_body(2), std::nullopt)->damages_body = true;
  // The client does not check a 2xx's Content-Type (nor do the official SDKs): the real
  // body still parses, so every operation succeeds.
  add("wrong Content-Type text/html", Fault::wrong_content_type(), std::nullopt);
  add("HTML 502 page from a proxy", Fault::html_error_page(502), errc::http_error, 502);
  add("JSON error, unknown error_code", Fault::json_error(400, "BrandNewCode", "new failure"),
      errc::app_server_error, 400);
  add("JSON error, known error_code",
      Fault::json_error(500, "InternalServerError", "internal server error", "https://logs"),
      errc::internal_server_error, 500);
  add("JSON error, message only", Fault::json_error(400, "", "something odd"),
      errc::app_unknown_error, 400);
  add("JSON 401 InvalidSession", Fault::json_error(401, "InvalidSession", "invalid session"),
      errc::invalid_session, 401)
      ->logs_out = true;
  add("429 with Retry-After", Fault::throttle(1s), errc::http_error, 429);
  add("plain 500", Fault::plain_status(500), errc::http_error, 500);
  add("plain 502", Fault::plain_status(502), errc::http_error, 502);
  add("plain 503", Fault::plain_status(503), errc::http_error, 503);
  add("body: malformed JSON", Fault::replace_body(R"({"_id":"0123)"), std::nullopt)->damages_body =
      true;
  add("body: wrongly typed JSON", Fault::replace_body(R"({"_id":5,"name":[],"disabled":"no"})"),
      std::nullopt)
      ->damages_body = true;
  add("body: null", Fault::replace_body("null"), std::nullopt)->damages_body = true;
  {
    auto* c = add("body: []", Fault::replace_body("[]"), std::nullopt);
    c->damages_body = true;
    c->valid_list = true;
  }
  add("body: empty", Fault::replace_body(""), std::nullopt)->damages_body = true;
  return cases;
}

/// nullopt: the call must succeed.
std::optional<errc> expected_errc(const FaultCase& c, Op op) {
  if (c.fixed) return c.fixed;
  if (!c.damages_body || !reads_body(op)) return std::nullopt;
  if (c.valid_list && op == Op::fetch_all) return std::nullopt;
  return errc::malformed_response;
}

template <class X>
Result<void> drop_value(Result<X> result) {
  if (!result) return std::move(result).error();
  return {};
}

/// One backend, one user with three keys, and an App whose transport can be faulted.
/// Over FakeTransport every call runs blocking (the step machines driven by `drive`);
/// over FakeAsyncTransport the same calls run through the completion driver, answered
/// on the transport's thread (NoThrowExec waits for them).
template <class Inner>
struct BasicWorld {
  using transport_type = appkeys::testing::FaultInjectingTransport<Inner>;
  FakeBackend backend;
  std::string user_id = backend.add_email_user(email, password);
  appkeys::App<transport_type, appkeys::NoThrowExec> app{appkeys::AppConfig{.app_id = app_id},
                                                         transport_type{Inner{backend}}};
  User user;
  std::vector<ApiKey> keys;          // k0, k1, k2 as created
  std::vector<std::string> secrets;  // must never appear in an error

  BasicWorld() {
    user = log_in().value();
    for (const char* name : {"k0", "k1", "k2"}) {
      keys.push_back(app.api_keys(user).create(name).value());
      secrets.emplace_back(keys.back().key->reveal());
    }
    secrets.emplace_back(password);
    remember_tokens(user);
  }

  Result<User> log_in() { return app.log_in(Credentials::email_password(email, password)); }

  /// The App's transport: steer and observe the faults through it.
  transport_type& transport() { return app.transport(); }

  void remember_tokens(const User& u) {
    const auto& state = appkeys::detail::user_state(u);
    if (!state) return;
    secrets.emplace_back(state->current_refresh_token().reveal());
    secrets.emplace_back(state->current_access_token().reveal());
  }

  /// Runs `op`; `round` picks a fresh target so a faulted call that did reach the
  /// server (a key removed, a name taken) cannot spoil the next one.
  Result<void> run(Op op, int round) {
    auto keys_api = app.api_keys(user);
    const ApiKey& target = keys[static_cast<std::size_t>(round)];
    switch (op) {
      case Op::log_in:
        return drop_value(log_in());
      case Op::create:
        return drop_value(keys_api.create("new-" + std::to_string(round)));
      case Op::fetch:
        return drop_value(keys_api.fetch(target.id));
      case Op::fetch_all:
        return drop_value(keys_api.fetch_all());
      case Op::enable:
        return keys_api.enable(target.id);
      case Op::disable:
        return keys_api.disable(target.id);
      case Op::remove:
        return keys_api.remove(target.id);
      case Op::log_out: {
        // A session of its own: log_out always ends the local session, and the main
        // user must stay logged in to show that nothing else was disturbed.
        auto session = log_in();
        if (!session) return std::move(session).error();
        remember_tokens(*session);
        return app.log_out(*session);
      }
    }
    return {};
  }
};

void check_error_is_clear(const AppError& error, const std::vector<std::string>& secrets) {
  const std::string what = error.what();
  CHECK_FALSE(error.message().empty());
  CHECK(what.find("appkeys::errc::") != std::string::npos);
  CHECK(error.code().category() == appkeys::app_category());
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;
    INFO("a secret appears in the error");
    CHECK(what.find(secret) == std::string::npos);
    CHECK(error.server_code().find(secret) == std::string::npos);
    CHECK(error.link().find(secret) == std::string::npos);
  }
}

/// The blocking driver.
using World = BasicWorld<FakeTransport>;
/// The completion driver.
using AsyncWorld = BasicWorld<appkeys::testing::FakeAsyncTransport>;

/// Builds a fetch_all answer of at least `bytes` bytes of well-formed keys.
std::string big_key_list(std::size_t bytes, std::size_t& count) {
  std::string body = "[";
  count = 0;
  char hex[25];
  while (body.size() < bytes) {
    if (count > 0) body += ',';
    std::snprintf(hex, sizeof hex, "%024zx", count + 1);
    body += R"({"_id":")";
    body += hex;
    body += R"(","name":"pad-)" + std::to_string(count) + R"(","disabled":false})";
    ++count;
  }
  body += ']';
  return body;
}

}  // namespace

TEMPLATE_TEST_CASE(
    "fault injection: every operation x every fault ends in a typed, clear, secret-free "
    "error and leaves the client usable",
    "[fault]", World, AsyncWorld) {
  const auto cases = fault_cases();
  int tried = 0;
  for (Op op : all_ops) {
    for (const auto& fault_case : cases) {
      INFO("operation: " << op_name(op) << "; fault: " << fault_case.name);
      ++tried;
      TestType world;
      const auto expected = expected_errc(fault_case, op);
      const std::size_t applied_before = world.transport().faults_applied();
      const std::size_t forwarded_before = world.transport().forwarded();

      world.transport().inject(aim(fault_case.fault, op));
      Result<void> faulted = world.run(op, 0);

      CHECK(world.transport().pending() == 0);
      CHECK(world.transport().faults_applied() == applied_before + 1);
      if (appkeys::testing::forwards_request(fault_case.fault.kind())) {
        CHECK(world.transport().forwarded() > forwarded_before);
      } else if (op != Op::log_out) {  // log_out's own login is forwarded
        CHECK(world.transport().forwarded() == forwarded_before);
      }

      if (expected) {
        REQUIRE_FALSE(faulted.has_value());
        const AppError& error = faulted.error();
        INFO("what(): " << error.what());
        CHECK(error.value() == *expected);
        CHECK(error.code() == *expected);
        if (fault_case.damages_body) {
          // The server's own success status is kept on the error.
          CHECK(error.http_status() >= 200);
          CHECK(error.http_status() < 300);
        } else {
          CHECK(error.http_status() == fault_case.status);
        }
        check_error_is_clear(error, world.secrets);
      } else {
        INFO("unexpected error: " << (faulted ? "" : faulted.error().what()));
        CHECK(faulted.has_value());
      }

      // A 401 on a refresh-token request ends that session (PROTOCOL.md §5); any other
      // fault leaves the user logged in.
      const bool session_ended = fault_case.logs_out && op != Op::log_in && op != Op::log_out;
      CHECK(world.user.is_logged_in() == !session_ended);
      if (!world.user.is_logged_in()) {
        world.user = world.log_in().value();
        world.remember_tokens(world.user);
      }

      // Usable afterwards: the same operation, unfaulted, succeeds.
      Result<void> next = world.run(op, 1);
      INFO("follow-up error: " << (next ? "" : next.error().what()));
      CHECK(next.has_value());
      CHECK(world.user.is_logged_in());
      CHECK(world.app.api_keys(world.user).fetch_all().has_value());
    }
  }
  CHECK(tried == 8 * 21);
  WARN("fault cases tried (operations x fault kinds): " << tried);
}

TEST_CASE("fault injection: an 8 MiB key list neither crashes nor hangs fetch_all", "[fault]") {
  World world;
  std::size_t count = 0;
  std::string body = big_key_list(8u * 1024 * 1024, count);
  world.transport().inject(aim(Fault::replace_body(std::move(body)), Op::fetch_all));
  auto keys = world.app.api_keys(world.user).fetch_all();
  if (keys) {
    CHECK(keys->size() == count);
    CHECK(keys->back().name == "pad-" + std::to_string(count - 1));
  } else {
    INFO("what(): " << keys.error().what());
    CHECK((keys.error().value() == errc::malformed_response ||
           keys.error().value() == errc::response_too_large));
    check_error_is_clear(keys.error(), world.secrets);
  }
  auto after = world.app.api_keys(world.user).fetch_all();
  REQUIRE(after.has_value());
  CHECK(after->size() == 3);
}

TEST_CASE("fault injection: a truncated create response loses nothing silently", "[fault]") {
  World world;
  world.transport().inject(aim(Fault::truncate_body(20), Op::create));
  auto created = world.app.api_keys(world.user).create("half-made");
  REQUIRE_FALSE(created.has_value());
  CHECK(created.error().value() == errc::malformed_response);
  check_error_is_clear(created.error(), world.secrets);
  // The server made the key: the list shows it, so the caller can find and delete it.
  auto all = world.app.api_keys(world.user).fetch_all();
  REQUIRE(all.has_value());
  REQUIRE(all->size() == 4);
  CHECK(all->back().name == "half-made");
  CHECK_FALSE(all->back().key.has_value());
  CHECK(world.app.api_keys(world.user).remove(all->back().id).has_value());
}

TEST_CASE("fault injection: SyncExec throws the typed AppError", "[fault]") {
  FakeBackend backend;
  backend.add_email_user(email, password);
  Faulty transport{FakeTransport{backend}};
  appkeys::App<Faulty, appkeys::SyncExec> app({.app_id = app_id}, transport);
  User user = app.log_in(Credentials::email_password(email, password));
  auto keys = app.api_keys(user);

  transport.inject(aim(Fault::refuse_connection(), Op::fetch_all));
  try {
    (void)keys.fetch_all();
    FAIL("fetch_all did not throw");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::connection_failed);
    CHECK(std::string(error.what()).find(password) == std::string::npos);
  }
  transport.inject(aim(Fault::plain_status(503), Op::create));
  try {
    (void)keys.create("sync-key");
    FAIL("create did not throw");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::http_error);
    CHECK(error.http_status() == 503);
  }
  transport.inject(aim(Fault::replace_body("null"), Op::log_in));
  CHECK_THROWS_AS(app.log_in(Credentials::email_password(email, password)), AppError);
  CHECK(keys.create("sync-key").name == "sync-key");
  CHECK(user.is_logged_in());
}

TEST_CASE("fault injection: FutureExec's future throws the typed AppError", "[fault]") {
  FakeBackend backend;
  backend.add_email_user(email, password);
  Faulty transport{FakeTransport{backend}};
  appkeys::App<Faulty, appkeys::FutureExec> app({.app_id = app_id}, transport,
                                                appkeys::FutureExec(2));
  User user = app.log_in(Credentials::email_password(email, password)).get();
  auto keys = app.api_keys(user);

  transport.inject(aim(Fault::timeout_after_send(), Op::create));
  auto pending = keys.create("future-key");
  try {
    (void)pending.get();
    FAIL("the future did not throw");
  } catch (const AppError& error) {
    CHECK(error.code() == errc::timeout);
    CHECK_FALSE(error.message().empty());
  }
  transport.inject(aim(Fault::html_error_page(502), Op::fetch_all));
  auto listing = keys.fetch_all();
  CHECK_THROWS_AS(listing.get(), AppError);
  // The timed-out create did reach the server.
  auto all = keys.fetch_all().get();
  REQUIRE(all.size() == 1);
  CHECK(all.front().name == "future-key");
}

TEST_CASE("FaultInjectingTransport: script, matching, counters and shared state", "[fault]") {
  FakeBackend backend;
  Faulty transport{FakeTransport{backend}};
  Faulty copy = transport;  // copies share the script and the counters
  const HttpRequest list{
      HttpMethod::get, "http://localhost/api/client/v2.0/auth/api_keys", {}, {}, 1000ms};
  const HttpRequest one{HttpMethod::get,
                        "http://localhost/api/client/v2.0/auth/api_keys/0123456789abcdef01234567",
                        {},
                        {},
                        1000ms};

  copy.inject(Fault::plain_status(503).url_ends_with("/auth/api_keys").times(2));
  copy.inject(Fault::throttle(7s));
  CHECK(transport.pending() == 2);

  // `one` skips the first fault (wrong suffix) and takes the unrestricted one.
  auto throttled = transport.send(one);
  REQUIRE(throttled.has_value());
  CHECK(throttled->status == 429);
  CHECK(appkeys::header_value(throttled->headers, "retry-after") == "7");
  CHECK(transport.send(list)->status == 503);
  CHECK(transport.send(list)->status == 503);
  CHECK(transport.pending() == 0);
  CHECK(transport.send(list)->status == 401);  // unfaulted: the backend wants a bearer

  CHECK(copy.attempts() == 4);
  CHECK(copy.faults_applied() == 3);
  CHECK(copy.forwarded() == 1);

  copy.inject(Fault::json_error(418, "Teapot", "short \"and\" stout"));
  auto teapot = transport.send(list);
  REQUIRE(teapot.has_value());
  CHECK(teapot->status == 418);
  CHECK(teapot->body == R"({"error":"short \"and\" stout","error_code":"Teapot"})");
  CHECK(appkeys::header_value(teapot->headers, "content-type") == "application/json");

  copy.inject(Fault::refuse_connection());
  copy.clear();
  CHECK(transport.pending() == 0);
}

TEST_CASE("FaultInjectingTransport: one-shot faults are taken once under concurrency", "[fault]") {
  FakeBackend backend;
  Faulty transport{FakeTransport{backend}};
  constexpr int faults = 50, threads = 4, per_thread = 100;
  for (int i = 0; i < faults; ++i) transport.inject(Fault::refuse_connection());
  std::atomic<int> refused{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([copy = transport, &refused]() mutable {
      const HttpRequest request{
          HttpMethod::get, "http://localhost/api/client/v2.0/auth/api_keys", {}, {}, 1000ms};
      for (int i = 0; i < per_thread; ++i) {
        auto response = copy.send(request);
        if (!response && response.error().value() == errc::connection_failed) ++refused;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  CHECK(refused.load() == faults);
  CHECK(transport.attempts() == static_cast<std::size_t>(threads * per_thread));
  CHECK(transport.faults_applied() == static_cast<std::size_t>(faults));
  CHECK(transport.forwarded() == static_cast<std::size_t>(threads * per_thread - faults));
}

TEST_CASE("fault injection: a RetryPolicy rides out faults aimed at an idempotent call",
          "[fault]") {
  FakeBackend backend;
  backend.add_email_user(email, password);
  Faulty transport{FakeTransport{backend}};
  appkeys::AppConfig config{.app_id = app_id};
  config.retry = appkeys::RetryPolicy::exponential_backoff(3);
  config.retry.initial_backoff = 1ms;
  config.retry.max_backoff = 2ms;
  appkeys::App<Faulty, appkeys::NoThrowExec> app(config, transport);
  User user = app.log_in(Credentials::email_password(email, password)).value();
  transport.inject(aim(Fault::reset_mid_response(), Op::fetch_all));
  transport.inject(aim(Fault::plain_status(502), Op::fetch_all));
  const std::size_t before = transport.attempts();
  auto all = app.api_keys(user).fetch_all();
  CHECK(all.has_value());
  CHECK(transport.attempts() == before + 3);
}

}  // namespace fault_injection_test
