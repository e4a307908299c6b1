// appkeys — the session rules of PROTOCOL.md (§2, §6): logins with email and password,
// anonymously or with an API key, registration, the profile, refreshing and ending a
// session; the tokens they issue and check, and the server's clock. BasicBackend routes
// to them, as it routes the key routes to api_key_rules.
#pragma once

#include <appkeys/credentials.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/random.hpp>
#include <appkeys/detail/sha256.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/testing/backend/crypto.hpp>
#include <appkeys/testing/backend/login_throttle.hpp>
#include <appkeys/testing/backend/options.hpp>
#include <appkeys/testing/backend/records.hpp>
#include <appkeys/testing/backend/request_parts.hpp>
#include <appkeys/testing/backend/responses.hpp>
#include <appkeys/testing/backend/store.hpp>
#include <appkeys/testing/backend/tokens.hpp>
#include <appkeys/testing/backend/url.hpp>
#include <appkeys/user.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appkeys::testing::backend {

/// One request being handled: the request, and its origin and path as the router split
/// them.
///
/// Thread safety: a plain value, used by the one thread handling the request.
struct Call {
  const HttpRequest& request;  ///< As the HTTP skin received it.
  std::string origin;          ///< "scheme://host[:port]", which starts error links.
  std::string path;            ///< The URL's path, without query or fragment.
};

/// A new user of `provider` with fresh random ids.
inline UserRecord new_user_record(std::string_view provider) {
  UserRecord user;
  user.id = detail::random_object_id().to_hex();
  user.provider = std::string(provider);
  user.identity_id = detail::random_object_id().to_hex();
  return user;
}

/// 401 InvalidSession: the one answer to every token that is missing, forged, unknown,
/// revoked or expired, of the wrong kind, or whose session or user is gone.
inline HttpResponse invalid_session(const Call& call) {
  return responses::error(call.origin, 401, errc::invalid_session, "invalid session");
}

/// The session routes over a `S`, with signatures and password hashes from a `C`.
///
/// Tokens are HS256 JWTs signed with a secret kept in the store (made by whichever
/// server starts first), and stored only as SHA-256 hashes. The clock is the system
/// clock plus an offset that advance_clock() moves, so that `exp` claims look real while
/// tests can still expire them at will.
///
/// Thread safety: every member function may be called concurrently; each store call is
/// atomic, and no lock is held across two of them.
template <Store S, Crypto C>
class SessionRules {
 public:
  /// Rules over `store`, signing with `crypto`, as `options` say; all three must outlive
  /// it. Reads the signing secret from the store, storing a new one if it has none.
  SessionRules(const FakeBackendOptions& options, const C& crypto, S& store)
      : options_(options),
        crypto_(crypto),
        store_(store),
        signing_key_(store.load_or_store_secret(signing_key_name, detail::random_token_chars(64))),
        throttle_(options.failed_logins_before_delay, options.max_login_delay) {}

  SessionRules(const SessionRules&) = delete;
  SessionRules& operator=(const SessionRules&) = delete;

  // ------------------------------------------------------------------------------
  // The clock

  /// Seconds since the epoch by the server's clock.
  std::int64_t now() const {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count() +
           clock_offset_.load(std::memory_order_relaxed);
  }

  /// Moves the clock forward; tokens expire by this clock.
  void advance_clock(std::chrono::seconds by) {
    clock_offset_.fetch_add(by.count(), std::memory_order_relaxed);
  }

  /// How far advance_clock() has moved the clock, in seconds.
  std::int64_t clock_offset() const { return clock_offset_.load(std::memory_order_relaxed); }

  // ------------------------------------------------------------------------------
  // Checking a request's token

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

  // ------------------------------------------------------------------------------
  // The routes

  /// POST .../auth/providers/\<provider\>/login.
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
      anonymous = new_user_record(anon_provider());
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

  /// POST .../local-userpass/register.
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
    UserRecord user = new_user_record(email_provider());
    user.email = *email;
    user.password_hash = crypto_.hash_password(*password);
    if (!store_.insert_user(user)) return name_in_use();
    return responses::json_response(201, detail::json::object());
  }

  /// GET .../auth/profile, with an access token.
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
    detail::json data = detail::json::object();
    if (!user->email.empty()) data[detail::wire::field::email] = user->email;
    return responses::json_response(200, detail::wire::profile_json(user->id, identities, data));
  }

  /// POST .../auth/session, with a refresh token: a new access token.
  HttpResponse refresh_session(const Call& call) {
    auto session = authenticate(call, TokenKind::refresh);
    if (!session) return invalid_session(call);
    std::string access;
    const IssuedToken issued = issue_token(TokenKind::access, *session, access);
    if (!store_.insert_token(issued.hash, issued.record)) return invalid_session(call);
    sweep_if_due(1);
    return responses::json_response(201, detail::wire::refresh_response_json(access));
  }

  /// DELETE .../auth/session, with a refresh token: ends the session.
  HttpResponse log_out(const Call& call) {
    auto session = authenticate(call, TokenKind::refresh);
    if (!session) return invalid_session(call);
    store_.end_session(session->id);
    return responses::no_content();
  }

 private:
  /// Where the token-signing secret lives in the store.
  static constexpr std::string_view signing_key_name = "jwt_hs256_key";
  /// Expired sessions and tokens are dropped after this many tokens are issued.
  static constexpr std::size_t sweep_interval = 1024;

  struct Login {
    std::string access_token;
    std::string refresh_token;
  };

  static std::string_view email_provider() { return provider_name(AuthProvider::email_password); }
  static std::string_view anon_provider() { return provider_name(AuthProvider::anonymous); }
  static std::string_view api_key_provider() { return provider_name(AuthProvider::api_key); }

  static HttpResponse error(const Call& call, int status, errc code, std::string_view message) {
    return responses::error(call.origin, status, code, message);
  }
  /// The body as a JSON object, or nullopt (→ 400 BadRequest) for anything else.
  static std::optional<detail::json> object_body(const Call& call) {
    auto value = detail::parse_json(call.request.body);
    if (!value || !value->is_object()) return std::nullopt;
    return value;
  }
  static HttpResponse bad_body(const Call& call) {
    return error(call, 400, errc::bad_request, "request body must be a JSON object");
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

  Login start_session(SessionRecord session, const UserRecord* new_user) {
    session.refresh_expires_at = now() + options_.refresh_token_lifetime.count();
    Login login;
    std::vector<IssuedToken> tokens;
    tokens.push_back(issue_token(TokenKind::refresh, session, login.refresh_token));
    tokens.push_back(issue_token(TokenKind::access, session, login.access_token));
    store_.start_session(session, tokens, options_.max_sessions, new_user);
    sweep_if_due(tokens.size());
    return login;
  }

  /// A hash to check passwords against when the email is unknown, so that an unknown
  /// email costs as much time as a wrong password (no enumeration by timing).
  const std::string& decoy_hash() {
    std::call_once(decoy_once_, [this] { decoy_hash_ = crypto_.hash_password("decoy"); });
    return decoy_hash_;
  }

  const FakeBackendOptions& options_;
  const C& crypto_;
  S& store_;
  const std::string signing_key_;
  LoginThrottle throttle_;
  std::atomic<std::int64_t> clock_offset_{0};
  std::atomic<std::size_t> tokens_since_sweep_{0};
  std::once_flag decoy_once_;
  std::string decoy_hash_;  // set once under decoy_once_
};

}  // namespace appkeys::testing::backend
