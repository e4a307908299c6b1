// appkeys server — parsing `--store URI`.
#include <appkeys/server/store_uri.hpp>

#include <libpq-fe.h>

#include <charconv>
#include <memory>
#include <stdexcept>
#include <vector>

namespace appkeys::server {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

constexpr std::string_view accepted =
    " (use sqlite:PATH, e.g. sqlite:appkeys.db, postgresql://USER@HOST/DB, or memory:)";

[[noreturn]] void refuse(std::string_view shown, std::string_view why) {
  throw std::invalid_argument("bad store URI '" + std::string(shown) + "': " + std::string(why) +
                              std::string(accepted));
}

/// The URI with the password of its user part replaced by "***", for messages (a
/// `password=` parameter is dropped by the caller before anything is shown).
std::string without_password(std::string_view text) {
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::string(text);
  const std::size_t start = scheme_end + 3;
  const std::size_t authority_end = text.find_first_of("/?", start);
  const std::string_view authority = text.substr(start, authority_end - start);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(text);
  const std::size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(text);
  std::string out(text.substr(0, start + colon + 1));
  out += "***";
  out += text.substr(start + at);
  return out;
}

struct ConninfoOptions {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

StoreUri parse_postgres(std::string_view text) {
  std::string shown = without_password(text);
  StoreUri uri;
  uri.kind = StoreUri::Kind::postgresql;
  // appkeys' own parameters come out of the query before libpq, which refuses
  // parameters it does not know, sees it.
  std::string conninfo(text.substr(0, text.find('?')));
  if (const std::size_t query = text.find('?'); query != std::string_view::npos) {
    std::string_view rest = text.substr(query + 1);
    std::string kept;
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view param = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
      if (starts_with(param, "pool_size=")) {
        const std::string_view value = param.substr(10);
        std::size_t size = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
        if (ec != std::errc{} || end != value.data() + value.size() || size < 1 || size > 1000) {
          refuse(shown, "pool_size must be a number from 1 to 1000");
        }
        uri.pool_size = size;
        continue;
      }
      if (starts_with(param, "password=")) {
        shown = "postgresql://...";  // too much work to redact in place; say less instead
      }
      kept += kept.empty() ? "" : "&";
      kept += param;
    }
    if (!kept.empty()) conninfo += "?" + kept;
  }
  if (conninfo.find('\0') != std::string::npos) refuse(shown, "it holds a NUL byte");
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, ConninfoOptions> options(
      PQconninfoParse(conninfo.c_str(), &error));
  if (!options) {
    // libpq's reason names the part it could not read; it could be the password, so
    // it is left out unless the URI has none.
    std::string reason = error != nullptr ? error : "libpq could not parse it";
    PQfreemem(error);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    if (shown != std::string(text)) reason = "libpq could not parse it";
    refuse(shown, reason);
  }
  uri.conninfo = std::move(conninfo);
  return uri;
}

/// `keyword` of a parsed libpq conninfo, or "" when unset.
std::string option_value(const PQconninfoOption* options, std::string_view keyword) {
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (keyword == option->keyword && option->val != nullptr) return option->val;
  }
  return {};
}

}  // namespace

std::string StoreUri::to_string() const {
  switch (kind) {
    case Kind::memory:
      return "memory:";
    case Kind::sqlite:
      return "sqlite:" + path;
    case Kind::postgresql:
      break;
  }
  // Rebuilt from what libpq parsed: the user, host, port and database, never a password.
  std::unique_ptr<PQconninfoOption, ConninfoOptions> options(
      PQconninfoParse(conninfo.c_str(), nullptr));
  if (!options) return "postgresql://";
  std::string out = "postgresql://";
  const std::string user = option_value(options.get(), "user");
  if (!user.empty()) out += user + "@";
  const std::string host = option_value(options.get(), "host");
  const bool socket_dir = !host.empty() && host.front() == '/';
  if (!socket_dir) out += host;
  const std::string port = option_value(options.get(), "port");
  if (!port.empty() && !socket_dir) out += ":" + port;
  out += "/" + option_value(options.get(), "dbname");
  // A Unix socket directory is a parameter in a URI (a path cannot be its host part).
  if (socket_dir) out += "?host=" + host + (port.empty() ? "" : "&port=" + port);
  return out;
}

StoreUri parse_store_uri(std::string_view text) {
  if (text == "memory:") return StoreUri{StoreUri::Kind::memory, {}, {}, 0};
  if (starts_with(text, "sqlite:")) {
    std::string_view path = text.substr(7);
    // sqlite:///abs/path and sqlite://rel are URL spellings people try: accept the
    // first as the absolute path, refuse a host part.
    if (starts_with(path, "///")) {
      path.remove_prefix(2);
    } else if (starts_with(path, "//")) {
      refuse(text, "a host is not allowed (sqlite:///ABSOLUTE/PATH or sqlite:RELATIVE/PATH)");
    }
    if (path.empty()) refuse(text, "the SQLite file path is empty");
    if (path.find('\0') != std::string_view::npos) refuse(text, "the path holds a NUL byte");
    if (path == ":memory:") refuse(text, "for an in-memory store use memory:");
    return StoreUri{StoreUri::Kind::sqlite, std::string(path), {}, 0};
  }
  if (starts_with(text, "postgresql://") || starts_with(text, "postgres://")) {
    return parse_postgres(text);
  }
  if (starts_with(text, "postgresql:") || starts_with(text, "postgres:")) {
    refuse(without_password(text), "a PostgreSQL URI starts with postgresql://");
  }
  if (text.empty()) refuse(text, "it is empty");
  refuse(without_password(text), "unknown scheme");
}

}  // namespace appkeys::server
