// appkeys — the members a response needs, read from a JSON body as the parser goes.
//
// Every answer the client reads (a key, a key list, a login, a refresh, the location,
// the profile, an error body, a token's claims) is read by one JsonMembersReader, fed
// by nlohmann/json's SAX events, instead of building a document of maps and strings
// first. A parse costs fewer instructions (6.5k fewer for one key, callgrind), and a
// program compiles one SAX handler instead of nlohmann/json's document builder: 19 MB
// less of GCC's memory at -O0 for the six-call client of benchmarks/compile_time
// (552 -> 533 MB), and with detail/json_writer.hpp no document code at all (452 MB).
#pragma once

#include <appkeys/detail/json.hpp>
#include <appkeys/detail/wipe.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace appkeys::detail {

/// What one member of a JSON object held: what a document's `object[name]` would be,
/// reduced to what the protocol reads. A repeated member keeps its last value, as in a
/// document.
struct JsonMember {
  enum class Kind : unsigned char { absent, string, boolean, number, null, other };
  Kind kind = Kind::absent;
  std::string text;   // when kind == string
  bool flag = false;  // when kind == boolean
  double number = 0;  // when kind == number

  JsonMember() = default;
  JsonMember(const JsonMember&) = delete;
  JsonMember& operator=(const JsonMember&) = delete;
  /// Texts may be tokens or key values.
  ~JsonMember() { wipe(text); }

  const std::string* string() const noexcept { return kind == Kind::string ? &text : nullptr; }
  const bool* boolean() const noexcept { return kind == Kind::boolean ? &flag : nullptr; }
  const double* numeric() const noexcept { return kind == Kind::number ? &number : nullptr; }

  void clear() noexcept {
    wipe(text);
    kind = Kind::absent;
  }
};

/// The members of one object that a reader looks for: `names[i]` is read into
/// `members[i]`; other members are skipped.
struct JsonFields {
  const std::string_view* names = nullptr;
  JsonMember* members = nullptr;
  std::size_t count = 0;

  JsonMember* find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < count; ++i) {
      if (names[i] == name) return &members[i];
    }
    return nullptr;
  }
  void clear() const noexcept {
    for (std::size_t i = 0; i < count; ++i) members[i].clear();
  }
};

/// Where the elements of a list go, as they are read. Plain function pointers, not a
/// template parameter: every list shares one reader.
struct JsonListSink {
  void* context = nullptr;
  /// A value for the list starts: what earlier values gave is dropped (a repeated
  /// member keeps its last value).
  void (*begin)(void* context) = nullptr;
  /// One element has been read: an object, whose members are in `fields`, or
  /// (is_object false, fields all absent) any other value.
  void (*element)(void* context, bool is_object, const JsonFields& fields) = nullptr;
};

/// Reads the members `top` names of the top-level object and, when given a list, each
/// element of one array of objects: the top-level array (list name empty), or the
/// array that the top-level member of that name holds. Everything else is skipped.
/// Strings it keeps are wiped in the parser's buffer once copied (they may be tokens
/// or key values).
///
/// Thread safety: one reader, one thread.
template <class T>
class JsonMembersReader {
  using Value = Json<T>;
  using string_t = typename Value::string_t;

 public:
  enum class Shape : unsigned char { absent, object, array, other };

  explicit JsonMembersReader(JsonFields top) : top_(top) {}

  /// Also reads the list named `name` (see above) into `sink`, each element's members
  /// as `element` names them.
  void read_list(std::string_view name, JsonFields element, JsonListSink sink) {
    list_name_ = name;
    element_ = element;
    sink_ = sink;
  }

  /// Parses `body`; false when it is not valid JSON or nests deeper than
  /// max_json_depth. The fields and the sink hold what was read.
  bool read(std::string_view body) { return sax_parse_json<T>(body, *this) && !failed_; }

  /// What the body was: an object, an array, or another value.
  Shape top_shape() const noexcept { return top_shape_; }
  /// What the list's value was (the last one, if repeated).
  Shape list_shape() const noexcept { return list_shape_; }

  // -- nlohmann/json's SAX interface --------------------------------------------------
  bool null() {
    start_value(Shape::other, JsonMember::Kind::null);
    return true;
  }
  bool boolean(bool value) {
    if (JsonMember* member = start_value(Shape::other, JsonMember::Kind::boolean)) {
      member->flag = value;
    }
    return true;
  }
  bool number_integer(typename Value::number_integer_t value) {
    return number(static_cast<double>(value));
  }
  bool number_unsigned(typename Value::number_unsigned_t value) {
    return number(static_cast<double>(value));
  }
  bool number_float(typename Value::number_float_t value, const string_t&) {
    return number(static_cast<double>(value));
  }
  bool string(string_t& value) {
    if (JsonMember* member = start_value(Shape::other, JsonMember::Kind::string)) {
      member->text = value;
      wipe(value);
    }
    return true;
  }
  bool binary(typename Value::binary_t&) {
    start_value(Shape::other, JsonMember::Kind::other);
    return true;
  }
  bool start_object(std::size_t) { return open(Shape::object); }
  bool key(string_t& name) {
    if (depth_ == 1) {
      current_ = top_.find(name);
      list_member_next_ = reads_list() && !list_name_.empty() && name == list_name_;
    } else if (in_element_ && depth_ == list_depth_ + 1) {
      current_ = element_.find(name);
    }
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(Shape::array); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const typename Value::exception&) {
    failed_ = true;
    return false;
  }

 private:
  /// Notes where a value starting at the current depth belongs, and returns the member
  /// it is the value of, if one is read. `shape` is the value's, for containers.
  JsonMember* value_target(Shape shape) {
    if (depth_ == 0) {
      top_shape_ = shape;
      if (reads_list() && list_name_.empty() && shape == Shape::array) begin_list(1);
      return nullptr;
    }
    if (list_depth_ != 0 && depth_ == list_depth_) {  // an element of the list
      element_.clear();
      if (shape == Shape::object) {
        in_element_ = true;
      } else {
        sink_.element(sink_.context, false, element_);
      }
      return nullptr;
    }
    if (depth_ == 1) {
      if (list_member_next_) {
        list_member_next_ = false;
        list_shape_ = shape;
        if (shape == Shape::array) begin_list(2);
      }
      return top_shape_ == Shape::object ? current_ : nullptr;
    }
    if (in_element_ && depth_ == list_depth_ + 1) return current_;
    return nullptr;
  }

  void begin_list(std::size_t depth) {
    list_depth_ = depth;
    sink_.begin(sink_.context);
  }

  bool reads_list() const noexcept { return sink_.element != nullptr; }

  /// The member a value starting here (of `shape`) is read into, emptied (a repeated
  /// member leaves no earlier value behind) and marked `kind`; nullptr when the value
  /// is not one that is read.
  JsonMember* start_value(Shape shape, JsonMember::Kind kind) {
    JsonMember* member = value_target(shape);
    if (member != nullptr) {
      member->clear();
      member->kind = kind;
    }
    return member;
  }

  bool number(double value) {
    if (JsonMember* member = start_value(Shape::other, JsonMember::Kind::number)) {
      member->number = value;
    }
    return true;
  }

  /// Nesting deeper than max_json_depth ends the parse as invalid JSON, as
  /// parse_json's check does for a document (the parser itself does not recurse).
  bool open(Shape shape) {
    start_value(shape, JsonMember::Kind::other);  // e.g. "_id": {...}
    current_ = nullptr;
    return ++depth_ <= max_json_depth;
  }
  bool close() {
    --depth_;
    current_ = nullptr;
    if (in_element_ && depth_ == list_depth_) {
      in_element_ = false;
      sink_.element(sink_.context, true, element_);
    } else if (list_depth_ != 0 && depth_ + 1 == list_depth_) {
      list_depth_ = 0;  // the list's array is closed
    }
    return true;
  }

  JsonFields top_;
  JsonFields element_;
  JsonListSink sink_;
  std::string_view list_name_;
  Shape top_shape_ = Shape::absent;
  Shape list_shape_ = Shape::absent;
  std::size_t depth_ = 0;
  std::size_t list_depth_ = 0;     // the depth inside the list's array; 0 outside it
  bool in_element_ = false;        // inside an element object of the list
  bool list_member_next_ = false;  // the next value at depth 1 is the list's
  JsonMember* current_ = nullptr;  // the member the next value belongs to
  bool failed_ = false;
};

}  // namespace appkeys::detail
