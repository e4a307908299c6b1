// appkeys — the server's routes (PROTOCOL.md §1, §3, §4): which handler a path reaches.
#pragma once

#include <appkeys/detail/routes.hpp>
#include <appkeys/http.hpp>
#include <appkeys/testing/backend/url.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appkeys::testing::backend {

/// Which operation a path names.
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

/// A matched path. Thread safety: a value type.
struct Route {
  RouteKind kind;        ///< The operation.
  std::string app_id;    ///< App-scoped routes.
  std::string provider;  ///< Login.
  std::string key_id;    ///< The path segment as sent, not yet validated.
};

/// The route `path` names, or nullopt (404).
inline std::optional<Route> match_route(std::string_view path) {
  namespace routes = detail::routes;
  using fake_detail::starts_with;
  const auto make = [](RouteKind kind, std::string app = {}, std::string provider = {},
                       std::string key = {}) {
    return Route{kind, std::move(app), std::move(provider), std::move(key)};
  };
  if (path == routes::profile()) return make(RouteKind::profile);
  if (path == routes::session()) return make(RouteKind::session);
  const std::string keys = routes::api_keys();
  if (path == keys) return make(RouteKind::api_keys);
  if (starts_with(path, keys) && path.size() > keys.size() + 1 && path[keys.size()] == '/') {
    const std::string_view rest = path.substr(keys.size() + 1);
    const std::string id(rest.substr(0, rest.find('/')));
    if (path == routes::api_key(id)) return make(RouteKind::api_key, {}, {}, id);
    if (path == routes::api_key_enable(id)) return make(RouteKind::api_key_enable, {}, {}, id);
    if (path == routes::api_key_disable(id)) return make(RouteKind::api_key_disable, {}, {}, id);
    return std::nullopt;
  }
  const std::string app_prefix = routes::join({routes::api_root, routes::app_segment});
  if (!starts_with(path, app_prefix)) return std::nullopt;
  const std::string_view rest = path.substr(app_prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
  const std::string app(rest.substr(0, slash));
  if (path == routes::location(app)) return make(RouteKind::location, app);
  if (path == routes::register_email(app)) return make(RouteKind::register_email, app);
  const std::string providers =
      routes::join({routes::api_root, routes::app_segment, app, routes::providers_segment});
  if (!starts_with(path, providers)) return std::nullopt;
  const std::string_view tail = path.substr(providers.size());
  const std::size_t provider_end = tail.find('/');
  if (provider_end == 0 || provider_end == std::string_view::npos) return std::nullopt;
  const std::string provider(tail.substr(0, provider_end));
  if (path == routes::login(app, provider)) return make(RouteKind::login, app, provider);
  return std::nullopt;
}

/// The methods a route answers; others get 405 with these in Allow.
inline std::vector<HttpMethod> allowed_methods(RouteKind kind) {
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

}  // namespace appkeys::testing::backend
