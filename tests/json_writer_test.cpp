// The request bodies' writer (detail/json_writer.hpp) against what it replaced:
// nlohmann/json's dump(-1, ' ', false, error_handler_t::replace), string by string
// (every byte, UTF-8 well- and ill-formed, random bytes) and body by body (the four
// builders of wire_requests.hpp against the documents the client used to build); and the
// secret-bearing bodies never reallocate once the secret is in them.
#include <appkeys/appkeys.hpp>
#include <appkeys/detail/json_writer.hpp>
#include <appkeys/detail/wire.hpp>
#include <appkeys/detail/wire_requests.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/request_bodies_reference.hpp"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace json_writer_test {

using appkeys::detail::append_json_string;
using appkeys::detail::json_string_bound;
using appkeys::detail::JsonObjectWriter;
namespace wire = appkeys::detail::wire;
using json = nlohmann::json;
namespace reference = request_bodies_reference;
using reference::dump;
using reference::written;

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += digits[byte >> 4];
    out += digits[byte & 0xF];
    out += ' ';
  }
  return out;
}

void check_same_as_nlohmann(std::string_view text) {
  INFO("input bytes: " << hex(text));
  const std::string expected = dump(json(std::string(text)));
  const std::string actual = written(text);
  INFO("expected: " << hex(expected));
  INFO("actual:   " << hex(actual));
  CHECK(actual == expected);
  CHECK(actual.size() <= json_string_bound(text.size()));
}

const std::string fffd = "\xEF\xBF\xBD";

TEST_CASE("append_json_string writes what nlohmann/json's dump writes", "[json_writer]") {
  SECTION("the empty string") {
    CHECK(written("") == "\"\"");
    check_same_as_nlohmann("");
  }
  SECTION("every single byte, alone and between letters") {
    for (int byte = 0; byte < 256; ++byte) {
      const char c = static_cast<char>(byte);
      check_same_as_nlohmann(std::string(1, c));
      check_same_as_nlohmann(std::string("a") + c + "b");
      check_same_as_nlohmann(std::string(3, c));
    }
  }
  SECTION("control characters, quotes and backslashes, spelled out") {
    CHECK(written(std::string_view("\0", 1)) == "\"\\u0000\"");
    CHECK(written("\x1f\x7f") == "\"\\u001f\x7f\"");
    CHECK(written("\x0b") == "\"\\u000b\"");
    CHECK(written("\b\f\n\r\t") == "\"\\b\\f\\n\\r\\t\"");
    CHECK(written("say \"hi\" \\ bye") == "\"say \\\"hi\\\" \\\\ bye\"");
    CHECK(written("/") == "\"/\"");
    for (char c : std::string_view("\"\\/\b\f\n\r\t")) check_same_as_nlohmann(std::string(1, c));
  }
  SECTION("well-formed UTF-8, at each boundary of each length") {
    const std::vector<std::string> valid = {
        "\xC2\x80",         "\xC3\xA9",
        "\xDF\xBF",         "\xE0\xA0\x80",
        "\xE2\x82\xAC",     "\xED\x9F\xBF",
        "\xEE\x80\x80",     "\xEF\xBF\xBF",
        "\xEF\xBF\xBD",     "\xF0\x90\x80\x80",
        "\xF0\x9F\x98\x80", "\xF3\xBF\xBF\xBF",
        "\xF4\x8F\xBF\xBF", "na\xC3\xAFve caf\xC3\xA9 \xE2\x82\xAC 5 \xF0\x9F\x98\x80"};
    for (const auto& text : valid) {
      CHECK(written(text) == "\"" + text + "\"");  // written as is
      check_same_as_nlohmann(text);
    }
  }
  SECTION("ill-formed UTF-8: one U+FFFD per maximal subpart") {
    struct Case {
      std::string input;
      std::string output;  // between the quotes
    };
    const std::vector<Case> cases = {
        // overlong encodings
        {"\xC0\x80", fffd + fffd},
        {"\xC1\xBF", fffd + fffd},
        {"\xE0\x80\x80", fffd + fffd + fffd},
        {"\xE0\x9F\xBF", fffd + fffd + fffd},
        {"\xF0\x80\x80\x80", fffd + fffd + fffd + fffd},
        {"\xF0\x8F\xBF\xBF", fffd + fffd + fffd + fffd},
        // surrogates
        {"\xED\xA0\x80", fffd + fffd + fffd},
        {"\xED\xBF\xBF", fffd + fffd + fffd},
        {"\xED\xA0\x80\xED\xB0\x80", fffd + fffd + fffd + fffd + fffd + fffd},
        // above U+10FFFF, and bytes that never start a sequence
        {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},
        {"\xF5\x80\x80\x80", fffd + fffd + fffd + fffd},
        {"\xFE\xFF", fffd + fffd},
        // truncated sequences: in the middle (the byte that breaks one is read again)
        // and at the end
        {"a\xE2\x82" + std::string("b"), "a" + fffd + "b"},
        {"a\xF0\x9F\x98" + std::string("b"), "a" + fffd + "b"},
        {"\xE2\x82\xE2\x82\xAC", fffd + "\xE2\x82\xAC"},
        {"\xC3\xC3\xA9", fffd + "\xC3\xA9"},
        {"\xC3\"", fffd + "\\\""},
        {"\xF0\x9F\x98\n", fffd + "\\n"},
        {"x\xC3", "x" + fffd},
        {"x\xE2\x82", "x" + fffd},
        {"x\xF0\x9F\x98", "x" + fffd},
        {"\xF4\x8F\xBF", fffd},
        // lone continuation bytes
        {"\x80", fffd},
        {"\xBF\xBF", fffd + fffd},
        {"\xC3\xA9\xA9", "\xC3\xA9" + fffd},
        {"\xF0\x9F\x98\x80\x80", "\xF0\x9F\x98\x80" + fffd},
    };
    for (const auto& c : cases) {
      INFO("input bytes: " << hex(c.input));
      CHECK(written(c.input) == "\"" + c.output + "\"");
      check_same_as_nlohmann(c.input);
    }
  }
  SECTION("random byte strings (fixed seed)") {
    std::mt19937 random(20261201);
    // Pieces that reach every path: any byte, ASCII, a well-formed sequence of each
    // length, and a prefix of one (truncated or followed by anything).
    const auto code_point = [&random]() -> std::uint32_t {
      switch (random() % 4) {
        case 0:
          return 0x80 + random() % (0x800 - 0x80);
        case 1:
          return 0x800 + random() % (0x10000 - 0x800);
        case 2:
          return 0x10000 + random() % (0x110000 - 0x10000);
        default:
          return 0xD800 + random() % 0x800;  // a surrogate: ill-formed
      }
    };
    const auto encode = [](std::uint32_t cp) {
      std::string out;
      if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      }
      out += static_cast<char>(0x80 | (cp & 0x3F));
      return out;
    };
    for (int n = 0; n < 5000; ++n) {
      std::string text;
      const std::size_t pieces = random() % 12;
      for (std::size_t i = 0; i < pieces; ++i) {
        switch (random() % 5) {
          case 0:
            text += static_cast<char>(random() % 256);
            break;
          case 1:
            text += static_cast<char>(random() % 128);
            break;
          case 2:
            text += encode(code_point());
            break;
          case 3: {
            const std::string whole = encode(code_point());
            text += whole.substr(0, 1 + random() % whole.size());
            break;
          }
          default:
            text += static_cast<char>(0x80 + random() % 64);
            break;
        }
      }
      check_same_as_nlohmann(text);
    }
  }
}

TEST_CASE("append_json_string stays within json_string_bound", "[json_writer]") {
  // The worst cases: control bytes (6 out per byte in) and lone bytes >= 0x80 (3 per 1).
  const std::string controls(100, '\x01');
  const std::string invalid(100, '\xFF');
  for (const std::string& text : {controls, invalid}) {
    std::string out;
    out.reserve(json_string_bound(text.size()));
    const std::size_t capacity = out.capacity();
    const char* const data = out.data();
    append_json_string(out, text);
    CHECK(out.capacity() == capacity);
    CHECK(out.data() == data);  // never reallocated
    CHECK(out.size() <= json_string_bound(text.size()));
  }
  std::string out;
  append_json_string(out, std::string(50, '\x01'));
  CHECK(out.size() == json_string_bound(50));  // the bound is reached
}

TEST_CASE("JsonObjectWriter writes objects as nlohmann/json dumps them", "[json_writer]") {
  std::string out;
  JsonObjectWriter<> top(out);
  top.string("a", "1");
  JsonObjectWriter<> nested = top.object("b\"");
  nested.string("x", "\xC3");
  JsonObjectWriter<> empty = nested.object("y");
  empty.end();
  nested.end();
  top.raw("c", "{\"k\":\"v\"}");
  top.string("d", std::string_view("\0\n", 2));
  top.end();
  const json expected = {{"a", "1"},
                         {"b\"", {{"x", "\xC3"}, {"y", json::object()}}},
                         {"c", {{"k", "v"}}},
                         {"d", std::string("\0\n", 2)}};
  CHECK(out == dump(expected));

  std::string none;
  JsonObjectWriter<>(none).end();
  CHECK(none == "{}");
}

// Inputs: ordinary, and hostile (quotes, control bytes, ill-formed UTF-8, JSON syntax).
std::vector<std::string> sample_strings() {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  return {"",
          "reporting",
          "ann@example.com",
          "caf\xC3\xA9 \xF0\x9F\x98\x80",
          "\",\"password\":\"x",
          "}{\\\"\n\r\t\b\f",
          std::string("nul\0inside", 10),
          "\xED\xA0\x80\xC0\x80\xF4\x90\x80\x80\xE2\x82",
          all_bytes,
          std::string(300, '\x01')};
}

appkeys::DeviceInfo full_device(const std::string& text) {
  appkeys::DeviceInfo device;
  device.platform = text;
  device.platform_version = text + "v";
  device.sdk = "appkeys";
  device.sdk_version = text;
  device.app_version = text + "a";
  device.cpu_arch = "x86_64" + text;
  device.device_name = text;
  device.device_version = "1";
  device.framework_name = text;
  device.framework_version = text + "\x7f";
  device.bundle_id = "com.example" + text;
  return device;
}

TEST_CASE("the request bodies are byte for byte what the client sent before",
          "[json_writer][protocol]") {
  const auto strings = sample_strings();
  SECTION("create_key_body") {
    for (const auto& name : strings) {
      INFO("name bytes: " << hex(name));
      CHECK(wire::create_key_body(name) == dump(reference::create_key(name)));
    }
  }
  SECTION("device_json: the default device, a full one, with and without a device id") {
    const std::string id = "5f1e0a0b0c0d0e0f10111213";
    CHECK(wire::device_json(appkeys::DeviceInfo{}, "shop-abcde", "") ==
          dump(reference::device(appkeys::DeviceInfo{}, "shop-abcde", "")));
    CHECK(wire::device_json(appkeys::DeviceInfo{}, "shop-abcde", id) ==
          dump(reference::device(appkeys::DeviceInfo{}, "shop-abcde", id)));
    for (const auto& text : strings) {
      INFO("text bytes: " << hex(text));
      const auto device = full_device(text);
      CHECK(wire::device_json(device, text, "") == dump(reference::device(device, text, "")));
      CHECK(wire::device_json(device, "app", text) == dump(reference::device(device, "app", text)));
      CHECK(wire::device_json(device, text, id) == dump(reference::device(device, text, id)));
    }
    // The order of the members, spelled out once.
    CHECK(wire::device_json(full_device("z"), "app", id) ==
          "{\"appId\":\"app\",\"appVersion\":\"za\",\"bundleId\":\"com.examplez\","
          "\"cpuArch\":\"x86_64z\",\"deviceId\":{\"$oid\":\"5f1e0a0b0c0d0e0f10111213\"},"
          "\"deviceName\":\"z\",\"deviceVersion\":\"1\",\"frameworkName\":\"z\","
          "\"frameworkVersion\":\"z\x7f\",\"platform\":\"z\",\"platformVersion\":\"zv\","
          "\"sdk\":\"appkeys\",\"sdkVersion\":\"z\"}");
  }
  SECTION("login_body, each provider") {
    const std::string id = "5f1e0a0b0c0d0e0f10111213";
    for (const auto& text : strings) {
      INFO("text bytes: " << hex(text));
      const auto device = full_device(text);
      const std::string device_text = wire::device_json(device, "app", id);
      const json device_doc = reference::device(device, "app", id);
      for (const auto& credentials :
           {appkeys::Credentials::email_password(text, text + "pw"),
            appkeys::Credentials::email_password("ann@example.com", text),
            appkeys::Credentials::api_key(text), appkeys::Credentials::anonymous()}) {
        INFO(credentials);
        CHECK(wire::login_body(credentials, device_text) ==
              dump(reference::login(credentials, device_doc)));
      }
    }
    CHECK(wire::login_body(appkeys::Credentials::email_password("e", "p"), "{}") ==
          "{\"options\":{\"device\":{}},\"password\":\"p\",\"username\":\"e\"}");
    CHECK(wire::login_body(appkeys::Credentials::api_key("k"), "{}") ==
          "{\"key\":\"k\",\"options\":{\"device\":{}}}");
    CHECK(wire::login_body(appkeys::Credentials::anonymous(), "{}") ==
          "{\"options\":{\"device\":{}}}");
  }
  SECTION("register_body") {
    for (const auto& text : strings) {
      INFO("text bytes: " << hex(text));
      CHECK(wire::register_body(text, "pw") == dump(reference::register_email(text, "pw")));
      CHECK(wire::register_body("ann@example.com", text) ==
            dump(reference::register_email("ann@example.com", text)));
    }
  }
}

/// The capacity a string gets from reserve(size): a body that kept it never
/// reallocated after its reserve(), so no copy of its secret was left in freed memory.
std::size_t reserved_capacity(std::size_t size) {
  std::string probe;
  probe.reserve(size);
  return probe.capacity();
}

TEST_CASE("the bodies that hold a secret never reallocate once it is in them",
          "[json_writer][protocol][secrets]") {
  // Secrets that grow the most when escaped, and an ordinary one.
  std::string controls;
  for (int i = 0; i < 64; ++i) controls += static_cast<char>(1 + i % 7);
  const std::vector<std::string> secrets = {controls, std::string(64, '\xFF'), std::string(64, '"'),
                                            "hunter2", ""};
  const std::string device = wire::device_json(full_device("\x01\xFF"), "app", "");
  for (const auto& secret : secrets) {
    INFO("secret bytes: " << hex(secret));
    for (const auto& credentials : {appkeys::Credentials::email_password(controls, secret),
                                    appkeys::Credentials::api_key(secret)}) {
      const std::string body = wire::login_body(credentials, device);
      const std::size_t bound = wire::login_body_bound(credentials, device);
      CHECK(body.size() <= bound);
      CHECK(body.capacity() == reserved_capacity(bound));
    }
    const std::string body = wire::register_body(controls, secret);
    const std::size_t bound = wire::register_body_bound(controls, secret);
    CHECK(body.size() <= bound);
    CHECK(body.capacity() == reserved_capacity(bound));
  }
}

}  // namespace json_writer_test
