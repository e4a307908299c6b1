// appkeys — strict, non-throwing JSON access on top of nlohmann/json.
//
// Compiled only where used: each function below that uses nlohmann/json is a template
// (`template <class T = void>`) that names the JSON type `Json<T>`, so that a translation
// unit that includes this header but never calls it does not instantiate nlohmann/json's
// templates for it. Without that, every program that includes <appkeys/appkeys.hpp>
// pays for all of them.
#pragma once

#include <appkeys/detail/dependent.hpp>
#include <appkeys/detail/wipe.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace appkeys::detail {

using json = nlohmann::json;

/// `json`, spelled so that it depends on `T` (see detail/dependent.hpp). A function
/// template whose parameter is unused still has its non-dependent calls resolved where
/// it is defined: GCC then deduces and instantiates, say, json::parse's input adapters in
/// every program that includes the header. Writing the type as Json<T> makes every such
/// call dependent, so it is resolved only where the function is instantiated: 7 MB less
/// of GCC's memory in every program that includes <appkeys/appkeys.hpp> (320 -> 313 MB
/// at -O0).
template <class T>
using Json = dependent_t<T, json>;

/// Deeper nesting than this is refused before parsing: no answer of this protocol
/// nests more than three levels, and a hostile body should cost nothing.
inline constexpr std::size_t max_json_depth = 64;

/// Nesting depth of a JSON text, counting brackets outside strings; stops early once
/// `limit` is exceeded.
template <class = void>  // compiled only where used: see detail/dependent.hpp
inline std::size_t json_depth(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

/// Feeds all of `text` to `sax` (nlohmann/json's SAX interface), strictly, never
/// throwing; false when the text is not valid JSON or a handler stopped the parse.
///
/// nlohmann/json's parser is called directly (its detail namespace, with these
/// signatures from 3.9 on; the library requires 3.11): basic_json::sax_parse picks the
/// JSON or a binary-format reader at run time and so compiles the CBOR, MessagePack,
/// UBJSON and BSON readers for every handler (43 MB more of GCC's memory for a program
/// that fetches a key), and json::parse compiles a second document builder, the one
/// that calls a parser callback (8 MB more).
template <class T, class Sax>
inline bool sax_parse_json(std::string_view text, Sax& sax) {
  auto input = nlohmann::detail::input_adapter(text.begin(), text.end());
  nlohmann::detail::parser<Json<T>, decltype(input)> parser(std::move(input), nullptr,
                                                            /*allow_exceptions_=*/false);
  return parser.sax_parse(&sax, /*strict=*/true);
}

/// Parses `text`, never throwing: nullopt for invalid or too deeply nested JSON.
template <class T = void>
inline std::optional<Json<T>> parse_json(std::string_view text) {
  if (json_depth(text, max_json_depth) > max_json_depth) return std::nullopt;
  std::optional<Json<T>> value(std::in_place);
  nlohmann::detail::json_sax_dom_parser<Json<T>> builder(*value, /*allow_exceptions_=*/false);
  if (!sax_parse_json<T>(text, builder)) return std::nullopt;
  return value;
}

/// The string member `key` of `object`, or nullptr when absent or not a string.
template <class T = void>
inline const std::string* string_member(const Json<T>& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return it->template get_ptr<const std::string*>();
}

/// Serializes without throwing on invalid UTF-8 (replaced by U+FFFD): caller-supplied
/// strings (a key name, an email) must not turn into an exception.
template <class T = void>
inline std::string dump_json(const Json<T>& value) {
  return value.dump(-1, ' ', false, Json<T>::error_handler_t::replace);
}

}  // namespace appkeys::detail
