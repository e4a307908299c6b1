// appkeys server — the `--store URI` of `appkeys serve` and `appkeys users`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace appkeys::server {

/// A parsed store URI. Thread safety: a value type.
struct StoreUri {
  /// Which Store.
  enum class Kind {
    memory,      ///< `memory:`: in process memory, gone when the process ends.
    sqlite,      ///< `sqlite:PATH`: one SQLite file (created if absent).
    postgresql,  ///< `postgresql://...`: a PostgreSQL database several servers share.
  };
  Kind kind = Kind::sqlite;  ///< Which store.
  std::string path;          ///< For sqlite: the file, as given.
  /// For postgresql: the libpq URI without appkeys' own parameters. It may hold a
  /// password: never print it (to_string() leaves the password out).
  std::string conninfo;
  /// For postgresql: `pool_size=N` from the URI (connections per server); 0: the default.
  std::size_t pool_size = 0;

  /// The URI again, canonical and safe to print (`memory:`, `sqlite:PATH`, or
  /// `postgresql://USER@HOST:PORT/DB` with the password, if any, left out).
  std::string to_string() const;
};

/// The default: `sqlite:appkeys.db`, in the working directory.
inline constexpr std::string_view default_store_uri = "sqlite:appkeys.db";

/// Parses `memory:`, `sqlite:PATH` (PATH relative to the working directory, or
/// absolute) or a libpq URI `postgresql://[USER[:PASSWORD]@][HOST][:PORT][/DB][?PARAMS]`
/// (`postgres://` too; PARAMS are libpq's, e.g. sslmode, connect_timeout, host=/socket/dir,
/// plus appkeys' own `pool_size=N`). Throws std::invalid_argument with a message that
/// says what is accepted (and never holds the password) for anything else.
StoreUri parse_store_uri(std::string_view text);

}  // namespace appkeys::server
