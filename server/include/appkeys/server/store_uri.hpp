// appkeys server — the `--store URI` of `appkeys serve` and `appkeys users`.
#pragma once

#include <string>
#include <string_view>

namespace appkeys::server {

/// A parsed store URI. Thread safety: a value type.
struct StoreUri {
  /// Which Store.
  enum class Kind {
    memory,  ///< `memory:`: in process memory, gone when the process ends.
    sqlite,  ///< `sqlite:PATH`: one SQLite file (created if absent).
  };
  Kind kind = Kind::sqlite;  ///< Which store.
  std::string path;          ///< For sqlite: the file, as given.

  /// The URI again, canonical (`memory:` or `sqlite:PATH`).
  std::string to_string() const;
};

/// The default: `sqlite:appkeys.db`, in the working directory.
inline constexpr std::string_view default_store_uri = "sqlite:appkeys.db";

/// Parses `memory:` or `sqlite:PATH` (PATH relative to the working directory, or
/// absolute). Throws std::invalid_argument with a message that says what is accepted for
/// anything else (an empty path, an unknown scheme, `postgresql://`, which is not built
/// yet).
StoreUri parse_store_uri(std::string_view text);

}  // namespace appkeys::server
