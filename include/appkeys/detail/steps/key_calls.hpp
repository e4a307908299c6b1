// appkeys — the six user API key calls (PROTOCOL.md §3) as step machines: the host,
// then one request with the refresh token, then the answer parsed.
//
// Compiled only where used: the specs' finish() and body() are member templates with an
// unused parameter, so that the JSON parsing and error mapping they call are
// instantiated only in translation units that make the call.
#pragma once

#include <appkeys/api_key.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/error_mapping.hpp>
#include <appkeys/detail/retry_rules.hpp>
#include <appkeys/detail/routes.hpp>
#include <appkeys/detail/slot.hpp>
#include <appkeys/detail/steps/action.hpp>
#include <appkeys/detail/steps/bearer_exchange.hpp>
#include <appkeys/detail/steps/client_state.hpp>
#include <appkeys/detail/steps/host_lookup.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/detail/wire_requests.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/user.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace appkeys::detail::steps {

/// One key call: `Spec` says what is sent and how the answer is read:
///
///     using value_type = X;
///     HttpMethod method; Idempotency idempotency;
///     Result<void> check_input() const;         // the caller's arguments, checked first
///     Result<void> check(const User&) const;    // then the user (once logged in)
///     std::string path() const; std::string body() const;
///     Result<X> finish(Result<HttpResponse>, bool earlier_outcome_unknown);
template <class Spec>
class KeyCall {
 public:
  using value_type = typename Spec::value_type;

  KeyCall(ClientState& client, User user, Spec spec)
      : client_(client), user_(std::move(user)), spec_(std::move(spec)), host_(client) {}

  Action step(Event event) {
    switch (phase_) {
      case Phase::checks: {
        if (auto ok = spec_.check_input(); !ok) return finish(std::move(ok).error());
        if (auto ok = client_.check_user(user_); !ok) return finish(std::move(ok).error());
        if (auto ok = spec_.check(user_); !ok) return finish(std::move(ok).error());
        phase_ = Phase::host;
        [[fallthrough]];
      }
      case Phase::host: {
        Action action = host_.step(std::move(event));
        if (!action.is_done()) return action;
        auto host = host_.take();
        if (!host) return finish(std::move(host).error());
        phase_ = Phase::call;
        call_.emplace(client_, *user_state(user_), *host, spec_.method, spec_.path(),
                      spec_.idempotency, spec_.body());
        event = Start{};
        [[fallthrough]];
      }
      case Phase::call: {
        Action action = call_->step(std::move(event));
        if (!action.is_done()) return action;
        return finish(spec_.finish(call_->take(), call_->earlier_outcome_unknown()));
      }
    }
    return Action::done();
  }

  Result<value_type> take_result() { return std::move(*outcome_); }

 private:
  enum class Phase { checks, host, call };

  Action finish(Result<value_type> outcome) {
    outcome_.emplace(std::move(outcome));
    return Action::done();
  }

  ClientState& client_;
  User user_;
  Spec spec_;
  Phase phase_ = Phase::checks;
  // Named through dependent_t so that they are compiled only where a KeyCall is: see
  // detail/dependent.hpp.
  dependent_t<Spec, HostLookup> host_;
  Slot<dependent_t<Spec, RefreshTokenExchange>> call_;
  Slot<Result<value_type>> outcome_;
};

/// The id as given by the caller; text that did not parse fails the call before I/O.
using KeyId = Result<ObjectId>;

inline Result<void> check_id(const KeyId& id) {
  if (!id) return id.error();
  return {};
}

/// What most key calls share: nothing to check beyond a logged-in user, and no body.
struct BodilessKeySpec {
  Result<void> check_input() const { return {}; }
  Result<void> check(const User&) const { return {}; }
  std::string body() const { return {}; }
};

/// A call on one key named by the caller's id, which is checked before any I/O.
struct IdKeySpec : BodilessKeySpec {
  explicit IdKeySpec(KeyId key_id) : id(std::move(key_id)) {}
  KeyId id;

  Result<void> check_input() const { return check_id(id); }
  std::string path() const { return routes::api_key(id->to_hex()); }
};

struct CreateKeySpec {
  using value_type = ApiKey;
  static constexpr HttpMethod method = HttpMethod::post;
  static constexpr Idempotency idempotency = Idempotency::non_idempotent;
  std::string name;

  Result<void> check_input() const { return {}; }
  template <class = void>  // compiled only where used: see detail/dependent.hpp
  Result<void> check(const User& user) const {
    if (name.empty()) return AppError(errc::invalid_argument, "API key name must not be empty");
    if (user.provider() != provider_name(AuthProvider::email_password)) {
      return AppError(errc::provider_not_allowed,
                      "a user logged in with provider '" + user.provider() +
                          "' cannot create API keys (only local-userpass users can)");
    }
    return {};
  }
  std::string path() const { return routes::api_keys(); }
  template <class = void>
  std::string body() const {
    return wire::create_key_body(name);
  }
  template <class V = void>  // dependent: compiled only where used (detail/dependent.hpp)
  Result<dependent_t<V, ApiKey>> finish(dependent_t<V, Result<HttpResponse>> response, bool) const {
    constexpr std::string_view context = "create API key";
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, context);
    auto key = wire::parse_api_key(response->body, context, response->status);
    wipe(response->body);  // it held the key's only copy outside `key`
    if (key && (!key->key || key->key->empty())) {
      return wire::malformed(context, "'key' is missing, empty or not a string", response->status);
    }
    return key;
  }
};

struct FetchKeySpec : IdKeySpec {
  using value_type = ApiKey;
  static constexpr HttpMethod method = HttpMethod::get;
  static constexpr Idempotency idempotency = Idempotency::idempotent;
  using IdKeySpec::IdKeySpec;

  template <class V = void>  // dependent: compiled only where used (detail/dependent.hpp)
  Result<dependent_t<V, ApiKey>> finish(dependent_t<V, Result<HttpResponse>> response, bool) const {
    constexpr std::string_view context = "fetch API key";
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, context);
    auto key = wire::parse_api_key(response->body, context, response->status);
    if (!key || key->key) wipe(response->body);  // a value the server should not have sent
    if (key) key->key.reset();                   // only create() returns the value (DESIGN.md)
    return key;
  }
};

struct FetchKeysSpec : BodilessKeySpec {
  using value_type = std::vector<ApiKey>;
  static constexpr HttpMethod method = HttpMethod::get;
  static constexpr Idempotency idempotency = Idempotency::idempotent;

  std::string path() const { return routes::api_keys(); }
  template <class V = void>  // dependent: compiled only where used (detail/dependent.hpp)
  Result<std::vector<dependent_t<V, ApiKey>>> finish(dependent_t<V, Result<HttpResponse>> response,
                                                     bool) const {
    constexpr std::string_view context = "fetch API keys";
    if (!response) return std::move(response).error();
    if (!is_success(response->status)) return error_from_response(*response, context);
    auto keys = wire::parse_api_key_list(response->body, context, response->status);
    // Values the server should not have sent; only then is the body worth wiping.
    if (!keys || wire::any_key_value(*keys)) wipe(response->body);
    if (keys) {
      for (auto& key : *keys) key.key.reset();
    }
    return keys;
  }
};

/// enable (true) or disable (false).
struct SetKeyEnabledSpec : IdKeySpec {
  using value_type = void;
  static constexpr HttpMethod method = HttpMethod::put;
  static constexpr Idempotency idempotency = Idempotency::idempotent;
  SetKeyEnabledSpec(KeyId key_id, bool enable_it)
      : IdKeySpec(std::move(key_id)), enable(enable_it) {}
  bool enable;

  std::string path() const {
    return enable ? routes::api_key_enable(id->to_hex()) : routes::api_key_disable(id->to_hex());
  }
  template <class = void>
  Result<void> finish(Result<HttpResponse> response, bool) const {
    return expect_success(std::move(response), enable ? "enable API key" : "disable API key");
  }
};

struct RemoveKeySpec : IdKeySpec {
  using value_type = void;
  static constexpr HttpMethod method = HttpMethod::del;
  static constexpr Idempotency idempotency = Idempotency::idempotent;
  using IdKeySpec::IdKeySpec;

  template <class = void>
  Result<void> finish(Result<HttpResponse> response, bool earlier_outcome_unknown) const {
    auto outcome = expect_success(std::move(response), "delete API key");
    // A retry that finds the key gone after an attempt that may have reached the
    // server: that attempt deleted it (RetryPolicy).
    if (!outcome && earlier_outcome_unknown && outcome.error().value() == errc::api_key_not_found) {
      return {};
    }
    return outcome;
  }
};

using CreateKey = KeyCall<CreateKeySpec>;
using FetchKey = KeyCall<FetchKeySpec>;
using FetchKeys = KeyCall<FetchKeysSpec>;
using SetKeyEnabled = KeyCall<SetKeyEnabledSpec>;
using RemoveKey = KeyCall<RemoveKeySpec>;

}  // namespace appkeys::detail::steps
