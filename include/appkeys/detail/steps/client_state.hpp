// appkeys — ClientState: what every step machine of one App reads and shares (the
// configuration, the resolved location, the device id), and the checks and request
// shapes common to every operation.
#pragma once

#include <appkeys/app_config.hpp>
#include <appkeys/config.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/share.hpp>
#include <appkeys/detail/steps/flight.hpp>
#include <appkeys/detail/url.hpp>
#include <appkeys/error.hpp>
#include <appkeys/http.hpp>
#include <appkeys/result.hpp>
#include <appkeys/user.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

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

template <class = void>  // compiled only where used: see detail/dependent.hpp
inline bool is_http_url(std::string_view url) noexcept {
  return static_cast<bool>(split_url(url));
}

/// host + path, in one allocation.
template <class = void>  // compiled only where used: see detail/dependent.hpp
inline std::string join_url(std::string_view host, std::string_view path) {
  std::string url;
  url.reserve(host.size() + path.size());
  url += host;
  url += path;
  return url;
}

template <class = void>  // compiled only where used: see detail/dependent.hpp
inline Result<void> check_credentials(const Credentials& credentials) {
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

template <class = void>  // compiled only where used: see detail/dependent.hpp
inline Result<void> check_logged_in(const User& user) {
  if (!user.is_logged_in()) {
    return AppError(errc::not_logged_in,
                    user_state(user) ? "user " + user.id() + " is logged out"
                                     : std::string("no user: this User was never logged in"));
  }
  return {};
}

/// Names the app a client talks to: its base URL (scheme and host in lower case, no
/// trailing '/') and app id. A session may be used by any client with the same key.
template <class = void>  // compiled only where used: see detail/dependent.hpp
inline std::string owner_key_of(std::string_view base_url, std::string_view app_id) {
  std::string key;
  key.reserve(base_url.size() + app_id.size() + 1);
  const auto split = split_url(base_url);
  const std::string_view origin = split ? split.parts.origin(base_url) : base_url;
  for (char c : origin) key += ascii_lower(c);
  key += trim_trailing_slashes(base_url.substr(origin.size()));
  key += ' ';  // neither a URL nor a valid app id holds a space
  key += app_id;
  return key;
}

/// Shared by every call of one App (and every copy of it).
///
/// Thread safety: every member may be called concurrently.
class ClientState {
 public:
  /// A template only so that it (with its Flight) is compiled where an App is made, not
  /// in every program that includes the client (see detail/dependent.hpp).
  template <class V = void>
  explicit ClientState(AppConfig config)
      : config_(std::move(config)),
        base_url_(trim_trailing_slashes(config_.base_url)),
        location_flight_(share_new<dependent_t<V, steps::Flight>>()) {}
  ClientState(const ClientState&) = delete;
  ClientState& operator=(const ClientState&) = delete;

  const AppConfig& config() const noexcept { return config_; }
  const std::string& base_url() const noexcept { return base_url_; }
  /// The app this client talks to (owner_key_of): the owner of every session it logs in.
  const std::string& owner_key() const noexcept { return owner_key_; }

  /// The checks before `user`'s tokens are used: it has a session, that session was
  /// logged in to this client's app (same base URL and app id: a User never leaks its
  /// tokens to another server or app), and it is still logged in.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  Result<void> check_user(const User& user) const {
    const auto& state = user_state(user);
    if (state && state->owner != owner_key_) {
      return AppError(errc::invalid_argument,
                      "user " + user.id() +
                          " was logged in through another App (another base_url or app_id); a "
                          "User can only be used with an App of the app it logged in to");
    }
    return check_logged_in(user);
  }

  /// Every request asks; the configuration never changes, so it is checked once.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  Result<void> check_config() const {
    switch (config_problem_) {
      case ConfigProblem::none:
        return {};
      case ConfigProblem::empty_app_id:
        return AppError(errc::invalid_argument, "AppConfig::app_id is empty");
      case ConfigProblem::bad_app_id:
        return AppError(errc::invalid_argument,
                        "AppConfig::app_id may contain only letters, digits, '-', '_' and '.'");
      case ConfigProblem::bad_base_url:
        break;
    }
    return AppError(errc::invalid_argument,
                    "AppConfig::base_url must be an absolute https:// or http:// URL");
  }

  /// A request with the headers of PROTOCOL.md §2 and the configured timeout. A template
  /// only so that it is compiled where a call is made (see detail/dependent.hpp).
  template <class = void>
  HttpRequest make_request(HttpMethod method, std::string url, std::string body,
                           std::string_view bearer) const {
    HttpRequest request{method, std::move(url), {}, std::move(body), config_.request_timeout};
    // Each header goes in as two std::strings, as a transport adds the ones it receives:
    // one instantiation of the multimap's emplace, not one per pair of literal lengths.
    const auto add = [&request](std::string&& name, std::string&& value) {
      request.headers.emplace(std::move(name), std::move(value));
    };
    add("Accept", "application/json");
    if (!request.body.empty()) add("Content-Type", "application/json");
    if (!bearer.empty()) {
      constexpr std::string_view scheme = "Bearer ";
      std::string value;
      value.reserve(scheme.size() + bearer.size());  // no regrowth leaving token bytes behind
      value += scheme;
      value += bearer;
      add("Authorization", std::move(value));
    }
    add("User-Agent", "appkeys/" APPKEYS_VERSION_STRING);
    return request;
  }

  // -- the location (PROTOCOL.md §1), resolved once and shared --------------------

  /// The hostname once resolved; the view stays valid for the life of this object, as
  /// the hostname is written once and never changed. A template only so that it is
  /// compiled where a call is made (see detail/dependent.hpp).
  template <class V = void>
  std::optional<dependent_t<V, std::string_view>> resolved_host() const noexcept {
    if (host_resolved_.load(std::memory_order_acquire)) return std::string_view(hostname_);
    return std::nullopt;
  }
  /// Called once, by the leader of the location flight.
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  void set_resolved_host(std::string_view hostname) {
    std::lock_guard lock(location_mutex_);
    if (host_resolved_.load(std::memory_order_relaxed)) return;
    hostname_ = std::string(trim_trailing_slashes(hostname));
    host_resolved_.store(true, std::memory_order_release);
  }
  const std::shared_ptr<steps::Flight>& location_flight() const noexcept {
    return location_flight_;
  }

  // -- the device id the server assigned at the last login --------------------------

  template <class = void>  // compiled only where used: see detail/dependent.hpp
  std::string current_device_id() const {
    std::lock_guard lock(device_mutex_);
    return device_id_;
  }
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  void remember_device_id(const std::string& id) {
    std::lock_guard lock(device_mutex_);
    device_id_ = id;
  }

 private:
  enum class ConfigProblem { none, empty_app_id, bad_app_id, bad_base_url };

  static ConfigProblem find_config_problem(const AppConfig& config, std::string_view base_url) {
    if (config.app_id.empty()) return ConfigProblem::empty_app_id;
    if (!is_valid_app_id(config.app_id)) return ConfigProblem::bad_app_id;
    if (!is_http_url(base_url)) return ConfigProblem::bad_base_url;
    return ConfigProblem::none;
  }

  const AppConfig config_;
  const std::string base_url_;
  const std::string owner_key_ = owner_key_of(base_url_, config_.app_id);
  const ConfigProblem config_problem_ = find_config_problem(config_, base_url_);

  std::mutex location_mutex_;               // orders the one write of hostname_
  std::string hostname_;                    // written once, then never again
  std::atomic<bool> host_resolved_{false};  // set (release) once hostname_ is written
  std::shared_ptr<steps::Flight> location_flight_;

  mutable std::mutex device_mutex_;
  std::string device_id_;  // guarded by device_mutex_
};

}  // namespace appkeys::detail
