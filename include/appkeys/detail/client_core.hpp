// appkeys — every operation of the client, written once as plain synchronous code.
//
// Each operation builds an HttpRequest, sends it through the Transport and parses the
// HttpResponse into Result<X>. App and ApiKeyAuth hand these operations to an
// Executor, which decides where they run and what the caller receives.
#pragma once

#include <appkeys/api_key.hpp>
#include <appkeys/app_config.hpp>
#include <appkeys/concepts.hpp>
#include <appkeys/config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/error_mapping.hpp>
#include <appkeys/detail/json.hpp>
#include <appkeys/detail/jwt.hpp>
#include <appkeys/detail/retry_rules.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/result.hpp>
#include <appkeys/user.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace appkeys::detail {

inline std::string_view trim_trailing_slashes(std::string_view url) noexcept {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return url;
}

/// App ids go into URL paths: allow only the characters real ids use.
inline bool is_valid_app_id(std::string_view app_id) noexcept {
  if (app_id.empty() || app_id.size() > 128) return false;
  // "." and ".." would be dot segments that clients and proxies normalise away.
  if (app_id.find_first_not_of('.') == std::string_view::npos) return false;
  for (char c : app_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

inline bool is_http_url(std::string_view url) noexcept {
  return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
}

/// A token within this margin of its `exp` is refreshed before use, so a request does
/// not race the expiry on its way to the server.
inline constexpr std::chrono::seconds access_token_expiry_margin{10};

template <Transport T>
class ClientCore {
 public:
  ClientCore(AppConfig config, T transport)
      : config_(std::move(config)),
        base_url_(trim_trailing_slashes(config_.base_url)),
        transport_(std::move(transport)) {}

  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;

  const AppConfig& config() const noexcept { return config_; }
  T& transport() noexcept { return transport_; }

  // -------------------------------------------------------------------------------
  // Sessions (PROTOCOL.md §4)

  Result<User> log_in(const Credentials& credentials) {
    if (auto ok = check_config(); !ok) return std::move(ok).error();
    if (auto ok = check_credentials(credentials); !ok) return std::move(ok).error();
    auto host = resolve_host();
    if (!host) return std::move(host).error();

    const std::string device_id = current_device_id();
    auto response = exchange(
        make_request(HttpMethod::post,
                     join_url(*host, routes::login(config_.app_id, credentials.provider_name())),
                     wire::login_body(credentials,
                                      wire::device_json(config_.device, config_.app_id, device_id)),
                     {}),
        Idempotency::non_idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, "log in");
    auto login = wire::parse_login_response(response->body, response->status);
    wipe(response->body);
    if (!login) return std::move(login).error();
    if (!login->device_id.empty()) remember_device_id(login->device_id);

    auto state = std::make_shared<UserState>(
        login->user_id, std::string(credentials.provider_name()),
        login->device_id.empty() ? device_id : login->device_id, std::move(login->access_token),
        std::move(login->refresh_token));
    User user(state);
    // Like the official SDKs, a login is complete once the profile has been read: it
    // proves the access token works and lists the user's identities.
    auto profile = fetch_profile(user);
    if (!profile) {
      state->clear_tokens();
      return std::move(profile).error();
    }
    {
      std::lock_guard lock(state->mutex);
      state->identities = std::move(profile->identities);
    }
    return user;
  }

  /// Ends the session on the server and forgets its tokens locally. The local log-out
  /// happens even when the server cannot be reached, as in the official SDKs; logging
  /// out a user that is already logged out succeeds and sends nothing.
  Result<void> log_out(const User& user) {
    const auto& state = user.state();
    if (!state) return {};
    Secret refresh = state->current_refresh_token();
    state->clear_tokens();
    if (refresh.empty()) return {};
    auto host = resolve_host();
    if (!host) return std::move(host).error();
    auto response = exchange(
        make_request(HttpMethod::del, join_url(*host, routes::session()), {}, refresh.reveal()),
        Idempotency::idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, "log out");
    return {};
  }

  /// Registers an email/password user (the local-userpass provider).
  Result<void> register_email(std::string_view email, const Secret& password) {
    if (auto ok = check_config(); !ok) return std::move(ok).error();
    if (email.empty()) return AppError(errc::invalid_argument, "email must not be empty");
    if (password.empty()) return AppError(errc::invalid_argument, "password must not be empty");
    auto host = resolve_host();
    if (!host) return std::move(host).error();
    std::string body = wire::register_body(email, password.reveal());
    auto response = exchange(
        make_request(HttpMethod::post, join_url(*host, routes::register_email(config_.app_id)),
                     std::move(body), {}),
        Idempotency::non_idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, "register user");
    return {};
  }

  /// GET /auth/profile with the access token (refreshed and retried once on 401).
  Result<wire::Profile> fetch_profile(const User& user) {
    auto response = send_with_access_token(user, HttpMethod::get, routes::profile());
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, "profile request");
    return wire::parse_profile(response->body, response->status);
  }

  // -------------------------------------------------------------------------------
  // User API keys (PROTOCOL.md §3): all six use the refresh token.

  Result<ApiKey> create_key(const User& user, std::string_view name) {
    if (auto ok = check_logged_in(user); !ok) return std::move(ok).error();
    if (name.empty()) {
      return AppError(errc::invalid_argument, "API key name must not be empty");
    }
    if (user.provider() != provider_name(AuthProvider::email_password)) {
      return AppError(errc::provider_not_allowed,
                      "a user logged in with provider '" + user.provider() +
                          "' cannot create API keys (only local-userpass users can)");
    }
    constexpr std::string_view context = "create API key";
    auto response =
        send_with_refresh_token(user, HttpMethod::post, routes::api_keys(),
                                Idempotency::non_idempotent, wire::create_key_body(name));
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, context);
    auto key = wire::parse_api_key(response->body, context, response->status);
    wipe(response->body);  // it held the key's only copy outside `key`
    if (key && (!key->key || key->key->empty())) {
      return wire::malformed(context, "'key' is missing, empty or not a string", response->status);
    }
    return key;
  }

  Result<ApiKey> fetch_key(const User& user, const ObjectId& id) {
    constexpr std::string_view context = "fetch API key";
    auto response = send_with_refresh_token(user, HttpMethod::get, routes::api_key(id.to_hex()),
                                            Idempotency::idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, context);
    auto key = wire::parse_api_key(response->body, context, response->status);
    if (key) key->key.reset();  // only create() returns the value (DESIGN.md)
    return key;
  }

  Result<std::vector<ApiKey>> fetch_keys(const User& user) {
    constexpr std::string_view context = "fetch API keys";
    auto response =
        send_with_refresh_token(user, HttpMethod::get, routes::api_keys(), Idempotency::idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, context);
    auto keys = wire::parse_api_key_list(response->body, context, response->status);
    if (keys) {
      for (auto& key : *keys) key.key.reset();
    }
    return keys;
  }

  Result<void> enable_key(const User& user, const ObjectId& id) {
    return send_expecting_no_body(user, HttpMethod::put, routes::api_key_enable(id.to_hex()),
                                  "enable API key");
  }
  Result<void> disable_key(const User& user, const ObjectId& id) {
    return send_expecting_no_body(user, HttpMethod::put, routes::api_key_disable(id.to_hex()),
                                  "disable API key");
  }
  Result<void> remove_key(const User& user, const ObjectId& id) {
    bool earlier_outcome_unknown = false;
    auto response = send_with_refresh_token(user, HttpMethod::del, routes::api_key(id.to_hex()),
                                            Idempotency::idempotent, {}, &earlier_outcome_unknown);
    if (!response) return std::move(response).error();
    if (is_success(response->status)) return {};
    auto error = error_from_response(*response, "delete API key");
    // A retry that finds the key gone after an attempt that may have reached the server:
    // that attempt deleted it (RetryPolicy).
    if (earlier_outcome_unknown && error.value() == errc::api_key_not_found) return {};
    return error;
  }

 private:
  Result<void> check_config() const {
    if (!is_valid_app_id(config_.app_id)) {
      return AppError(errc::invalid_argument,
                      config_.app_id.empty()
                          ? "AppConfig::app_id is empty"
                          : "AppConfig::app_id may contain only letters, digits, '-', '_' and '.'");
    }
    if (!is_http_url(base_url_)) {
      return AppError(errc::invalid_argument,
                      "AppConfig::base_url must start with https:// or http://");
    }
    return {};
  }

  static Result<void> check_credentials(const Credentials& credentials) {
    switch (credentials.provider()) {
      case AuthProvider::email_password:
        if (credentials.email().empty()) {
          return AppError(errc::invalid_argument, "email must not be empty");
        }
        if (credentials.secret().empty()) {
          return AppError(errc::invalid_argument, "password must not be empty");
        }
        break;
      case AuthProvider::api_key:
        if (credentials.secret().empty()) {
          return AppError(errc::invalid_argument, "API key must not be empty");
        }
        break;
      case AuthProvider::anonymous:
        break;
    }
    return {};
  }

  static Result<void> check_logged_in(const User& user) {
    if (!user.is_logged_in()) {
      return AppError(errc::not_logged_in,
                      user.state() ? "user " + user.id() + " is logged out"
                                   : std::string("no user: this User was never logged in"));
    }
    return {};
  }

  HttpRequest make_request(HttpMethod method, std::string url, std::string body,
                           std::string_view bearer) const {
    HttpRequest request{method, std::move(url), {}, std::move(body), config_.request_timeout};
    request.headers.emplace("Accept", "application/json");
    if (!request.body.empty()) request.headers.emplace("Content-Type", "application/json");
    if (!bearer.empty()) {
      std::string value = "Bearer ";
      value += bearer;
      request.headers.emplace("Authorization", std::move(value));
    }
    request.headers.emplace("User-Agent", "appkeys/" APPKEYS_VERSION_STRING);
    return request;
  }

  /// Sends through the transport, retrying as config_.retry allows, then wipes the
  /// copies of secrets the request held. `earlier_outcome_unknown` is set when an
  /// attempt before the last one may have been processed by the server.
  Result<HttpResponse> exchange(HttpRequest request, Idempotency idempotency,
                                bool* earlier_outcome_unknown = nullptr) {
    Result<HttpResponse> response = call_transport(request);
    for (int attempts = 1;; ++attempts) {
      auto delay = retry_delay(config_.retry, attempts, response, idempotency, random_unit());
      if (!delay) break;
      if (earlier_outcome_unknown != nullptr && outcome_unknown(response)) {
        *earlier_outcome_unknown = true;
      }
      if (delay->count() > 0) std::this_thread::sleep_for(*delay);
      response = call_transport(request);
    }
    for (auto& [name, value] : request.headers) {
      if (iequals(name, "Authorization")) wipe(value);
    }
    wipe(request.body);
    return response;
  }

  Result<HttpResponse> call_transport(const HttpRequest& request) {
#if APPKEYS_HAS_EXCEPTIONS
    // A transport should report failures as values (the Transport concept); one that
    // throws anyway must not break NoThrowExec's promise. Its message is not kept: it
    // might quote the request, which can hold a token.
    try {
      return transport_.send(request);
    } catch (const AppError& error) {
      return error;
    } catch (const std::exception&) {
      return AppError(errc::transport, "the transport threw an exception");
    }
#else
    return transport_.send(request);
#endif
  }

  /// The host every request goes to: the location's hostname, fetched once. The view
  /// stays valid for the life of this ClientCore: the hostname never changes once set.
  Result<std::string_view> resolve_host() {
    // Every request passes here, so a bad config fails before any I/O even for a User
    // that logged in through another App.
    if (auto ok = check_config(); !ok) return std::move(ok).error();
    if (config_.skip_location) return std::string_view(base_url_);
    // Once resolved, every later request reads the hostname without the lock (and
    // without copying it): host_resolved_ publishes it.
    if (host_resolved_.load(std::memory_order_acquire)) return std::string_view(hostname_);
    std::lock_guard lock(location_mutex_);
    if (!hostname_.empty()) return std::string_view(hostname_);
    // PROTOCOL.md §1: the location request carries no headers at all.
    HttpRequest request{HttpMethod::get,
                        base_url_ + routes::location(config_.app_id),
                        {},
                        {},
                        config_.request_timeout};
    auto response = exchange(std::move(request), Idempotency::idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) {
      return error_from_response(*response, "location request");
    }
    auto location = wire::parse_location(response->body, response->status);
    if (!location) return std::move(location).error();
    hostname_ = std::string(trim_trailing_slashes(location->hostname));
    host_resolved_.store(true, std::memory_order_release);
    return std::string_view(hostname_);
  }

  /// host + path, in one allocation.
  static std::string join_url(std::string_view host, std::string_view path) {
    std::string url;
    url.reserve(host.size() + path.size());
    url += host;
    url += path;
    return url;
  }

  Result<HttpResponse> send_with_refresh_token(const User& user, HttpMethod method,
                                               std::string path, Idempotency idempotency,
                                               std::string body = {},
                                               bool* earlier_outcome_unknown = nullptr) {
    if (auto ok = check_logged_in(user); !ok) return std::move(ok).error();
    auto host = resolve_host();
    if (!host) return std::move(host).error();
    Secret refresh = user.state()->current_refresh_token();
    if (refresh.empty()) return check_logged_in(user).error();
    auto response =
        exchange(make_request(method, join_url(*host, path), std::move(body), refresh.reveal()),
                 idempotency, earlier_outcome_unknown);
    // PROTOCOL.md §5: a 401 on a refresh-token request ends the session locally; no
    // retry, since no other token could succeed.
    if (response && response->status == 401) user.state()->clear_tokens();
    return response;
  }

  Result<HttpResponse> send_with_access_token(const User& user, HttpMethod method,
                                              const std::string& path,
                                              const std::string& body = {}) {
    if (auto ok = check_logged_in(user); !ok) return std::move(ok).error();
    auto host = resolve_host();
    if (!host) return std::move(host).error();
    UserState& state = *user.state();
    Secret access = state.current_access_token();
    if (is_expiring(access)) {
      if (auto refreshed = refresh_access_token(state, *host); !refreshed) {
        return std::move(refreshed).error();
      }
      access = state.current_access_token();
    }
    auto response = exchange(make_request(method, join_url(*host, path), body, access.reveal()),
                             Idempotency::idempotent);
    if (!response || response->status != 401) return response;
    // PROTOCOL.md §5: refresh the access token and retry once.
    if (auto refreshed = refresh_access_token(state, *host); !refreshed) {
      return std::move(refreshed).error();
    }
    access = state.current_access_token();
    return exchange(make_request(method, join_url(*host, path), body, access.reveal()),
                    Idempotency::idempotent);
  }

  Result<void> refresh_access_token(UserState& state, std::string_view host) {
    Secret refresh = state.current_refresh_token();
    if (refresh.empty()) {
      return AppError(errc::not_logged_in, "user " + state.id + " is logged out");
    }
    constexpr std::string_view context = "access token refresh";
    auto response = exchange(
        make_request(HttpMethod::post, join_url(host, routes::session()), {}, refresh.reveal()),
        Idempotency::non_idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) {
      if (response->status == 401) state.clear_tokens();
      return error_from_response(*response, context);
    }
    auto token = wire::parse_refresh_response(response->body, response->status);
    wipe(response->body);
    if (!token) return std::move(token).error();
    state.set_access_token(std::move(token).value());
    return {};
  }

  static bool is_expiring(const Secret& access_token) {
    auto expiry = jwt_expiry(access_token.reveal());
    return expiry && *expiry <= std::chrono::system_clock::now() + access_token_expiry_margin;
  }

  Result<void> send_expecting_no_body(const User& user, HttpMethod method, std::string path,
                                      std::string_view context) {
    auto response = send_with_refresh_token(user, method, std::move(path), Idempotency::idempotent);
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, context);
    return {};  // PROTOCOL.md §3: the body of a 2xx is ignored
  }

  /// Uniform in [0, 1), for backoff jitter; one generator per thread, so no lock.
  static double random_unit() {
    thread_local std::minstd_rand generator(std::random_device{}());
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
  }

  std::string current_device_id() const {
    std::lock_guard lock(device_mutex_);
    return device_id_;
  }
  void remember_device_id(const std::string& id) {
    std::lock_guard lock(device_mutex_);
    device_id_ = id;
  }

  const AppConfig config_;
  const std::string base_url_;
  T transport_;

  std::mutex location_mutex_;               // held during the one location request
  std::string hostname_;                    // written once, under location_mutex_, then never again
  std::atomic<bool> host_resolved_{false};  // set (release) once hostname_ is written

  mutable std::mutex device_mutex_;
  std::string device_id_;  // guarded by device_mutex_
};

}  // namespace appkeys::detail
