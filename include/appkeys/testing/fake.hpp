// appkeys — FakeBackend and FakeTransport: the whole server of PROTOCOL.md, in memory.
//
// The hosted service is gone (PROTOCOL.md §1), so this model is the reference peer: the
// client's tests run against it, and testing::LocalServer serves it over real HTTP.
// Everything it answers is built from the shared protocol code (detail::routes,
// detail::wire, detail::server_code_string), so the server cannot drift from the client.
#pragma once

#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/base64.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/detail/sha256.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/result.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/user.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace appkeys::testing {

/// How a FakeBackend behaves where PROTOCOL.md leaves a choice.
///
/// Thread safety: a value type; FakeBackend keeps its own copy.
struct FakeBackendOptions {
  /// Empty: serve any app id. Otherwise app-scoped routes naming another app get 404.
  std::string app_id;
  /// How long an access token is accepted (its `exp` claim).
  std::chrono::seconds access_token_lifetime{30 * 60};
  /// How long a refresh token, and so a session, is accepted.
  std::chrono::seconds refresh_token_lifetime{60 * 24 * 3600};
  /// The documented per-user limit; the next create is refused with 400.
  std::size_t max_keys_per_user = 20;
  /// Longer key names are refused with 400 InvalidParameter (PROTOCOL.md §6).
  std::size_t max_key_name_bytes = 256;
  /// Larger request bodies are refused with 413 before they are parsed.
  std::size_t max_body_bytes = 1 << 20;
  /// Live sessions kept at most; a login past it ends the oldest session (its client
  /// gets 401 and is logged out), so a long-running `appkeys serve` that a client
  /// floods with logins stays bounded. An anonymous user goes with its last session:
  /// nothing could ever log in as it again (App Services deletes them likewise).
  std::size_t max_sessions = 100'000;
  /// Entries request_log() keeps, newest last; request_count() still counts them all.
  std::size_t request_log_limit = 10'000;
};

namespace fake_detail {

struct UrlParts {
  std::string origin;  // "scheme://authority": the location answer and error links name it
  std::string path;    // without query or fragment: routing and the request log ignore them
};

/// nullopt unless `url` is absolute http:// or https:// with a non-empty authority, as
/// a real transport would demand.
inline std::optional<UrlParts> split_http_url(std::string_view url) {
  std::size_t scheme_end = 0;
  if (url.rfind("http://", 0) == 0) {
    scheme_end = 7;
  } else if (url.rfind("https://", 0) == 0) {
    scheme_end = 8;
  } else {
    return std::nullopt;
  }
  const std::size_t authority_end = url.find_first_of("/?#", scheme_end);
  const std::string_view authority =
      url.substr(scheme_end, authority_end == std::string_view::npos ? std::string_view::npos
                                                                     : authority_end - scheme_end);
  if (authority.empty()) return std::nullopt;
  UrlParts parts;
  parts.origin = std::string(url.substr(0, scheme_end + authority.size()));
  if (authority_end != std::string_view::npos && url[authority_end] == '/') {
    const std::string_view rest = url.substr(authority_end);
    parts.path = std::string(rest.substr(0, rest.find_first_of("?#")));
  } else {
    parts.path = "/";
  }
  return parts;
}

/// split_http_url(url).has_value(), without building the parts: FakeTransport checks
/// every request's URL, and the backend splits it again anyway.
inline bool is_absolute_http_url(std::string_view url) noexcept {
  std::size_t scheme_end = 0;
  if (url.rfind("http://", 0) == 0) {
    scheme_end = 7;
  } else if (url.rfind("https://", 0) == 0) {
    scheme_end = 8;
  } else {
    return false;
  }
  // The authority runs up to the first '/', '?' or '#': non-empty iff the character
  // right after the scheme is none of them.
  return url.size() > scheme_end && url[scheme_end] != '/' && url[scheme_end] != '?' &&
         url[scheme_end] != '#';
}

inline bool starts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.substr(0, prefix.size()) == prefix;
}

/// Characters, not bytes: the password limits are stated in characters, and a
/// multi-byte UTF-8 password must not be refused for being "long".
inline std::size_t utf8_length(std::string_view text) noexcept {
  std::size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

inline bool is_key_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

}  // namespace fake_detail

/// The server of PROTOCOL.md (locations, logins, registration, sessions, profiles and
/// the six user API key routes), in memory, reached through HTTP-shaped requests.
///
/// Nothing secret is stored in clear: key values, passwords and tokens are kept only as
/// SHA-256 hashes (passwords salted), so debug_dump() can prove it. The clock is the
/// system clock plus an offset that advance_clock() moves, so token `exp` claims look
/// real while tests can still expire them at will.
///
/// Thread safety: every member function may be called concurrently; one mutex
/// serializes them, so each request sees and leaves a consistent state.
class FakeBackend {
 public:
  FakeBackend() : FakeBackend(FakeBackendOptions{}) {}
  /// A server with no users, behaving as `options` says.
  explicit FakeBackend(FakeBackendOptions options) : options_(std::move(options)) {}

  FakeBackend(const FakeBackend&) = delete;
  FakeBackend& operator=(const FakeBackend&) = delete;

  /// The options it was built with; fixed for its lifetime, so no lock is needed (an
  /// HTTP skin reads max_body_bytes to refuse oversized bodies before buffering them).
  const FakeBackendOptions& options() const noexcept { return options_; }

  /// Adds an email/password user and returns its id (24 hex). An existing email gets
  /// the new password and keeps its id (and its keys and sessions).
  std::string add_email_user(std::string_view email, std::string_view password) {
    std::lock_guard lock(mutex_);
    if (auto it = email_index_.find(email); it != email_index_.end()) {
      UserRecord& user = users_.find(it->second)->second;
      set_password(user, password);
      return user.id;
    }
    UserRecord& user = create_user(email_provider());
    user.email = std::string(email);
    set_password(user, password);
    email_index_.emplace(user.email, user.id);
    return user.id;
  }

  /// A disabled user cannot log in (401 UserDisabled), and disabling ends every
  /// session the user has, as the hosted service did. Throws std::invalid_argument for
  /// an unknown id, so a typo in a test cannot pass silently.
  void set_user_disabled(std::string_view user_id, bool disabled) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    if (it == users_.end()) {
      APPKEYS_THROW(std::invalid_argument("FakeBackend::set_user_disabled: unknown user id"));
    }
    it->second.disabled = disabled;
    if (disabled) revoke_user_sessions(it->second.id);
  }

  /// Answers one request, routing on its method and URL path. `request.url` should be
  /// absolute; a bare path is accepted too, its origin then taken from the Host header
  /// (or "http://localhost"), so an HTTP skin may pass either.
  HttpResponse handle(const HttpRequest& request) {
    Call call{request, {}, {}};
    if (auto parts = fake_detail::split_http_url(request.url)) {
      call.origin = std::move(parts->origin);
      call.path = std::move(parts->path);
    } else {
      const std::string_view url = request.url;
      call.path = std::string(url.substr(0, url.find_first_of("?#")));
      if (call.path.empty()) call.path = "/";
      auto host = header_value(request.headers, "Host");
      call.origin = host && !host->empty() ? "http://" + std::string(*host) : "http://localhost";
    }
    std::lock_guard lock(mutex_);
    ++request_count_;
    std::string entry(to_string(request.method));
    entry += ' ';
    entry += call.path;
    if (options_.request_log_limit == 0) return dispatch(call);
    if (request_log_.size() >= options_.request_log_limit) request_log_.pop_front();
    request_log_.push_back(std::move(entry));
    return dispatch(call);
  }

  // ------------------------------------------------------------------------------
  // Test controls

  /// Moves the backend's clock forward; tokens expire by this clock.
  void advance_clock(std::chrono::seconds by) {
    std::lock_guard lock(mutex_);
    clock_offset_ += by;
  }

  /// Every access token issued so far is expired from now on; refresh tokens are not.
  void expire_access_tokens() {
    std::lock_guard lock(mutex_);
    std::erase_if(tokens_,
                  [](const auto& entry) { return entry.second.kind == TokenKind::access; });
  }

  /// Ends every session of `user_id`: its refresh and access tokens become invalid.
  void revoke_sessions(std::string_view user_id) {
    std::lock_guard lock(mutex_);
    revoke_user_sessions(user_id);
  }

  /// Requests handled so far, whatever their outcome.
  std::size_t request_count() const {
    std::lock_guard lock(mutex_);
    return request_count_;
  }

  /// "METHOD /path" per request handled, oldest first: the last
  /// FakeBackendOptions::request_log_limit of them. Query strings, headers and bodies
  /// are left out: they may carry secrets.
  std::vector<std::string> request_log() const {
    std::lock_guard lock(mutex_);
    return {request_log_.begin(), request_log_.end()};
  }

  /// The user's current (undeleted) keys; 0 for an unknown user.
  std::size_t key_count(std::string_view user_id) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user_id);
    return it == users_.end() ? 0 : it->second.keys.size();
  }

  /// JSON text of the whole stored state: users (id, provider, email, disabled, the
  /// salted password hash, identities), their keys (id, name, disabled, key hash),
  /// session counts and token counts. Lets tests prove that no key value, password or
  /// token is stored in clear.
  std::string debug_dump() const {
    using detail::json;
    std::lock_guard lock(mutex_);
    std::map<std::string, std::size_t, std::less<>> sessions_per_user;
    for (const auto& [id, session] : sessions_) ++sessions_per_user[session.user_id];
    std::size_t access_tokens = 0;
    std::size_t refresh_tokens = 0;
    for (const auto& [hash, token] : tokens_) {
      ++(token.kind == TokenKind::access ? access_tokens : refresh_tokens);
    }

    json users = json::array();
    for (const auto& [id, user] : users_) {
      json keys = json::array();
      for (const auto& key : user.keys) {
        keys.push_back(json{{"_id", key.id.to_hex()},
                            {"name", key.name},
                            {"disabled", key.disabled},
                            {"key_sha256", key.key_hash}});
      }
      json identities = json::array();
      for (const auto& identity : identities_of(user)) {
        identities.push_back(json{{"id", identity.id}, {"provider_type", identity.provider_type}});
      }
      json entry = json::object();
      entry["id"] = user.id;
      entry["provider"] = user.provider;
      if (!user.email.empty()) entry["email"] = user.email;
      if (!user.password_hash.empty()) {
        entry["password_salt"] = user.password_salt;
        entry["password_sha256"] = user.password_hash;
      }
      entry["disabled"] = user.disabled;
      entry["identities"] = std::move(identities);
      entry["api_keys"] = std::move(keys);
      auto count = sessions_per_user.find(user.id);
      entry["sessions"] = count == sessions_per_user.end() ? 0 : count->second;
      users.push_back(std::move(entry));
    }
    json out = json::object();
    out["app_id"] = options_.app_id;
    out["clock_offset_seconds"] = clock_offset_.count();
    out["request_count"] = request_count_;
    out["sessions"] = sessions_.size();
    out["access_tokens"] = access_tokens;
    out["refresh_tokens"] = refresh_tokens;
    out["users"] = std::move(users);
    return detail::dump_json(out);
  }

 private:
  using Clock = std::chrono::system_clock;
  using TimePoint = Clock::time_point;
  using json = detail::json;

  /// Not in realm-core's table (PROTOCOL.md §6 leaves a foreign app id to us); an
  /// unknown string, so the client maps it to errc::app_server_error.
  static constexpr std::string_view app_not_found_code = "AppNotFound";

  struct KeyRecord {
    ObjectId id;
    std::string name;
    std::string key_hash;  // sha256_hex of the value; the value itself is never kept
    bool disabled = false;
  };

  struct UserRecord {
    std::string id;
    std::string provider;     // "local-userpass" or "anon-user"
    std::string identity_id;  // the id of the user's own identity in the profile
    std::string email;
    std::string password_salt;
    std::string password_hash;  // sha256_hex(salt + password)
    bool disabled = false;
    std::vector<KeyRecord> keys;                  // creation order
    std::vector<std::string> api_key_identities;  // key ids ever used to log in
  };

  struct SessionRecord {
    std::string user_id;
    std::string provider;  // how this session logged in
    std::string key_id;    // for "api-key" sessions
    std::string device_id;
    TimePoint refresh_expires_at;
  };

  enum class TokenKind { access, refresh };

  struct TokenRecord {
    TokenKind kind;
    std::uint64_t session_id;
    TimePoint expires_at;
  };

  enum class RouteKind {
    location,
    login,
    register_email,
    profile,
    session,
    api_keys,
    api_key,
    api_key_enable,
    api_key_disable,
  };

  struct Route {
    RouteKind kind;
    std::string app_id;    // app-scoped routes
    std::string provider;  // login
    std::string key_id;    // the path segment as sent, not yet validated
  };

  static Route make_route(RouteKind kind, std::string app_id = {}, std::string provider = {},
                          std::string key_id = {}) {
    return Route{kind, std::move(app_id), std::move(provider), std::move(key_id)};
  }

  /// One request being handled.
  struct Call {
    const HttpRequest& request;
    std::string origin;  // "scheme://host[:port]"
    std::string path;
  };

  static std::string_view email_provider() { return provider_name(AuthProvider::email_password); }
  static std::string_view anon_provider() { return provider_name(AuthProvider::anonymous); }
  static std::string_view api_key_provider() { return provider_name(AuthProvider::api_key); }

  // ------------------------------------------------------------------------------
  // Routing

  static std::optional<Route> match_route(std::string_view path) {
    namespace routes = detail::routes;
    using fake_detail::starts_with;
    if (path == routes::profile()) return make_route(RouteKind::profile);
    if (path == routes::session()) return make_route(RouteKind::session);
    const std::string keys = routes::api_keys();
    if (path == keys) return make_route(RouteKind::api_keys);
    if (starts_with(path, keys) && path.size() > keys.size() + 1 && path[keys.size()] == '/') {
      const std::string_view rest = path.substr(keys.size() + 1);
      const std::string id(rest.substr(0, rest.find('/')));
      if (path == routes::api_key(id)) return make_route(RouteKind::api_key, {}, {}, id);
      if (path == routes::api_key_enable(id)) {
        return make_route(RouteKind::api_key_enable, {}, {}, id);
      }
      if (path == routes::api_key_disable(id)) {
        return make_route(RouteKind::api_key_disable, {}, {}, id);
      }
      return std::nullopt;
    }
    const std::string app_prefix = routes::join({routes::api_root, routes::app_segment});
    if (!starts_with(path, app_prefix)) return std::nullopt;
    const std::string_view rest = path.substr(app_prefix.size());
    const std::size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
    const std::string app(rest.substr(0, slash));
    if (path == routes::location(app)) return make_route(RouteKind::location, app);
    if (path == routes::register_email(app)) {
      return make_route(RouteKind::register_email, app);
    }
    const std::string providers =
        routes::join({routes::api_root, routes::app_segment, app, routes::providers_segment});
    if (!starts_with(path, providers)) return std::nullopt;
    const std::string_view tail = path.substr(providers.size());
    const std::size_t provider_end = tail.find('/');
    if (provider_end == 0 || provider_end == std::string_view::npos) return std::nullopt;
    const std::string provider(tail.substr(0, provider_end));
    if (path == routes::login(app, provider)) {
      return make_route(RouteKind::login, app, provider);
    }
    return std::nullopt;
  }

  static std::vector<HttpMethod> allowed_methods(RouteKind kind) {
    switch (kind) {
      case RouteKind::location:
      case RouteKind::profile:
        return {HttpMethod::get};
      case RouteKind::login:
      case RouteKind::register_email:
        return {HttpMethod::post};
      case RouteKind::session:
        return {HttpMethod::post, HttpMethod::del};
      case RouteKind::api_keys:
        return {HttpMethod::get, HttpMethod::post};
      case RouteKind::api_key:
        return {HttpMethod::get, HttpMethod::del};
      case RouteKind::api_key_enable:
      case RouteKind::api_key_disable:
        return {HttpMethod::put};
    }
    return {};
  }

  HttpResponse dispatch(const Call& call) {
    auto route = match_route(call.path);
    if (!route) return plain_text(404, "404 page not found");
    const auto methods = allowed_methods(route->kind);
    const HttpMethod method = call.request.method;
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
      HttpResponse response = plain_text(405, "405 method not allowed");
      std::string allow;
      for (HttpMethod m : methods) {
        if (!allow.empty()) allow += ", ";
        allow += to_string(m);
      }
      response.headers.emplace("Allow", std::move(allow));
      return response;
    }
    // Refused before anything looks at the body, as a server that stops reading would.
    if (call.request.body.size() > options_.max_body_bytes) {
      return error(call, 413, errc::read_size_limit_exceeded,
                   "request body exceeds the limit of " + std::to_string(options_.max_body_bytes) +
                       " bytes");
    }
    if (!route->app_id.empty() && !options_.app_id.empty() && route->app_id != options_.app_id) {
      return error(call, 404, app_not_found_code, "cannot find app using Client App ID");
    }
    switch (route->kind) {
      case RouteKind::location:
        return json_response(200, detail::wire::location_json(call.origin));
      case RouteKind::login:
        return log_in(call, route->provider);
      case RouteKind::register_email:
        return register_email(call);
      case RouteKind::profile:
        return profile(call);
      case RouteKind::session:
        return method == HttpMethod::post ? refresh_session(call) : log_out(call);
      case RouteKind::api_keys:
        return method == HttpMethod::post ? create_key(call) : list_keys(call);
      case RouteKind::api_key:
        return method == HttpMethod::get ? fetch_key(call, route->key_id)
                                         : delete_key(call, route->key_id);
      case RouteKind::api_key_enable:
        return set_key_disabled(call, route->key_id, false);
      case RouteKind::api_key_disable:
        return set_key_disabled(call, route->key_id, true);
    }
    return plain_text(404, "404 page not found");
  }

  // ------------------------------------------------------------------------------
  // Responses

  static HttpResponse json_response(int status, const json& body) {
    HttpResponse response;
    response.status = status;
    response.headers.emplace("Content-Type", "application/json");
    response.body = detail::dump_json(body);
    return response;
  }

  /// No Content-Type: an empty body labelled JSON breaks the official Web SDK (§3).
  static HttpResponse no_content() {
    HttpResponse response;
    response.status = 204;
    return response;
  }

  static HttpResponse plain_text(int status, std::string text) {
    HttpResponse response;
    response.status = status;
    response.headers.emplace("Content-Type", "text/plain; charset=utf-8");
    response.body = std::move(text);
    return response;
  }

  static HttpResponse error(const Call& call, int status, std::string_view code,
                            std::string_view message) {
    // A fresh correlation id per error, as the hosted service's log links had.
    const std::string link = call.origin + "/logs?co_id=" + detail::random_object_id().to_hex();
    return json_response(status, detail::wire::error_json(message, code, link));
  }

  static HttpResponse error(const Call& call, int status, errc code, std::string_view message) {
    return error(call, status, detail::server_code_string(code), message);
  }

  static HttpResponse invalid_session(const Call& call) {
    return error(call, 401, errc::invalid_session, "invalid session");
  }

  static HttpResponse key_not_found(const Call& call) {
    return error(call, 404, errc::api_key_not_found, "API key not found");
  }

  /// The body as a JSON object, or nullopt (→ 400 BadRequest) for anything else.
  static std::optional<json> object_body(const Call& call) {
    auto value = detail::parse_json(call.request.body);
    if (!value || !value->is_object()) return std::nullopt;
    return value;
  }

  static HttpResponse bad_body(const Call& call) {
    return error(call, 400, errc::bad_request, "request body must be a JSON object");
  }

  // ------------------------------------------------------------------------------
  // Clock, users, tokens and sessions (all called with mutex_ held)

  TimePoint now() const { return Clock::now() + clock_offset_; }

  static std::int64_t epoch_seconds(TimePoint time) {
    return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
  }

  std::string fresh_id() const {
    for (;;) {
      std::string id = detail::random_object_id().to_hex();
      if (users_.find(id) == users_.end() && key_owner_.find(id) == key_owner_.end()) return id;
    }
  }

  UserRecord& create_user(std::string_view provider) {
    UserRecord user;
    user.id = fresh_id();
    user.provider = std::string(provider);
    user.identity_id = detail::random_object_id().to_hex();
    const std::string id = user.id;
    return users_.emplace(id, std::move(user)).first->second;
  }

  static void set_password(UserRecord& user, std::string_view password) {
    user.password_salt = detail::random_object_id().to_hex();
    std::string salted = user.password_salt;
    salted += password;
    user.password_hash = detail::sha256_hex(salted);
    wipe(salted);
  }

  static bool password_matches(const UserRecord& user, std::string_view password) {
    if (user.password_hash.empty()) return false;
    std::string salted = user.password_salt;
    salted += password;
    const std::string hash = detail::sha256_hex(salted);
    wipe(salted);
    return Secret::constant_time_equal(hash, user.password_hash);
  }

  /// Overwrites a temporary copy of a secret before it is freed.
  static void wipe(std::string& text) noexcept {
    volatile char* bytes = text.data();
    for (std::size_t i = 0; i < text.size(); ++i) bytes[i] = 0;
  }

  static std::vector<UserIdentity> identities_of(const UserRecord& user) {
    std::vector<UserIdentity> out;
    out.push_back(UserIdentity{user.identity_id, user.provider});
    for (const auto& key_id : user.api_key_identities) {
      out.push_back(UserIdentity{key_id, std::string(api_key_provider())});
    }
    return out;
  }

  UserRecord* find_user(std::string_view id) {
    auto it = users_.find(id);
    return it == users_.end() ? nullptr : &it->second;
  }

  /// The key `id_text` of user `user_id`; nullptr if the text is not 24 hex, the key is
  /// unknown or it belongs to someone else (indistinguishable on purpose: §6).
  KeyRecord* find_key(const std::string& user_id, std::string_view id_text) {
    auto id = ObjectId::from_hex(id_text);
    if (!id) return nullptr;
    auto owner = key_owner_.find(id->to_hex());
    if (owner == key_owner_.end() || owner->second != user_id) return nullptr;
    UserRecord* user = find_user(user_id);
    if (user == nullptr) return nullptr;
    for (auto& key : user->keys) {
      if (key.id == *id) return &key;
    }
    return nullptr;
  }

  std::string issue_token(TokenKind kind, std::uint64_t session_id, const SessionRecord& session) {
    const TimePoint issued = now();
    const TimePoint expires =
        issued + (kind == TokenKind::access ? options_.access_token_lifetime
                                            : options_.refresh_token_lifetime);
    const json header = {{"alg", "HS256"}, {"typ", "JWT"}};
    json payload = json::object();
    payload["baas_device_id"] = session.device_id;
    payload["exp"] = epoch_seconds(expires);
    payload["iat"] = epoch_seconds(issued);
    payload["sub"] = session.user_id;
    payload["typ"] = kind == TokenKind::access ? "access" : "refresh";
    // The signature is random bytes: nothing verifies it but this backend, which looks
    // tokens up by hash, and randomness makes every token unique.
    std::string token = detail::base64url_encode(detail::dump_json(header));
    token += '.';
    token += detail::base64url_encode(detail::dump_json(payload));
    token += '.';
    token += detail::base64url_encode(detail::random_bytes(32));
    sweep_if_needed();
    tokens_[detail::sha256_hex(token)] = TokenRecord{kind, session_id, expires};
    return token;
  }

  /// Drops expired tokens and sessions now and then, so a long-running local server
  /// does not grow without bound.
  void sweep_if_needed() {
    if (tokens_.size() < sweep_threshold_) return;
    const TimePoint current = now();
    std::vector<std::uint64_t> expired;
    for (const auto& [id, session] : sessions_) {
      if (session.refresh_expires_at <= current) expired.push_back(id);
    }
    end_sessions(expired);
    std::erase_if(tokens_, [&](const auto& entry) { return entry.second.expires_at <= current; });
    sweep_threshold_ = std::max<std::size_t>(1024, 2 * tokens_.size());
  }

  struct Login {
    std::string access_token;
    std::string refresh_token;
  };

  Login start_session(std::string user_id, std::string_view provider, std::string key_id,
                      std::string device_id) {
    while (options_.max_sessions > 0 && sessions_.size() >= options_.max_sessions) {
      end_sessions({sessions_.begin()->first});  // ids grow: the first is the oldest
    }
    const std::uint64_t id = next_session_id_++;
    SessionRecord& session = sessions_[id];
    session.user_id = std::move(user_id);
    session.provider = std::string(provider);
    session.key_id = std::move(key_id);
    session.device_id = std::move(device_id);
    session.refresh_expires_at = now() + options_.refresh_token_lifetime;
    Login login;
    login.refresh_token = issue_token(TokenKind::refresh, id, session);
    login.access_token = issue_token(TokenKind::access, id, session);
    return login;
  }

  void end_sessions(const std::vector<std::uint64_t>& ids) {
    if (ids.empty()) return;
    std::vector<std::string> anonymous_owners;
    for (auto id : ids) {
      auto session = sessions_.find(id);
      if (session == sessions_.end()) continue;
      if (session->second.provider == anon_provider()) {
        anonymous_owners.push_back(session->second.user_id);
      }
      sessions_.erase(session);
    }
    // One pass, linear in the tokens however many sessions ended (a sweep may end many).
    std::erase_if(tokens_, [&](const auto& entry) {
      return sessions_.find(entry.second.session_id) == sessions_.end();
    });
    for (const auto& user_id : anonymous_owners) remove_if_unreachable_anonymous(user_id);
  }

  /// An anonymous user has no credentials and cannot own keys: once its last session
  /// is gone nobody can ever reach it again, so it is dropped rather than kept forever.
  void remove_if_unreachable_anonymous(const std::string& user_id) {
    auto user = users_.find(user_id);
    if (user == users_.end() || user->second.provider != anon_provider()) return;
    if (!user->second.keys.empty()) return;
    for (const auto& [id, session] : sessions_) {
      if (session.user_id == user_id) return;
    }
    users_.erase(user);
  }

  void revoke_user_sessions(std::string_view user_id) {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, session] : sessions_) {
      if (session.user_id == user_id) ids.push_back(id);
    }
    end_sessions(ids);
  }

  /// The session id behind the request's bearer token of the required kind; nullopt
  /// for a missing or malformed header, an unknown, revoked or expired token, or a
  /// token of the other kind (all the same 401 to the caller).
  std::optional<std::uint64_t> authenticate(const Call& call, TokenKind required) const {
    auto header = header_value(call.request.headers, "Authorization");
    if (!header) return std::nullopt;
    constexpr std::string_view scheme = "bearer ";
    if (header->size() <= scheme.size() ||
        !detail::iequals(header->substr(0, scheme.size()), scheme)) {
      return std::nullopt;
    }
    std::string_view token = header->substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return std::nullopt;
    auto found = tokens_.find(detail::sha256_hex(token));
    if (found == tokens_.end() || found->second.kind != required) return std::nullopt;
    const TimePoint current = now();
    if (found->second.expires_at <= current) return std::nullopt;
    auto session = sessions_.find(found->second.session_id);
    if (session == sessions_.end() || session->second.refresh_expires_at <= current) {
      return std::nullopt;
    }
    auto user = users_.find(session->second.user_id);
    if (user == users_.end() || user->second.disabled) return std::nullopt;
    return found->second.session_id;
  }

  /// The `$oid` of `options.device.deviceId` when it is a usable id, else a new one: the
  /// client sends back the id it was given, and the server keeps it.
  static std::string device_id_from(const json& body) {
    namespace field = detail::wire::field;
    auto member = [](const json* object, const char* name) -> const json* {
      if (object == nullptr || !object->is_object()) return nullptr;
      auto it = object->find(name);
      return it == object->end() ? nullptr : &*it;
    };
    const json* device_id =
        member(member(member(&body, field::options), field::device), "deviceId");
    if (device_id != nullptr) {
      if (const std::string* text = detail::string_member(*device_id, field::oid)) {
        if (auto id = ObjectId::from_hex(*text); id && !id->is_zero()) return id->to_hex();
      }
    }
    return detail::random_object_id().to_hex();
  }

  // ------------------------------------------------------------------------------
  // Handlers (called with mutex_ held)

  HttpResponse log_in(const Call& call, const std::string& provider) {
    namespace field = detail::wire::field;
    if (provider != email_provider() && provider != anon_provider() &&
        provider != api_key_provider()) {
      return error(call, 404, errc::auth_provider_not_found, "authentication provider not found");
    }
    auto body = object_body(call);
    if (!body) return bad_body(call);

    std::string user_id;
    std::string key_id;
    if (provider == email_provider()) {
      const std::string* username = detail::string_member(*body, field::username);
      const std::string* password = detail::string_member(*body, field::password);
      if (username == nullptr || password == nullptr) {
        return error(call, 400, errc::missing_parameter,
                     "'username' and 'password' are required strings");
      }
      auto entry = email_index_.find(*username);
      UserRecord* user = entry == email_index_.end() ? nullptr : find_user(entry->second);
      if (user == nullptr || !password_matches(*user, *password)) {
        return error(call, 401, errc::invalid_password, "invalid username/password");
      }
      if (user->disabled) return error(call, 401, errc::user_disabled, "user is disabled");
      user_id = user->id;
    } else if (provider == anon_provider()) {
      user_id = create_user(anon_provider()).id;
    } else {
      const std::string* key = detail::string_member(*body, field::key);
      if (key == nullptr)
        return error(call, 400, errc::missing_parameter, "'key' is a required string");
      auto entry = key_hash_index_.find(detail::sha256_hex(*key));
      if (entry == key_hash_index_.end()) return error(call, 401, errc::auth_error, "unauthorized");
      const std::string owner_id = key_owner_.at(entry->second);
      KeyRecord* record = find_key(owner_id, entry->second);
      if (record == nullptr || record->disabled) {
        return error(call, 401, errc::auth_error, "unauthorized");
      }
      UserRecord* owner = find_user(owner_id);
      if (owner->disabled) return error(call, 401, errc::user_disabled, "user is disabled");
      key_id = record->id.to_hex();
      auto& seen = owner->api_key_identities;
      if (std::find(seen.begin(), seen.end(), key_id) == seen.end()) seen.push_back(key_id);
      user_id = owner->id;
    }

    std::string device_id = device_id_from(*body);
    Login login = start_session(user_id, provider, std::move(key_id), device_id);
    return json_response(200, detail::wire::login_response_json(
                                  login.access_token, login.refresh_token, user_id, device_id));
  }

  HttpResponse register_email(const Call& call) {
    namespace field = detail::wire::field;
    auto body = object_body(call);
    if (!body) return bad_body(call);
    const std::string* email = detail::string_member(*body, field::email);
    const std::string* password = detail::string_member(*body, field::password);
    if (email == nullptr || email->empty() || password == nullptr) {
      return error(call, 400, errc::missing_parameter,
                   "'email' and 'password' are required strings");
    }
    const std::size_t length = fake_detail::utf8_length(*password);
    if (length < 6 || length > 128) {
      return error(call, 400, errc::bad_request, "password must be between 6 and 128 characters");
    }
    if (email_index_.find(*email) != email_index_.end()) {
      return error(call, 409, errc::account_name_in_use, "name already in use");
    }
    UserRecord& user = create_user(email_provider());
    user.email = *email;
    set_password(user, *password);
    email_index_.emplace(user.email, user.id);
    return json_response(201, json::object());
  }

  HttpResponse profile(const Call& call) {
    auto session_id = authenticate(call, TokenKind::access);
    if (!session_id) return invalid_session(call);
    const UserRecord& user = *find_user(sessions_.at(*session_id).user_id);
    json data = json::object();
    if (!user.email.empty()) data[detail::wire::field::email] = user.email;
    return json_response(200, detail::wire::profile_json(user.id, identities_of(user), data));
  }

  HttpResponse refresh_session(const Call& call) {
    auto session_id = authenticate(call, TokenKind::refresh);
    if (!session_id) return invalid_session(call);
    const std::string access =
        issue_token(TokenKind::access, *session_id, sessions_.at(*session_id));
    return json_response(201, detail::wire::refresh_response_json(access));
  }

  HttpResponse log_out(const Call& call) {
    auto session_id = authenticate(call, TokenKind::refresh);
    if (!session_id) return invalid_session(call);
    end_sessions({*session_id});
    return no_content();
  }

  HttpResponse create_key(const Call& call) {
    auto session_id = authenticate(call, TokenKind::refresh);
    if (!session_id) return invalid_session(call);
    const SessionRecord& session = sessions_.at(*session_id);
    if (session.provider == anon_provider() || session.provider == api_key_provider()) {
      return error(call, 403, errc::invalid_parameter,
                   "API keys cannot be created by a user logged in with the '" + session.provider +
                       "' provider");
    }
    auto body = object_body(call);
    if (!body) return bad_body(call);
    const std::string* name = detail::string_member(*body, detail::wire::field::name);
    if (name == nullptr || name->empty()) {
      // The hosted service sent this one without an error_code (PROTOCOL.md §6).
      return json_response(400, detail::wire::error_json("'name' is a required string."));
    }
    if (!std::all_of(name->begin(), name->end(), fake_detail::is_key_name_char)) {
      return error(call, 400, errc::invalid_parameter,
                   "API key name can only contain ASCII letters, numbers, underscores, and "
                   "hyphens.");
    }
    if (name->size() > options_.max_key_name_bytes) {
      return error(call, 400, errc::invalid_parameter,
                   "API key name must not be longer than " +
                       std::to_string(options_.max_key_name_bytes) + " bytes");
    }
    UserRecord& user = *find_user(session.user_id);
    for (const auto& key : user.keys) {
      if (key.name == *name) {
        return error(call, 409, errc::api_key_already_exists, "API key with name already exists");
      }
    }
    if (user.keys.size() >= options_.max_keys_per_user) {
      return error(
          call, 400, errc::invalid_parameter,
          "a user can have at most " + std::to_string(options_.max_keys_per_user) + " API keys");
    }

    KeyRecord key;
    key.id = *ObjectId::from_hex(fresh_id());
    key.name = *name;
    std::string value = detail::random_token_chars(64);
    key.key_hash = detail::sha256_hex(value);
    const std::string id_hex = key.id.to_hex();
    key_owner_.emplace(id_hex, user.id);
    key_hash_index_.emplace(key.key_hash, id_hex);
    HttpResponse response =
        json_response(201, detail::wire::api_key_json(key.id, key.name, false, value));
    wipe(value);
    user.keys.push_back(std::move(key));
    return response;
  }

  HttpResponse list_keys(const Call& call) {
    auto session_id = authenticate(call, TokenKind::refresh);
    if (!session_id) return invalid_session(call);
    const UserRecord& user = *find_user(sessions_.at(*session_id).user_id);
    json list = json::array();
    for (const auto& key : user.keys) {
      list.push_back(detail::wire::api_key_json(key.id, key.name, key.disabled));
    }
    return json_response(200, list);
  }

  HttpResponse fetch_key(const Call& call, std::string_view id_text) {
    auto session_id = authenticate(call, TokenKind::refresh);
    if (!session_id) return invalid_session(call);
    const KeyRecord* key = find_key(sessions_.at(*session_id).user_id, id_text);
    if (key == nullptr) return key_not_found(call);
    return json_response(200, detail::wire::api_key_json(key->id, key->name, key->disabled));
  }

  HttpResponse set_key_disabled(const Call& call, std::string_view id_text, bool disabled) {
    auto session_id = authenticate(call, TokenKind::refresh);
    if (!session_id) return invalid_session(call);
    KeyRecord* key = find_key(sessions_.at(*session_id).user_id, id_text);
    if (key == nullptr) return key_not_found(call);
    key->disabled = disabled;  // idempotent: the same state again is a success (§6)
    return no_content();
  }

  HttpResponse delete_key(const Call& call, std::string_view id_text) {
    auto session_id = authenticate(call, TokenKind::refresh);
    if (!session_id) return invalid_session(call);
    const std::string user_id = sessions_.at(*session_id).user_id;
    KeyRecord* key = find_key(user_id, id_text);
    if (key == nullptr) return key_not_found(call);
    key_hash_index_.erase(key->key_hash);
    key_owner_.erase(key->id.to_hex());
    auto& keys = find_user(user_id)->keys;
    keys.erase(keys.begin() + (key - keys.data()));
    return no_content();
  }

  const FakeBackendOptions options_;

  mutable std::mutex mutex_;
  // Everything below is guarded by mutex_.
  std::map<std::string, UserRecord, std::less<>> users_;
  std::map<std::string, std::string, std::less<>> email_index_;  // email -> user id
  std::unordered_map<std::string, std::string> key_owner_;       // key id -> user id
  std::unordered_map<std::string, std::string> key_hash_index_;  // key hash -> key id
  std::map<std::uint64_t, SessionRecord> sessions_;
  std::unordered_map<std::string, TokenRecord> tokens_;  // token hash -> record
  std::uint64_t next_session_id_ = 1;
  std::size_t sweep_threshold_ = 1024;
  std::chrono::seconds clock_offset_{0};
  std::size_t request_count_ = 0;
  std::deque<std::string> request_log_;
};

/// A Transport that hands each request to a FakeBackend in the same process: no
/// sockets, no threads, deterministic. The URL must still be absolute http:// or
/// https://, as for a real transport, so a client that builds a bad URL fails here too.
///
/// Thread safety: send may be called concurrently (the backend serializes requests);
/// the backend must outlive every FakeTransport that refers to it.
class FakeTransport {
 public:
  /// Sends every request to `backend`.
  explicit FakeTransport(FakeBackend& backend) noexcept : backend_(&backend) {}

  /// The backend's answer; errc::transport only for a URL that is not absolute http(s).
  Result<HttpResponse> send(const HttpRequest& request) {
    if (!fake_detail::is_absolute_http_url(request.url)) {
      return AppError(errc::transport,
                      "FakeTransport: the request URL is not an absolute http:// or https:// URL");
    }
    return backend_->handle(request);
  }

 private:
  FakeBackend* backend_;
};

static_assert(Transport<FakeTransport>);

}  // namespace appkeys::testing
