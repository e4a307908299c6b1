// appkeys — BasicBackend: the server of PROTOCOL.md written once, over a Store and a Crypto.
//
// testing::FakeBackend is BasicBackend<MemoryStore, HeaderCrypto>; `appkeys serve` runs
// the same class over server::SqliteStore and server::OpenSslCrypto. Everything it
// answers is built from the shared protocol code (detail::routes, detail::wire,
// detail::server_code_string), so the server cannot drift from the client.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/sha256.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/testing/backend/api_key_rules.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/backend/login_throttle.hpp>
#include <appkeys/testing/backend/options.hpp>
#include <appkeys/testing/backend/records.hpp>
#include <appkeys/testing/backend/request_parts.hpp>
#include <appkeys/testing/backend/responses.hpp>
#include <appkeys/testing/backend/routing.hpp>
#include <appkeys/testing/backend/state_dump.hpp>
#include <appkeys/testing/backend/store.hpp>
#include <appkeys/testing/backend/tokens.hpp>
#include <appkeys/testing/backend/url.hpp>
#include <appkeys/user.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appkeys::testing::backend {

/// The server of PROTOCOL.md (locations, logins, registration, sessions, profiles and
/// the six user API key routes) reached through HTTP-shaped requests, with its state in
/// a `S` and its signatures and password hashes from a `C`.
///
/// Key values and refresh and access tokens are kept only as SHA-256 hashes, passwords
/// only as C's self-describing hashes. Tokens are HS256 JWTs signed with a secret kept
/// in the store (made on first use), checked on every request before the store is asked
/// about them. The clock is the system clock plus an offset that advance_clock() moves,
/// so token `exp` claims look real while tests can still expire them at will. A request
/// whose store call throws StoreUnavailable gets 503 (with Retry-After), any other
/// store exception (a database error) 500; both with an InternalServerError JSON body.
///
/// Thread safety: every member function may be called concurrently. Each store call is
/// atomic (the Store concept); no lock is held across two of them, so requests run in
/// parallel as far as the store allows.
template <Store S, Crypto C = HeaderCrypto>
class BasicBackend {
 public:
  /// A server behaving as `options` says, over a store built from `store_args`.
  template <class... StoreArgs>
  explicit BasicBackend(FakeBackendOptions options, C crypto, StoreArgs&&... store_args)
      : options_(std::move(options)),
        crypto_(std::move(crypto)),
        store_(std::forward<StoreArgs>(store_args)...),
        throttle_(options_.failed_logins_before_delay, options_.max_login_delay) {
    signing_key_ = store_.load_or_store_secret(signing_key_name, detail::random_token_chars(64));
  }

  BasicBackend(const BasicBackend&) = delete;
  BasicBackend& operator=(const BasicBackend&) = delete;

  /// The options it was built with; fixed for its lifetime, so no lock is needed (an
  /// HTTP skin reads max_body_bytes to refuse oversized bodies before buffering them).
  const FakeBackendOptions& options() const noexcept { return options_; }

  /// The store (for an operator's tools and for tests).
  S& store() noexcept { return store_; }
  /// The store, read-only.
  const S& store() const noexcept { return store_; }

  /// Answers one request, routing on its method and URL path. `request.url` should be
  /// absolute; a bare path is accepted too, its origin then taken from the Host header
  /// (or "http://localhost" when it names no host), so an HTTP skin may pass either.
  HttpResponse handle(const HttpRequest& request) {
    Call call{request, {}, {}};
    if (auto parts = fake_detail::split_http_url(request.url)) {
      call.origin = std::move(parts->origin);
      call.path = std::move(parts->path);
    } else {
      const std::string_view url = request.url;
      call.path = std::string(url.substr(0, url.find_first_of("?#")));
      if (call.path.empty()) call.path = "/";
      call.origin = fake_detail::origin_from_host(header_value(request.headers, "Host"));
    }
    record(request.method, call.path);
#if APPKEYS_HAS_EXCEPTIONS
    try {
      return dispatch(call);
    } catch (const StoreUnavailable&) {
      // The database is away (restarting, unreachable): nothing this request asked
      // for was acknowledged, and asking again later may succeed.
      HttpResponse response = responses::error(call.origin, 503, errc::internal_server_error,
                                               "the store is unavailable; try again later");
      response.headers.emplace("Retry-After", "1");
      return response;
    } catch (const std::exception&) {
      // The store failed (disk full, database locked past its timeout...). The message
      // stays out of the answer: it may name files or SQL.
      return responses::error(call.origin, 500, errc::internal_server_error,
                              "internal server error");
    }
#else
    return dispatch(call);
#endif
  }

  // ------------------------------------------------------------------------------
  // Users (for tests and operators)

  /// Adds an email/password user and returns its id (24 hex). An existing email gets
  /// the new password and keeps its id (and its keys and sessions).
  std::string add_email_user(std::string_view email, std::string_view password) {
    std::string hash = crypto_.hash_password(password);
    for (;;) {
      if (auto existing = store_.find_user_by_email(email)) {
        if (store_.set_password(existing->id, hash)) return existing->id;
        continue;  // deleted meanwhile: add it anew
      }
      UserRecord user = new_user(email_provider());
      user.email = std::string(email);
      user.password_hash = hash;
      if (store_.insert_user(user)) return user.id;
      // Another caller added this email meanwhile: set its password instead.
    }
  }

  /// A disabled user cannot log in (401 UserDisabled), and disabling ends every
  /// session the user has, as the hosted service did. Throws std::invalid_argument for
  /// an unknown id, so a typo in a test cannot pass silently.
  void set_user_disabled(std::string_view user_id, bool disabled) {
    if (!store_.set_user_disabled(user_id, disabled)) {
      APPKEYS_THROW(std::invalid_argument("FakeBackend::set_user_disabled: unknown user id"));
    }
    if (disabled) store_.end_user_sessions(user_id);
  }

  /// Deletes a user with its keys and sessions; false for an unknown id.
  bool delete_user(std::string_view user_id) { return store_.delete_user(user_id); }

  /// Every user, ordered by id.
  std::vector<UserRecord> list_users() const { return store_.list_users(); }

  // ------------------------------------------------------------------------------
  // Test controls

  /// Moves the backend's clock forward; tokens expire by this clock.
  void advance_clock(std::chrono::seconds by) {
    clock_offset_.fetch_add(by.count(), std::memory_order_relaxed);
  }

  /// Every access token issued so far is expired from now on; refresh tokens are not.
  void expire_access_tokens() { store_.delete_tokens(TokenKind::access); }

  /// Ends every session of `user_id`: its refresh and access tokens become invalid.
  void revoke_sessions(std::string_view user_id) { store_.end_user_sessions(user_id); }

  /// Requests handled so far, whatever their outcome.
  std::size_t request_count() const {
    std::lock_guard lock(log_mutex_);
    return request_count_;
  }

  /// "METHOD /path" per request handled, oldest first: the last
  /// FakeBackendOptions::request_log_limit of them. Query strings, headers and bodies
  /// are left out: they may carry secrets.
  std::vector<std::string> request_log() const {
    std::lock_guard lock(log_mutex_);
    return {request_log_.begin(), request_log_.end()};
  }

  /// The user's current (undeleted) keys; 0 for an unknown user.
  std::size_t key_count(std::string_view user_id) const { return store_.count_keys(user_id); }

  /// JSON text of the whole stored state: users (id, provider, email, disabled, the
  /// password hash, identities), their keys (id, name, disabled, key hash), session
  /// counts and token counts. Lets tests prove that no key value, password or token is
  /// stored in clear.
  std::string debug_dump() const {
    detail::json out = dump_store(store_);
    out["app_id"] = options_.app_id;
    out["clock_offset_seconds"] = clock_offset_.load(std::memory_order_relaxed);
    out["request_count"] = request_count();
    return detail::dump_json(out);
  }

 private:
  using json = detail::json;

  /// Where the token-signing secret lives in the store.
  static constexpr std::string_view signing_key_name = "jwt_hs256_key";
  /// Not in realm-core's table (PROTOCOL.md §6 leaves a foreign app id to us); an
  /// unknown string, so the client maps it to errc::app_server_error.
  static constexpr std::string_view app_not_found_code = "AppNotFound";
  /// Expired sessions and tokens are dropped after this many tokens are issued.
  static constexpr std::size_t sweep_interval = 1024;

  /// One request being handled.
  struct Call {
    const HttpRequest& request;
    std::string origin;  // "scheme://host[:port]"
    std::string path;
  };

  static std::string_view email_provider() { return provider_name(AuthProvider::email_password); }
  static std::string_view anon_provider() { return provider_name(AuthProvider::anonymous); }
  static std::string_view api_key_provider() { return provider_name(AuthProvider::api_key); }

  void record(HttpMethod method, const std::string& path) {
    std::lock_guard lock(log_mutex_);
    ++request_count_;
    if (options_.request_log_limit == 0) return;
    if (request_log_.size() >= options_.request_log_limit) request_log_.pop_front();
    std::string entry(to_string(method));
    entry += ' ';
    entry += path;
    request_log_.push_back(std::move(entry));
  }

  HttpResponse dispatch(const Call& call) {
    auto route = match_route(call.path);
    if (!route) return responses::plain_text(404, "404 page not found");
    const auto methods = allowed_methods(route->kind);
    const HttpMethod method = call.request.method;
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
      HttpResponse response = responses::plain_text(405, "405 method not allowed");
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
      return responses::error(call.origin, 404, app_not_found_code,
                              "cannot find app using Client App ID");
    }
    switch (route->kind) {
      case RouteKind::location:
        return responses::json_response(200, detail::wire::location_json(call.origin));
      case RouteKind::login:
        return log_in(call, route->provider);
      case RouteKind::register_email:
        return register_email(call);
      case RouteKind::profile:
        return profile(call);
      case RouteKind::session:
        return method == HttpMethod::post ? refresh_session(call) : log_out(call);
      case RouteKind::api_keys:
      case RouteKind::api_key:
      case RouteKind::api_key_enable:
      case RouteKind::api_key_disable:
        return api_key_route(call, *route);
    }
    return responses::plain_text(404, "404 page not found");
  }

  // ------------------------------------------------------------------------------
  // Answers

  static HttpResponse error(const Call& call, int status, errc code, std::string_view message) {
    return responses::error(call.origin, status, code, message);
  }
  static HttpResponse invalid_session(const Call& call) {
    return error(call, 401, errc::invalid_session, "invalid session");
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
  // Clock, users, tokens and sessions

  std::int64_t now() const {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count() +
           clock_offset_.load(std::memory_order_relaxed);
  }

  static UserRecord new_user(std::string_view provider) {
    UserRecord user;
    user.id = detail::random_object_id().to_hex();
    user.provider = std::string(provider);
    user.identity_id = detail::random_object_id().to_hex();
    return user;
  }

  /// A new token for `session`, and its hash for the store.
  IssuedToken issue_token(TokenKind kind, const SessionRecord& session, std::string& text) {
    const std::int64_t issued = now();
    const auto lifetime = kind == TokenKind::access ? options_.access_token_lifetime
                                                    : options_.refresh_token_lifetime;
    TokenClaims claims;
    claims.subject = session.user_id;
    claims.device_id = session.device_id;
    claims.type = kind == TokenKind::access ? "access" : "refresh";
    claims.issued_at = issued;
    claims.expires_at = issued + lifetime.count();
    text = sign_jwt(crypto_, signing_key_, claims);
    return IssuedToken{detail::sha256_hex(text), TokenRecord{kind, session.id, claims.expires_at}};
  }

  /// Drops expired tokens and sessions now and then, so a long-running server does not
  /// grow without bound.
  void sweep_if_due(std::size_t issued) {
    if (tokens_since_sweep_.fetch_add(issued, std::memory_order_relaxed) + issued <
        sweep_interval) {
      return;
    }
    tokens_since_sweep_.store(0, std::memory_order_relaxed);
    store_.end_expired(now());
  }

  struct Login {
    std::string access_token;
    std::string refresh_token;
  };

  Login start_session(SessionRecord session, const UserRecord* new_user_record) {
    session.refresh_expires_at = now() + options_.refresh_token_lifetime.count();
    Login login;
    std::vector<IssuedToken> tokens;
    tokens.push_back(issue_token(TokenKind::refresh, session, login.refresh_token));
    tokens.push_back(issue_token(TokenKind::access, session, login.access_token));
    store_.start_session(session, tokens, options_.max_sessions, new_user_record);
    sweep_if_due(tokens.size());
    return login;
  }

  /// The session behind the request's bearer token of the required kind; nullopt for a
  /// missing or malformed header, a bad signature, an unknown, revoked or expired token,
  /// a token of the other kind, an ended or expired session, or a disabled or deleted
  /// user (all the same 401 to the caller).
  std::optional<SessionRecord> authenticate(const Call& call, TokenKind required) const {
    auto hash = signed_token_hash(call);
    if (!hash) return std::nullopt;
    // One atomic read: the token, its session and its user checked together (the
    // session ended, the user disabled or deleted: refused, as the rules require).
    return store_.find_live_session(*hash, required, now());
  }

  /// The SHA-256 of the request's bearer token (the key the store knows it by), when
  /// there is one and its signature is ours; nothing is asked of the store before that.
  std::optional<std::string> signed_token_hash(const Call& call) const {
    auto token = request_parts::bearer_token(call.request.headers);
    if (!token || !jwt_signature_valid(crypto_, signing_key_, *token)) return std::nullopt;
    return detail::sha256_hex(*token);
  }

  /// A hash to check passwords against when the email is unknown, so that an unknown
  /// email costs as much time as a wrong password (no enumeration by timing).
  const std::string& decoy_hash() {
    std::call_once(decoy_once_, [this] { decoy_hash_ = crypto_.hash_password("decoy"); });
    return decoy_hash_;
  }

  // ------------------------------------------------------------------------------
  // Handlers

  HttpResponse log_in(const Call& call, const std::string& provider) {
    namespace field = detail::wire::field;
    if (provider != email_provider() && provider != anon_provider() &&
        provider != api_key_provider()) {
      return error(call, 404, errc::auth_provider_not_found, "authentication provider not found");
    }
    auto body = object_body(call);
    if (!body) return bad_body(call);

    SessionRecord session;
    session.provider = provider;
    std::optional<UserRecord> anonymous;
    if (provider == email_provider()) {
      const std::string* username = detail::string_member(*body, field::username);
      const std::string* password = detail::string_member(*body, field::password);
      if (username == nullptr || password == nullptr) {
        return error(call, 400, errc::missing_parameter,
                     "'username' and 'password' are required strings");
      }
      if (auto wait = throttle_.locked_for(*username, now())) {
        return error(call, 401, errc::invalid_password,
                     "too many failed logins for this account; try again in " +
                         std::to_string(*wait) + " s");
      }
      auto user = store_.find_user_by_email(*username);
      const bool match = user ? crypto_.verify_password(*password, user->password_hash)
                              : (crypto_.verify_password(*password, decoy_hash()), false);
      if (!match) {
        throttle_.failed(*username, now());
        return error(call, 401, errc::invalid_password, "invalid username/password");
      }
      throttle_.succeeded(*username);
      if (user->disabled) return error(call, 401, errc::user_disabled, "user is disabled");
      session.user_id = user->id;
    } else if (provider == anon_provider()) {
      anonymous = new_user(anon_provider());
      session.user_id = anonymous->id;
    } else {
      const std::string* key = detail::string_member(*body, field::key);
      if (key == nullptr) {
        return error(call, 400, errc::missing_parameter, "'key' is a required string");
      }
      auto entry = store_.find_key_by_hash(detail::sha256_hex(*key));
      if (!entry || entry->second.disabled) {
        return error(call, 401, errc::auth_error, "unauthorized");
      }
      auto owner = store_.find_user(entry->first);
      if (!owner) return error(call, 401, errc::auth_error, "unauthorized");
      if (owner->disabled) return error(call, 401, errc::user_disabled, "user is disabled");
      session.key_id = entry->second.id.to_hex();
      session.user_id = owner->id;
    }

    session.device_id = request_parts::device_id_from(*body);
    const Login login = start_session(session, anonymous ? &*anonymous : nullptr);
    return responses::json_response(
        200, detail::wire::login_response_json(login.access_token, login.refresh_token,
                                               session.user_id, session.device_id));
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
    const auto name_in_use = [&] {
      return error(call, 409, errc::account_name_in_use, "name already in use");
    };
    if (store_.find_user_by_email(*email)) return name_in_use();
    UserRecord user = new_user(email_provider());
    user.email = *email;
    user.password_hash = crypto_.hash_password(*password);
    if (!store_.insert_user(user)) return name_in_use();
    return responses::json_response(201, json::object());
  }

  HttpResponse profile(const Call& call) {
    auto session = authenticate(call, TokenKind::access);
    if (!session) return invalid_session(call);
    auto user = store_.find_user(session->user_id);
    if (!user) return invalid_session(call);
    std::vector<UserIdentity> identities;
    identities.push_back(UserIdentity{user->identity_id, user->provider});
    for (auto& key_id : store_.api_key_identities(user->id)) {
      identities.push_back(UserIdentity{std::move(key_id), std::string(api_key_provider())});
    }
    json data = json::object();
    if (!user->email.empty()) data[detail::wire::field::email] = user->email;
    return responses::json_response(200, detail::wire::profile_json(user->id, identities, data));
  }

  HttpResponse refresh_session(const Call& call) {
    auto session = authenticate(call, TokenKind::refresh);
    if (!session) return invalid_session(call);
    std::string access;
    const IssuedToken issued = issue_token(TokenKind::access, *session, access);
    if (!store_.insert_token(issued.hash, issued.record)) return invalid_session(call);
    sweep_if_due(1);
    return responses::json_response(201, detail::wire::refresh_response_json(access));
  }

  HttpResponse log_out(const Call& call) {
    auto session = authenticate(call, TokenKind::refresh);
    if (!session) return invalid_session(call);
    store_.end_session(session->id);
    return responses::no_content();
  }

  /// The six API-key routes: a refresh token first (§3), then api_key_rules.
  HttpResponse api_key_route(const Call& call, const Route& route) {
    const HttpMethod method = call.request.method;
    if (route.kind == RouteKind::api_key && method == HttpMethod::get) {
      return fetch_key(call, route.key_id);
    }
    auto session = authenticate(call, TokenKind::refresh);
    if (!session) return invalid_session(call);
    switch (route.kind) {
      case RouteKind::api_keys:
        return method == HttpMethod::post ? api_key_rules::create(store_, options_, call.origin,
                                                                  *session, call.request.body)
                                          : api_key_rules::list(store_, *session);
      case RouteKind::api_key:
        return api_key_rules::remove(store_, call.origin, *session, route.key_id);
      case RouteKind::api_key_enable:
      case RouteKind::api_key_disable:
        return api_key_rules::set_disabled(store_, call.origin, *session, route.key_id,
                                           route.kind == RouteKind::api_key_disable);
      default:
        return responses::plain_text(404, "404 page not found");
    }
  }

  /// GET api_keys/\<id\>, the most frequent authenticated request: the session (a
  /// refresh token, §3, checked as authenticate() does) and the key in one store call,
  /// where each call on a database is a transaction of its own.
  HttpResponse fetch_key(const Call& call, std::string_view id_text) {
    auto hash = signed_token_hash(call);
    if (!hash) return invalid_session(call);
    auto id = ObjectId::from_hex(id_text);
    if (!id) {
      // No key to look up, but a dead session is still told 401 before the 404.
      if (!store_.find_live_session(*hash, TokenKind::refresh, now())) return invalid_session(call);
      return api_key_rules::fetch(call.origin, std::nullopt);
    }
    auto found = store_.find_live_session_key(*hash, TokenKind::refresh, now(), *id);
    if (!found) return invalid_session(call);
    return api_key_rules::fetch(call.origin, found->key);
  }

  const FakeBackendOptions options_;
  const C crypto_;
  S store_;
  std::string signing_key_;  // set once in the constructor
  LoginThrottle throttle_;
  std::atomic<std::int64_t> clock_offset_{0};
  std::atomic<std::size_t> tokens_since_sweep_{0};
  std::once_flag decoy_once_;
  std::string decoy_hash_;  // set once under decoy_once_

  mutable std::mutex log_mutex_;
  // Guarded by log_mutex_.
  std::size_t request_count_ = 0;
  std::deque<std::string> request_log_;
};

}  // namespace appkeys::testing::backend
