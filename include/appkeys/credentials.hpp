// appkeys — Credentials: how a user logs in.
#pragma once

#include <appkeys/secret.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys {

/// The login providers this library speaks, with their wire names.
enum class AuthProvider { email_password, anonymous, api_key };

/// The provider's name in URLs and in User::provider(): "local-userpass",
/// "anon-user", "api-key".
constexpr std::string_view provider_name(AuthProvider provider) noexcept {
  switch (provider) {
    case AuthProvider::email_password:
      return "local-userpass";
    case AuthProvider::anonymous:
      return "anon-user";
    case AuthProvider::api_key:
      return "api-key";
  }
  return "unknown";
}

/// What App::log_in sends. Passwords and keys are held as Secrets; printing shows the
/// provider and the email, never a secret.
///
/// Thread safety: a value type; const member functions may be called concurrently.
class Credentials {
 public:
  /// An email/password user (provider "local-userpass"), as registered with
  /// App::register_email.
  static Credentials email_password(std::string_view email, std::string_view password) {
    return Credentials(AuthProvider::email_password, std::string(email), Secret(password));
  }
  /// A new anonymous user (provider "anon-user"); it may not create API keys.
  static Credentials anonymous() { return Credentials(AuthProvider::anonymous, {}, {}); }
  /// Logs in on behalf of the key's owner.
  static Credentials api_key(std::string_view key) {
    return Credentials(AuthProvider::api_key, {}, Secret(key));
  }
  /// As api_key(std::string_view), for a key already held as a Secret (no extra copy
  /// of the value lingers).
  static Credentials api_key(Secret key) {
    return Credentials(AuthProvider::api_key, {}, std::move(key));
  }

  /// Which provider these credentials log in with.
  AuthProvider provider() const noexcept { return provider_; }
  /// The provider's wire name ("local-userpass", "anon-user", "api-key").
  std::string_view provider_name() const noexcept { return appkeys::provider_name(provider_); }
  /// The email of email/password credentials; empty otherwise.
  const std::string& email() const noexcept { return email_; }
  /// The password (email/password) or the key value (API key); empty for anonymous.
  const Secret& secret() const noexcept { return secret_; }

  friend std::ostream& operator<<(std::ostream& out, const Credentials& credentials) {
    out << "Credentials{provider=" << credentials.provider_name();
    if (!credentials.email_.empty()) out << ", email=" << credentials.email_;
    if (!credentials.secret_.empty()) out << ", secret=" << credentials.secret_;
    return out << '}';
  }

 private:
  Credentials(AuthProvider provider, std::string email, Secret secret)
      : provider_(provider), email_(std::move(email)), secret_(std::move(secret)) {}

  AuthProvider provider_;
  std::string email_;
  Secret secret_;
};

}  // namespace appkeys
