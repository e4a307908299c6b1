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
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/testing/backend/api_key_rules.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/backend/options.hpp>
#include <appkeys/testing/backend/records.hpp>
#include <appkeys/testing/backend/responses.hpp>
#include <appkeys/testing/backend/routing.hpp>
#include <appkeys/testing/backend/session_rules.hpp>
#include <appkeys/testing/backend/state_dump.hpp>
#include <appkeys/testing/backend/store.hpp>
#include <appkeys/testing/backend/url.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
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
        sessions_(options_, crypto_, store_) {}

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
      UserRecord user = new_user_record(provider_name(AuthProvider::email_password));
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
  void advance_clock(std::chrono::seconds by) { sessions_.advance_clock(by); }

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
    out["clock_offset_seconds"] = sessions_.clock_offset();
    out["request_count"] = request_count();
    return detail::dump_json(out);
  }

 private:
  /// Not in realm-core's table (PROTOCOL.md §6 leaves a foreign app id to us); an
  /// unknown string, so the client maps it to errc::app_server_error.
  static constexpr std::string_view app_not_found_code = "AppNotFound";

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
      return responses::error(call.origin, 413, errc::read_size_limit_exceeded,
                              "request body exceeds the limit of " +
                                  std::to_string(options_.max_body_bytes) + " bytes");
    }
    if (!route->app_id.empty() && !options_.app_id.empty() && route->app_id != options_.app_id) {
      return responses::error(call.origin, 404, app_not_found_code,
                              "cannot find app using Client App ID");
    }
    switch (route->kind) {
      case RouteKind::location:
        return responses::json_response(200, detail::wire::location_json(call.origin));
      case RouteKind::login:
        return sessions_.log_in(call, route->provider);
      case RouteKind::register_email:
        return sessions_.register_email(call);
      case RouteKind::profile:
        return sessions_.profile(call);
      case RouteKind::session:
        return method == HttpMethod::post ? sessions_.refresh_session(call)
                                          : sessions_.log_out(call);
      case RouteKind::api_keys:
      case RouteKind::api_key:
      case RouteKind::api_key_enable:
      case RouteKind::api_key_disable:
        return api_key_route(call, *route);
    }
    return responses::plain_text(404, "404 page not found");
  }

  /// The six API-key routes: a refresh token first (§3), then api_key_rules.
  HttpResponse api_key_route(const Call& call, const Route& route) {
    const HttpMethod method = call.request.method;
    if (route.kind == RouteKind::api_key && method == HttpMethod::get) {
      return fetch_key(call, route.key_id);
    }
    auto session = sessions_.authenticate(call, TokenKind::refresh);
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
    auto hash = sessions_.signed_token_hash(call);
    if (!hash) return invalid_session(call);
    auto id = ObjectId::from_hex(id_text);
    if (!id) {
      // No key to look up, but a dead session is still told 401 before the 404.
      if (!store_.find_live_session(*hash, TokenKind::refresh, sessions_.now())) {
        return invalid_session(call);
      }
      return api_key_rules::fetch(call.origin, std::nullopt);
    }
    auto found = store_.find_live_session_key(*hash, TokenKind::refresh, sessions_.now(), *id);
    if (!found) return invalid_session(call);
    return api_key_rules::fetch(call.origin, found->key);
  }

  const FakeBackendOptions options_;
  const C crypto_;
  S store_;
  SessionRules<S, C> sessions_;  // after what it refers to

  mutable std::mutex log_mutex_;
  // Guarded by log_mutex_.
  std::size_t request_count_ = 0;
  std::deque<std::string> request_log_;
};

}  // namespace appkeys::testing::backend
