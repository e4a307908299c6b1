// appkeys server — parsing `--store URI`.
#include <appkeys/server/store_uri.hpp>

#include <stdexcept>

namespace appkeys::server {

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

[[noreturn]] void refuse(std::string_view text, std::string_view why) {
  throw std::invalid_argument("bad store URI '" + std::string(text) + "': " + std::string(why) +
                              " (use sqlite:PATH, e.g. sqlite:appkeys.db, or memory:)");
}

}  // namespace

std::string StoreUri::to_string() const {
  return kind == Kind::memory ? std::string("memory:") : "sqlite:" + path;
}

StoreUri parse_store_uri(std::string_view text) {
  if (text == "memory:") return StoreUri{StoreUri::Kind::memory, {}};
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
    return StoreUri{StoreUri::Kind::sqlite, std::string(path)};
  }
  if (starts_with(text, "postgresql:") || starts_with(text, "postgres:")) {
    refuse(text, "PostgreSQL stores are not supported by this build yet");
  }
  if (text.empty()) refuse(text, "it is empty");
  refuse(text, "unknown scheme");
}

}  // namespace appkeys::server
