// appkeys — ApiKeyReader: one API key read from a JSON body as the parser goes.
#pragma once

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/wipe.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace appkeys::detail::wire {

/// What one API key object held, however it was read (a parsed document, or an
/// ApiKeyReader), for wire::api_key_from_parts, which applies the rules once. The
/// pointers are null for a field that is absent or of another type; they point into
/// the reader, which must outlive this.
struct ApiKeyParts {
  bool is_object = false;
  const std::string* id = nullptr;
  const std::string* name = nullptr;
  const bool* disabled = nullptr;
  const std::string* key = nullptr;  // null also when "key" is null
  bool key_not_string = false;       // "key" holds neither a string nor null
};

/// The fields of one API key object, taken from nlohmann/json's SAX events instead of a
/// parsed document: a create or fetch answer is read without building a tree of maps
/// and strings first (about half of the parse's instructions; this runs once per call).
/// What it keeps matches what the document would hold: the fields of the top-level
/// object only, the last value of a repeated field, and for each field whether it was
/// absent, of another type, or (for "key") null. fuzz_api_key_list checks it against
/// the document reading of a key list's elements.
///
/// The "key" value is copied out, then wiped in the parser's buffer.
template <class T>
class ApiKeyReader {
  using Value = Json<T>;
  using string_t = typename Value::string_t;

  /// What a field of the object held.
  enum class Kind { absent, string, boolean, null, other };
  struct Field {
    Kind kind = Kind::absent;
    std::string text;   // when kind == string
    bool flag = false;  // when kind == boolean
  };
  /// What the top-level object held (all absent when it is not an object).
  struct Fields {
    Field id, name, disabled, key;
  };

 public:
  ~ApiKeyReader() { wipe(fields_.key.text); }

  /// What the body held; valid while this reader lives.
  ApiKeyParts parts() const noexcept {
    const auto text = [](const Field& field) {
      return field.kind == Kind::string ? &field.text : nullptr;
    };
    ApiKeyParts out;
    out.is_object = top_is_object_;
    out.id = text(fields_.id);
    out.name = text(fields_.name);
    out.disabled = fields_.disabled.kind == Kind::boolean ? &fields_.disabled.flag : nullptr;
    out.key = text(fields_.key);
    out.key_not_string = fields_.key.kind == Kind::boolean || fields_.key.kind == Kind::other;
    return out;
  }

  /// Parses `body`; false when it is not valid JSON or nests deeper than
  /// max_json_depth.
  bool read(std::string_view body) { return sax_parse_json<T>(body, *this) && !failed_; }

  // -- nlohmann/json's SAX interface --------------------------------------------------
  bool null() { return scalar(Kind::null); }
  bool boolean(bool value) {
    if (Field* field = target()) {
      field->kind = Kind::boolean;
      field->flag = value;
    }
    return true;
  }
  bool number_integer(typename Value::number_integer_t) { return scalar(Kind::other); }
  bool number_unsigned(typename Value::number_unsigned_t) { return scalar(Kind::other); }
  bool number_float(typename Value::number_float_t, const string_t&) { return scalar(Kind::other); }
  bool string(string_t& value) {
    if (Field* field = target()) {
      field->kind = Kind::string;
      wipe(field->text);  // a repeated "key" leaves no earlier value behind
      field->text = value;
      if (field == &fields_.key) wipe(value);
    }
    return true;
  }
  bool binary(typename Value::binary_t&) { return scalar(Kind::other); }
  bool start_object(std::size_t) { return open(/*object=*/true); }
  bool key(string_t& name_of_field) {
    if (depth_ == 1) current_ = field_named(name_of_field);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(/*object=*/false); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const typename Value::exception&) {
    failed_ = true;
    return false;
  }

 private:
  /// The field a value at the current position belongs to: only values directly in
  /// the top-level object count.
  Field* target() const noexcept { return depth_ == 1 ? current_ : nullptr; }

  bool scalar(Kind kind) {
    if (Field* field = target()) field->kind = kind;
    return true;
  }

  /// Nesting deeper than max_json_depth ends the parse as invalid JSON, as
  /// parse_json's check does for a document (the parser itself does not recurse).
  bool open(bool object) {
    if (depth_ == 0) top_is_object_ = object;
    if (Field* field = target()) field->kind = Kind::other;  // e.g. "_id": {...}
    return ++depth_ <= max_json_depth;
  }
  bool close() {
    --depth_;
    return true;
  }

  Field* field_named(std::string_view name_of_field) noexcept {
    if (name_of_field == "_id") return &fields_.id;
    if (name_of_field == "name") return &fields_.name;
    if (name_of_field == "disabled") return &fields_.disabled;
    if (name_of_field == "key") return &fields_.key;
    return nullptr;
  }

  bool top_is_object_ = false;
  Fields fields_;
  std::size_t depth_ = 0;
  Field* current_ = nullptr;  // the field of the value that comes next at depth 1
  bool failed_ = false;
};

}  // namespace appkeys::detail::wire
