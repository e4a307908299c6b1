// Fuzzes testing::FakeBackend::handle, the whole reference server (PROTOCOL.md §6) that
// `appkeys serve` exposes over HTTP. Built as fuzz_fake_backend_request_sqlite (with
// APPKEYS_FUZZ_SQLITE_STORE), the same rules run over the server's SQLite store.
//
// Input framing (text, so the corpus is readable):
//
//     METHOD URL\n            GET, POST, PUT or DELETE; any other word picks one by its
//                             first byte. URL is absolute or a bare path.
//     Name: value\n           zero or more headers
//     \n                      a blank line, then
//     body                    everything else
//
// "\r\n" works as well as "\n". Before framing, placeholders are replaced by the seeded
// state, so that deep routes are reachable although tokens are random per process:
// $REFRESH / $ACCESS (the seeded email user's session), $KEYID / $APIKEY (that user's
// seeded key), $APIREFRESH (a session logged in with that key), $ANONREFRESH (an
// anonymous session), $PASSWORD (the seeded user's password).
//
// The backend is kept across inputs, so state-dependent paths (limits, duplicates,
// disabled and deleted keys) are reached; after each mutating request the seeded state
// is repaired, and every APPKEYS_FUZZ_BACKEND_RESET inputs (default 50000; 0 = never)
// the backend is rebuilt so that what the fuzzer piles up stays bounded.
//
// APPKEYS_FUZZ_VERBOSE=1 prints each request line and the answer (seeded tokens
// included: a debugging aid only).
//
// Checks after every input: status in 100..599; a 204 has no Content-Type and no body;
// every body is labelled, and every JSON body parses; a JSON error body maps to a
// server error (not http_error) whose what() holds no marker and no secret; no body or
// header holds the seeded password, a seeded token or key value, or the other user's
// key value, unless the request itself put it where the server echoes (the origin, or
// a key name); 2xx bodies parse with the client's own parser for that route; create
// and fetch never show another user's key; a request without Authorization on an
// authenticated route is 401; an anonymous or API-key session never creates a key.
#include "fuzz_common.hpp"

#include <appkeys/detail/error_mapping.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/detail/wire_requests.hpp>
#include <appkeys/http.hpp>
#include <appkeys/testing/fake.hpp>

#ifdef APPKEYS_FUZZ_SQLITE_STORE
#include "fuzz_sqlite_backend.hpp"
using FuzzBackend = appkeys_fuzz::SqliteFuzzBackend;
#else
using FuzzBackend = appkeys::testing::FakeBackend;
#endif

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wire = appkeys::detail::wire;
namespace routes = appkeys::detail::routes;
using appkeys::HttpMethod;
using appkeys::HttpRequest;
using appkeys::HttpResponse;
using appkeys_fuzz::contains;

namespace {

constexpr std::string_view app_id = "fuzz-app";
constexpr std::string_view email = "seed@example.com";
// '!' and '.' keep the password out of key names (ASCII letters, digits, '_', '-'),
// which the server stores and lists again: a name holding it would be a legitimate
// echo in a later response.
constexpr std::string_view password = "Seed.Passw0rd!Fuzz";
constexpr std::size_t max_keys = 6;

HttpRequest make(HttpMethod method, std::string path, std::string body = {},
                 std::string_view bearer = {}) {
  HttpRequest request;
  request.method = method;
  request.url = "http://fuzz.invalid" + path;
  request.body = std::move(body);
  if (!request.body.empty()) request.headers.emplace("Content-Type", "application/json");
  if (!bearer.empty()) request.headers.emplace("Authorization", "Bearer " + std::string(bearer));
  return request;
}

/// The backend with one user, a key, and three sessions, kept across inputs.
class Seeded {
 public:
  Seeded() { reset(); }

  FuzzBackend& backend() { return *backend_; }

  std::string refresh, access, api_refresh, anon_refresh;
  std::string user_id, key_id, key_value;
  std::string other_key_id, other_key_value;
  /// Secrets the server must never send back unless the request echoes them.
  std::vector<std::string> secrets;
  /// Names of keys the fuzzer created that contain a secret: later lists echo them.
  std::vector<std::string> secret_names;

  void reset() {
    appkeys::testing::FakeBackendOptions options;
    options.app_id = std::string(app_id);
    options.max_keys_per_user = max_keys;
    options.max_body_bytes = 2048;  // reachable with libFuzzer's default -max_len
    backend_.reset();               // the old store closes before the new one opens
    backend_ = std::make_unique<FuzzBackend>(options);
    secrets.clear();
    secret_names.clear();
    secrets.emplace_back(password);
    user_id = backend_->add_email_user(email, password);

    // Another user whose key the seeded sessions must never see.
    const std::string other_password = appkeys::detail::random_token_chars(20);
    backend_->add_email_user("other@example.com", other_password);
    secrets.push_back(other_password);
    const auto other = login_email("other@example.com", other_password);
    const auto other_key = create_key(other.first, "other");
    other_key_id = other_key.first;
    other_key_value = other_key.second;
    secrets.push_back(other_key_value);
    secrets.push_back(other.first);
    secrets.push_back(other.second);

    relogin();
    const auto key = create_key(refresh, "seeded");
    remember_key(key);
    relogin_api_key();
    relogin_anon();
  }

  /// Puts the seeded sessions and key back after a request that may have changed them.
  void repair() {
    auto list = get_keys(refresh);
    if (!list) {
      relogin();
      list = get_keys(refresh);
      if (!list) fail_setup("seeded user cannot list keys after a fresh login");
    }
    const appkeys::ApiKey* seeded = nullptr;
    for (const auto& key : *list) {
      if (key.id.to_hex() == key_id) seeded = &key;
    }
    const bool full = list->size() >= max_keys;
    if ((seeded == nullptr && full) || (full && ++full_count_ % 128 == 0)) {
      // Keep the limit reachable for a while, but not for ever.
      for (const auto& key : *list) {
        if (key.id.to_hex() != key_id) {
          backend_->handle(make(HttpMethod::del, routes::api_key(key.id.to_hex()), {}, refresh));
        }
      }
    }
    if (seeded == nullptr) {
      remember_key(create_key(refresh, "seeded-" + std::to_string(++key_generation_)));
    } else if (seeded->disabled) {
      backend_->handle(make(HttpMethod::put, routes::api_key_enable(key_id), {}, refresh));
    }
    if (!get_keys(api_refresh)) relogin_api_key();
    if (!get_keys(anon_refresh)) relogin_anon();
  }

 private:
  [[noreturn]] static void fail_setup(const char* what) {
    appkeys_fuzz::fail(__FILE__, __LINE__, "seeding the backend", what);
  }

  void remember(std::string secret) {
    // A bounded history: old tokens stay secret, but the list must not grow for ever.
    if (secrets.size() > 256) secrets.erase(secrets.begin() + 4);
    secrets.push_back(std::move(secret));
  }

  void remember_key(const std::pair<std::string, std::string>& key) {
    key_id = key.first;
    key_value = key.second;
    remember(key_value);
  }

  static std::string login_body(std::string_view fields) {
    std::string body = "{";
    body += fields;
    if (!fields.empty()) body += ',';
    body += R"("options":{"device":{"platform":"fuzz","sdkVersion":"0"}}})";
    return body;
  }

  std::pair<std::string, std::string> login(std::string_view provider, std::string body) {
    auto response =
        backend_->handle(make(HttpMethod::post, routes::login(app_id, provider), login_body(body)));
    auto parsed = wire::parse_login_response(response.body, response.status);
    if (response.status != 200 || !parsed) fail_setup("seeded login failed");
    std::pair<std::string, std::string> tokens{std::string(parsed->refresh_token.reveal()),
                                               std::string(parsed->access_token.reveal())};
    return tokens;
  }

  std::pair<std::string, std::string> login_email(std::string_view who, std::string_view pw) {
    nlohmann::json fields = {{"username", who}, {"password", pw}};
    std::string text = fields.dump();
    return login("local-userpass", text.substr(1, text.size() - 2));
  }

  void relogin() {
    auto tokens = login_email(email, password);
    refresh = tokens.first;
    access = tokens.second;
    remember(refresh);
    remember(access);
  }

  void relogin_api_key() {
    auto tokens = login("api-key", R"("key":")" + key_value + '"');
    api_refresh = tokens.first;
    remember(api_refresh);
    remember(tokens.second);
  }

  void relogin_anon() {
    auto tokens = login("anon-user", "");
    anon_refresh = tokens.first;
    remember(anon_refresh);
    remember(tokens.second);
  }

  /// (id, value) of a new key.
  std::pair<std::string, std::string> create_key(const std::string& bearer, std::string name) {
    auto response = backend_->handle(
        make(HttpMethod::post, routes::api_keys(), wire::create_key_body(name), bearer));
    auto key = wire::parse_api_key(response.body, "seed", response.status);
    if (response.status != 201 || !key || !key->key) fail_setup("seeded key creation failed");
    return {key->id.to_hex(), std::string(key->key->reveal())};
  }

  std::optional<std::vector<appkeys::ApiKey>> get_keys(const std::string& bearer) {
    auto response = backend_->handle(make(HttpMethod::get, routes::api_keys(), {}, bearer));
    if (response.status != 200) return std::nullopt;
    auto keys = wire::parse_api_key_list(response.body, "seed", response.status);
    if (!keys) fail_setup("the key list does not parse");
    return std::move(keys).value();
  }

  std::unique_ptr<FuzzBackend> backend_;
  std::size_t full_count_ = 0;
  std::size_t key_generation_ = 0;
};

std::string expand(std::string_view input, const Seeded& seeded) {
  struct Placeholder {
    std::string_view name;
    const std::string* value;
  };
  const std::string password_text(password);
  // Longest names first would matter only if one were a prefix of another; none is.
  const Placeholder placeholders[] = {
      {"$REFRESH", &seeded.refresh},        {"$ACCESS", &seeded.access},
      {"$KEYID", &seeded.key_id},           {"$APIKEY", &seeded.key_value},
      {"$APIREFRESH", &seeded.api_refresh}, {"$ANONREFRESH", &seeded.anon_refresh},
      {"$PASSWORD", &password_text},
  };
  std::string out;
  out.reserve(input.size() + 256);
  for (std::size_t i = 0; i < input.size();) {
    bool replaced = false;
    if (input[i] == '$') {
      for (const auto& placeholder : placeholders) {
        if (input.substr(i, placeholder.name.size()) == placeholder.name) {
          out += *placeholder.value;
          i += placeholder.name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += input[i++];
  }
  return out;
}

HttpRequest frame(std::string_view text) {
  HttpRequest request;
  auto next_line = [&text]() {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  };
  std::string_view first = next_line();
  const std::size_t space = first.find(' ');
  const std::string_view word = first.substr(0, space);
  request.url =
      space == std::string_view::npos ? std::string() : std::string(first.substr(space + 1));
  if (word == "GET") {
    request.method = HttpMethod::get;
  } else if (word == "POST") {
    request.method = HttpMethod::post;
  } else if (word == "PUT") {
    request.method = HttpMethod::put;
  } else if (word == "DELETE") {
    request.method = HttpMethod::del;
  } else {
    const unsigned byte = word.empty() ? 0u : static_cast<unsigned char>(word.front());
    request.method = static_cast<HttpMethod>(byte % 4);
  }
  while (!text.empty()) {
    std::string_view line = next_line();
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value =
        colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.headers.emplace(std::string(name), std::string(value));
  }
  request.body = std::string(text);
  return request;
}

// ------------------------------------------------------------------------------------
// The oracle's own reading of the URL and the route (written apart from the router).

struct Target {
  std::string origin;
  std::string path;
};

Target split(const HttpRequest& request) {
  const std::string_view url = request.url;
  Target out;
  // Absolute only when the scheme is http(s) in any case and a host is named (an empty
  // host, "http://:80", is a relative path to the router, as to a real transport).
  const std::size_t scheme =
      appkeys_fuzz::is_http_url_with_host(url) ? appkeys_fuzz::http_prefix(url) : 0;
  std::string_view rest = url;
  if (scheme != 0) {
    const std::size_t end = url.find_first_of("/?#", scheme);
    const std::size_t authority = (end == std::string_view::npos ? url.size() : end) - scheme;
    if (authority > 0) {
      out.origin = std::string(url.substr(0, scheme + authority));
      rest = end == std::string_view::npos ? std::string_view() : url.substr(end);
      if (!rest.empty() && rest.front() != '/') rest = {};
      out.path = std::string(rest.substr(0, rest.find_first_of("?#")));
      if (out.path.empty()) out.path = "/";
      return out;
    }
  }
  out.path = std::string(url.substr(0, url.find_first_of("?#")));
  if (out.path.empty()) out.path = "/";
  // The Host header counts only when it names a host and nothing more.
  auto host = appkeys::header_value(request.headers, "Host");
  const bool names_host = host && host->find_first_of("/?#") == std::string_view::npos &&
                          appkeys_fuzz::is_http_url_with_host("http://" + std::string(*host));
  out.origin = names_host ? "http://" + std::string(*host) : "http://localhost";
  return out;
}

enum class Route {
  none,
  location,
  login,
  register_email,
  profile,
  session,
  keys,
  key,
  enable,
  disable
};

struct RouteMatch {
  Route route = Route::none;
  std::string app;
};

RouteMatch classify(std::string_view path) {
  const std::string root(routes::api_root);
  auto eat = [&path](std::string_view prefix) {
    if (path.substr(0, prefix.size()) != prefix) return false;
    path.remove_prefix(prefix.size());
    return true;
  };
  if (!eat(root)) return {};
  if (path == "/auth/profile") return {Route::profile, {}};
  if (path == "/auth/session") return {Route::session, {}};
  if (path == "/auth/api_keys") return {Route::keys, {}};
  if (eat("/auth/api_keys/")) {
    if (path.empty()) return {};
    const std::size_t slash = path.find('/');
    if (slash == std::string_view::npos) return {Route::key, {}};
    const std::string_view tail = path.substr(slash);
    if (tail == "/enable") return {Route::enable, {}};
    if (tail == "/disable") return {Route::disable, {}};
    return {};
  }
  if (!eat("/app/")) return {};
  const std::size_t slash = path.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  RouteMatch out{Route::none, std::string(path.substr(0, slash))};
  path.remove_prefix(slash);
  if (path == "/location") {
    out.route = Route::location;
  } else if (path == "/auth/providers/local-userpass/register") {
    out.route = Route::register_email;
  } else if (eat("/auth/providers/")) {
    const std::size_t end = path.find('/');
    if (end != 0 && end != std::string_view::npos && path.substr(end) == "/login") {
      out.route = Route::login;
    }
  }
  return out;
}

bool method_allowed(Route route, HttpMethod method) {
  switch (route) {
    case Route::location:
    case Route::profile:
      return method == HttpMethod::get;
    case Route::login:
    case Route::register_email:
      return method == HttpMethod::post;
    case Route::session:
      return method == HttpMethod::post || method == HttpMethod::del;
    case Route::keys:
      return method == HttpMethod::get || method == HttpMethod::post;
    case Route::key:
      return method == HttpMethod::get || method == HttpMethod::del;
    case Route::enable:
    case Route::disable:
      return method == HttpMethod::put;
    case Route::none:
      return false;
  }
  return false;
}

std::string describe(const HttpRequest& request, const HttpResponse& response) {
  std::string text(appkeys::to_string(request.method));
  text += ' ';
  text += request.url;
  text += " -> ";
  text += std::to_string(response.status);
  text += ' ';
  text += response.body.substr(0, 600);
  return text;
}

void check_response(Seeded& seeded, const HttpRequest& request, const HttpResponse& response) {
  const std::string what = describe(request, response);
  const int status = response.status;
  APPKEYS_FUZZ_CHECK(status >= 100 && status <= 599, what);

  const auto content_type = appkeys::header_value(response.headers, "Content-Type");
  if (status == 204) {
    APPKEYS_FUZZ_CHECK(!content_type.has_value(), what);
    APPKEYS_FUZZ_CHECK(response.body.empty(), what);
  }
  if (!response.body.empty()) APPKEYS_FUZZ_CHECK(content_type.has_value(), what);
  const bool json_body = content_type && content_type->rfind("application/json", 0) == 0;
  if (json_body) APPKEYS_FUZZ_CHECK(nlohmann::json::accept(response.body), what);

  // No secret comes back unless the request put it where the server echoes it.
  const Target target = split(request);
  std::string name;
  if (auto body = appkeys_fuzz::oracle_parse(request.body)) {
    if (const std::string* text = appkeys_fuzz::oracle_string(*body, "name")) name = *text;
  }
  auto echoed = [&](const std::string& secret) {
    if (contains(target.origin, secret) || contains(name, secret)) return true;
    for (const auto& stored : seeded.secret_names) {
      if (contains(stored, secret)) return true;
    }
    return false;
  };
  for (const auto& secret : seeded.secrets) {
    if (echoed(secret)) continue;
    APPKEYS_FUZZ_CHECK(!contains(response.body, secret), what);
    for (const auto& [header, value] : response.headers) {
      APPKEYS_FUZZ_CHECK(!contains(value, secret), what);
    }
  }

  // Errors, as the client reads them.
  if (!appkeys::detail::is_success(status) && json_body) {
    const appkeys::AppError error = appkeys::detail::error_from_response(response, "fuzz request");
    APPKEYS_FUZZ_CHECK(error.value() != appkeys::errc::http_error, what);
    appkeys_fuzz::check_error_is_clean(error, 1024);
    for (const auto& secret : seeded.secrets) {
      APPKEYS_FUZZ_CHECK(!contains(error.what(), secret), what);
      APPKEYS_FUZZ_CHECK(!contains(error.link(), secret) || echoed(secret), what);
    }
  }

  const RouteMatch match = classify(target.path);
  if (match.route == Route::none) {
    APPKEYS_FUZZ_CHECK(status == 404 && response.body == "404 page not found", what);
    return;
  }
  if (!method_allowed(match.route, request.method)) {
    APPKEYS_FUZZ_CHECK(status == 405, what);
    return;
  }
  if (request.body.size() > seeded.backend().options().max_body_bytes) {
    APPKEYS_FUZZ_CHECK(status == 413, what);
    return;
  }
  const bool app_scoped = match.route == Route::location || match.route == Route::login ||
                          match.route == Route::register_email;
  if (app_scoped && match.app != app_id) {
    APPKEYS_FUZZ_CHECK(status == 404 && json_body, what);
    return;
  }
  const bool authenticated = !app_scoped;
  if (authenticated && !appkeys::header_value(request.headers, "Authorization")) {
    APPKEYS_FUZZ_CHECK(status == 401, what);
  }
  const auto bearer = appkeys::header_value(request.headers, "Authorization");
  const bool restricted_session = bearer && (*bearer == "Bearer " + seeded.api_refresh ||
                                             *bearer == "Bearer " + seeded.anon_refresh);

  if (!appkeys::detail::is_success(status)) return;
  const std::string_view body = response.body;
  switch (match.route) {
    case Route::location: {
      auto location = wire::parse_location(body, status);
      APPKEYS_FUZZ_CHECK(status == 200 && location.has_value(), what);
      break;
    }
    case Route::login: {
      auto login = wire::parse_login_response(body, status);
      APPKEYS_FUZZ_CHECK(status == 200 && login.has_value(), what);
      break;
    }
    case Route::register_email:
      APPKEYS_FUZZ_CHECK(status == 201 && body == "{}", what);
      break;
    case Route::profile: {
      auto profile = wire::parse_profile(body, status);
      APPKEYS_FUZZ_CHECK(status == 200 && profile.has_value(), what);
      // $ACCESS is the only access token the fuzzer can hold.
      APPKEYS_FUZZ_CHECK(profile->user_id == seeded.user_id, what);
      break;
    }
    case Route::session:
      if (request.method == HttpMethod::post) {
        APPKEYS_FUZZ_CHECK(status == 201 && wire::parse_refresh_response(body, status).has_value(),
                           what);
      } else {
        APPKEYS_FUZZ_CHECK(status == 204, what);
      }
      break;
    case Route::keys:
      if (request.method == HttpMethod::post) {
        APPKEYS_FUZZ_CHECK(!restricted_session, what);
        auto key = wire::parse_api_key(body, "create", status);
        APPKEYS_FUZZ_CHECK(status == 201 && key.has_value(), what);
        APPKEYS_FUZZ_CHECK(key->key && key->key->size() == 64 && key->name == name, what);
        APPKEYS_FUZZ_CHECK(key->id.to_hex() != seeded.other_key_id, what);
        bool holds_secret = false;
        for (const auto& secret : seeded.secrets)
          holds_secret = holds_secret || contains(name, secret);
        if (holds_secret) seeded.secret_names.push_back(name);
      } else {
        auto keys = wire::parse_api_key_list(body, "list", status);
        APPKEYS_FUZZ_CHECK(status == 200 && keys.has_value(), what);
        APPKEYS_FUZZ_CHECK(keys->size() <= max_keys, what);
        for (const auto& key : *keys) {
          APPKEYS_FUZZ_CHECK(!key.key.has_value(), what);
          APPKEYS_FUZZ_CHECK(key.id.to_hex() != seeded.other_key_id, what);
        }
      }
      break;
    case Route::key:
      if (request.method == HttpMethod::get) {
        auto key = wire::parse_api_key(body, "fetch", status);
        APPKEYS_FUZZ_CHECK(status == 200 && key.has_value() && !key->key.has_value(), what);
        APPKEYS_FUZZ_CHECK(key->id.to_hex() != seeded.other_key_id, what);
      } else {
        APPKEYS_FUZZ_CHECK(status == 204, what);
      }
      break;
    case Route::enable:
    case Route::disable:
      APPKEYS_FUZZ_CHECK(status == 204, what);
      break;
    case Route::none:
      break;
  }
}

std::size_t reset_interval() {
  const char* text = std::getenv("APPKEYS_FUZZ_BACKEND_RESET");
  if (text == nullptr || *text == '\0') return 50000;
  return static_cast<std::size_t>(std::strtoull(text, nullptr, 10));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Seeded seeded;
  static const std::size_t interval = reset_interval();
  static std::size_t inputs = 0;
  static const bool verbose = std::getenv("APPKEYS_FUZZ_VERBOSE") != nullptr;
  if (interval != 0 && ++inputs % interval == 0) seeded.reset();

  const HttpRequest request = frame(expand(appkeys_fuzz::as_text(data, size), seeded));
  const HttpResponse response = seeded.backend().handle(request);
  // For checking that corpus entries reach the routes they are meant for.
  if (verbose) std::fprintf(stderr, "%s\n", describe(request, response).substr(0, 300).c_str());
  check_response(seeded, request, response);
  if (request.method != HttpMethod::get) seeded.repair();
  return 0;
}
