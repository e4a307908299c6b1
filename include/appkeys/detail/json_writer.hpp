// appkeys — JsonObjectWriter: writes the client's request bodies as JSON text.
//
// Why not nlohmann/json: a request body is a flat object of strings, and building one
// as a document and dumping it compiled the document type and its whole serializer
// (dump, the number formatting, grisu) into every program that logs in: 46 MB of GCC's
// memory and 0.25 s of CPU at -O0. This writes the text directly.
//
// Its output is byte for byte what the client sent before, i.e. what
// nlohmann::json::dump(-1, ' ', false, error_handler_t::replace) writes for the same
// object (tests/json_writer_test.cpp and fuzz/fuzz_json_writer.cpp hold it to that):
//  - members in the order written; nlohmann/json keeps an object's members in a
//    std::map, so callers write them sorted bytewise (checked by an assert);
//  - in strings, '"' and '\\' escaped, \b \f \n \r \t as such, other bytes below 0x20
//    as \u00xx, everything else as is (no \u escapes for non-ASCII);
//  - a byte sequence that is not UTF-8 becomes U+FFFD: each maximal subpart of an
//    ill-formed sequence (the Unicode Standard, §3.9, "U+FFFD Substitution of
//    Maximal Subparts") gives one U+FFFD, which is what nlohmann/json's DFA does: a rejected
//    byte after an unfinished sequence is read again as a start, a byte that cannot
//    start a sequence is one U+FFFD by itself, and a sequence cut off by the end of the
//    string is one U+FFFD.
//
// Secrets: the writer appends to the caller's string and makes no copy of its own.
// A caller that writes a password or key reserves json_string_bound() room for every
// string first, so the string never reallocates (leaving a copy in freed memory) once
// the secret is in it.
//
// Compiled only where used, as wire.hpp is: the functions are templates, and the calls
// in append_json_string depend on its String parameter, so that a program that never
// writes a body (one that includes <appkeys/appkeys.hpp> and does not log in) does not
// compile them. As plain inline functions they cost such a program 1 MB of GCC's
// memory at -O0 (296 -> 297 MB).
#pragma once

#include <cassert>
#include <cstddef>
#include <string>
#include <string_view>

namespace appkeys::detail {

/// The most bytes append_json_string writes for a string of `size` bytes: two quotes,
/// and at most six bytes per byte (a control byte as \u00xx; U+FFFD's three bytes
/// replace at least one).
constexpr std::size_t json_string_bound(std::size_t size) noexcept { return 2 + 6 * size; }

/// The most bytes one string member `"key":"value",` takes.
constexpr std::size_t json_member_bound(std::string_view key, std::size_t value_size) noexcept {
  return json_string_bound(key.size()) + 1 + json_string_bound(value_size) + 1;
}

/// The UTF-8 sequence that starts at text[at]: its size in bytes, and whether it is
/// well-formed. When it is not, `size` is the length of its maximal subpart (the
/// longest prefix that a well-formed sequence could start with), at least 1.
struct Utf8Sequence {
  std::size_t size;
  bool valid;
};

template <class = void>
inline Utf8Sequence utf8_sequence_at(std::string_view text, std::size_t at) noexcept {
  const auto lead = static_cast<unsigned char>(text[at]);
  // The range of the second byte depends on the lead (this excludes overlong forms,
  // the surrogates D800..DFFF and code points above U+10FFFF); later bytes are
  // 80..BF.
  std::size_t need = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return {1, lead < 0x80};  // ASCII, or a byte no sequence starts with
  }
  std::size_t size = 1;
  while (size < need && at + size < text.size()) {
    const auto next = static_cast<unsigned char>(text[at + size]);
    if (next < low || next > high) break;
    ++size;
    low = 0x80;
    high = 0xBF;
  }
  return {size, size == need};
}

/// Appends `text` to `out` (a std::string) as a JSON string, quotes included (rules
/// above).
template <class String>
inline void append_json_string(String& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t at = 0;
  while (at < text.size()) {
    const char c = text[at];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const Utf8Sequence sequence = utf8_sequence_at(text, at);
      if (sequence.valid) {
        out.append(text.data() + at, sequence.size);
      } else {
        out.append("\xEF\xBF\xBD", 3);
      }
      at += sequence.size;
      continue;
    }
    ++at;
    switch (c) {
      case '"':
        out.append("\\\"", 2);
        break;
      case '\\':
        out.append("\\\\", 2);
        break;
      case '\b':
        out.append("\\b", 2);
        break;
      case '\f':
        out.append("\\f", 2);
        break;
      case '\n':
        out.append("\\n", 2);
        break;
      case '\r':
        out.append("\\r", 2);
        break;
      case '\t':
        out.append("\\t", 2);
        break;
      default:
        if (byte < 0x20) {
          const char escape[6] = {'\\', 'u', '0', '0', hex[byte >> 4], hex[byte & 0xF]};
          out.append(escape, 6);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

/// Writes one JSON object at the end of a string: `{` on construction, then members,
/// then `}` on end(). Keys must be given in bytewise ascending order (as nlohmann/json
/// would sort them) and must outlive the writer (the assert compares with the last
/// one); they are the protocol's field names, string literals. A nested object from
/// object() must be ended before its parent gets another member. wire_requests.hpp's templates
/// name it JsonObjectWriter<T>, so that it is compiled only where they are.
template <class = void>
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(&out) { out.push_back('{'); }

  /// A string member.
  JsonObjectWriter& string(std::string_view key, std::string_view value) {
    write_key(key);
    append_json_string(*out_, value);
    return *this;
  }

  /// A member whose value is JSON text written by another writer (copied as is).
  JsonObjectWriter& raw(std::string_view key, std::string_view json) {
    write_key(key);
    out_->append(json);
    return *this;
  }

  /// An object member: the writer of its members.
  JsonObjectWriter object(std::string_view key) {
    write_key(key);
    return JsonObjectWriter(*out_);
  }

  void end() { out_->push_back('}'); }

 private:
  void write_key(std::string_view key) {
    assert((first_ || last_key_ < key) && "JSON members must be written in sorted order");
    if (!first_) out_->push_back(',');
    first_ = false;
    last_key_ = key;
    append_json_string(*out_, key);
    out_->push_back(':');
  }

  std::string* out_;
  std::string_view last_key_{};
  bool first_ = true;
};

}  // namespace appkeys::detail
