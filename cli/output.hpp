// appkeys command — how keys are shown: a readable table or JSON.
#pragma once

#include <appkeys/api_key.hpp>
#include <appkeys/detail/json.hpp>

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <string>
#include <vector>

namespace appkeys::cli {

inline detail::json key_to_json(const ApiKey& key, bool include_value) {
  detail::json out = detail::json::object();
  out["_id"] = key.id.to_hex();
  out["name"] = key.name;
  out["disabled"] = key.disabled;
  if (include_value && key.key) out["key"] = std::string(key.key->reveal());
  return out;
}

inline void print_json(std::ostream& out, const detail::json& value) {
  out << detail::dump_json(value) << '\n';
}

inline void print_table(std::ostream& out, const std::vector<ApiKey>& keys) {
  std::size_t name_width = 4;
  for (const auto& key : keys) name_width = std::max(name_width, key.name.size());
  out << std::left << std::setw(26) << "ID" << std::setw(static_cast<int>(name_width) + 2) << "NAME"
      << "STATE" << '\n';
  for (const auto& key : keys) {
    out << std::setw(26) << key.id.to_hex() << std::setw(static_cast<int>(name_width) + 2)
        << key.name << (key.disabled ? "disabled" : "enabled") << '\n';
  }
  if (keys.empty()) out << "(no keys)\n";
}

}  // namespace appkeys::cli
