// appkeys — ApiKey, one user API key as the server describes it.
#pragma once

#include <appkeys/object_id.hpp>
#include <appkeys/secret.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace appkeys {

/// One user API key. `key` holds the secret value only on the ApiKey that create()
/// returns: the server keeps a hash and never sends the value again.
///
/// Printing an ApiKey shows the id, name and state, and "[redacted]" for the value.
///
/// Thread safety: a value type; distinct objects are independent.
struct ApiKey {
  ObjectId id;                ///< The key's id, 24 hex characters on the wire.
  std::string name;           ///< Unique among the user's keys.
  bool disabled = false;      ///< A disabled key cannot log in until enabled again.
  std::optional<Secret> key;  ///< The secret value: only on what create() returns.

  friend bool operator==(const ApiKey&, const ApiKey&) = default;

  friend std::ostream& operator<<(std::ostream& out, const ApiKey& api_key) {
    out << "ApiKey{id=" << api_key.id << ", name=\"" << api_key.name
        << "\", disabled=" << (api_key.disabled ? "true" : "false") << ", key=";
    if (api_key.key) {
      out << *api_key.key;
    } else {
      out << "none";
    }
    return out << '}';
  }
};

}  // namespace appkeys
