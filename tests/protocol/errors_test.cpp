// The protocol layer (PROTOCOL.md) through a ScriptedTransport, byte for byte. §5 Error
// mapping: how each kind of error answer becomes an AppError.
#include "protocol/world.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace protocol_errors_test {

using namespace protocol_world;

// §5 Error mapping

TEST_CASE("a JSON error with a known error_code maps to that errc", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  auto keys = h.app.api_keys(user);
  h.transport.respond(error_response(404, "API key not found", "APIKeyNotFound",
                                     "https://services.example.test/groups/1/apps/2/logs?co_id=3"));
  auto fetched = keys.fetch(*ObjectId::from_hex(kKeyId));
  const auto error = expect_error(fetched, errc::api_key_not_found);
  CHECK(error.http_status() == 404);
  CHECK(error.server_code() == "APIKeyNotFound");
  CHECK(error.link() == "https://services.example.test/groups/1/apps/2/logs?co_id=3");
  CHECK(contains(error.message(), "API key not found"));
  const std::string what = error.what();
  CHECK(contains(what, "API key not found"));
  CHECK(contains(what, "api_key_not_found"));
  CHECK(contains(what, "404"));
  CHECK(user.is_logged_in());

  struct Case {
    const char* code;
    errc expected;
    int status;
  };
  const std::vector<Case> cases = {
      {"InvalidParameter", errc::invalid_parameter, 400},
      {"MissingParameter", errc::missing_parameter, 400},
      {"APIKeyNotFound", errc::api_key_not_found, 404},
      {"APIKeyAlreadyExists", errc::api_key_already_exists, 409},
      {"AuthError", errc::auth_error, 403},
      {"UserDisabled", errc::user_disabled, 403},
      {"UserNotFound", errc::user_not_found, 404},
      {"InvalidPassword", errc::invalid_password, 400},
      {"AccountNameInUse", errc::account_name_in_use, 409},
      {"MissingAuthReq", errc::missing_auth_req, 400},
      {"BadRequest", errc::bad_request, 400},
      {"InternalServerError", errc::internal_server_error, 500},
      {"MaintenanceInProgress", errc::maintenance_in_progress, 503},
      {"InvalidSession", errc::invalid_session, 403},  // not a 401: no log-out here
      {"AppServerError", errc::app_server_error, 500},
      {"AppUnknownError", errc::app_unknown_error, 500},
      {"HTTPError", errc::http_error, 500},
  };
  for (const auto& c : cases) {
    INFO(c.code);
    h.transport.respond(error_response(c.status, std::string("message for ") + c.code, c.code));
    auto created = keys.create("k");
    const auto mapped = expect_error(created, c.expected);
    CHECK(mapped.http_status() == c.status);
    CHECK(mapped.server_code() == c.code);
    CHECK(contains(mapped.message(), std::string("message for ") + c.code));
    CHECK(mapped.link().empty());
    CHECK(contains(mapped.what(), std::to_string(c.status)));
  }
  CHECK(user.is_logged_in());
}

TEST_CASE("an unknown error_code is app_server_error with the raw code", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(error_response(418, "something new", "SomethingNewAndStrange"));
  auto keys = h.app.api_keys(user).fetch_all();
  const auto error = expect_error(keys, errc::app_server_error);
  CHECK(error.server_code() == "SomethingNewAndStrange");
  CHECK(error.http_status() == 418);
  CHECK(contains(error.message(), "something new"));
}

TEST_CASE("a JSON error with only a message is app_unknown_error", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  h.transport.respond(
      error_response(400, "'name' is a required string.", {}, "https://logs.example.test/x"));
  auto created = h.app.api_keys(user).create("k");
  const auto error = expect_error(created, errc::app_unknown_error);
  CHECK(error.http_status() == 400);
  CHECK(error.server_code().empty());
  CHECK(error.link() == "https://logs.example.test/x");
  CHECK(contains(error.message(), "'name' is a required string."));
}

TEST_CASE("a non-JSON error is http_error with the status", "[protocol][errors]") {
  struct Case {
    const char* name;
    HttpResponse response;
  };
  const std::string json_error =
      json{{"error", "API key not found"}, {"error_code", "APIKeyNotFound"}}.dump();
  const std::vector<Case> cases = {
      {"text/html 502 page",
       text_response(502, "<html><h1>502 Bad Gateway</h1></html>", "text/html")},
      {"JSON text labelled text/plain", text_response(404, json_error, "text/plain")},
      {"JSON text without a Content-Type", text_response(404, json_error, "")},
      {"JSON text labelled application/xml", text_response(404, json_error, "application/xml")},
      {"empty JSON body", json_response(500, "")},
      {"truncated JSON", json_response(500, R"({"error":"boom","error_co)")},
      {"a JSON array", json_response(500, R"(["error","boom"])")},
      {"JSON null", json_response(500, "null")},
      {"a JSON string", json_response(500, R"("boom")")},
      {"an object without error fields", json_response(500, R"({"message":"boom"})")},
      {"deeply nested", json_response(500, deeply_nested(100000))},
      {"error not a string", json_response(500, R"({"error":42})")},
      {"error and error_code not strings", json_response(500, R"({"error":[],"error_code":7})")},
      {"empty error_code and no error", json_response(500, R"({"error_code":""})")},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(c.response);
    auto result = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
    const auto error = expect_error(result, errc::http_error);
    CHECK(error.http_status() == c.response.status);
    CHECK(error.server_code().empty());
    CHECK(contains(error.what(), std::to_string(c.response.status)));
    CHECK(h.transport.request_count() == 1);
  }
}

TEST_CASE("JSON error bodies are recognised by their Content-Type", "[protocol][errors]") {
  const std::string body =
      json{{"error", "API key not found"}, {"error_code", "APIKeyNotFound"}}.dump();
  for (std::string_view type : {"application/json", "application/json; charset=utf-8",
                                "application/json;charset=UTF-8", "Application/JSON"}) {
    INFO(type);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(text_response(404, body, type));
    auto fetched = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
    CHECK(expect_error(fetched, errc::api_key_not_found).server_code() == "APIKeyNotFound");
  }
  // The header name is matched ignoring case too.
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  HttpResponse lower;
  lower.status = 404;
  lower.headers.emplace("content-type", "application/json");
  lower.body = body;
  h.transport.respond(lower);
  auto fetched = h.app.api_keys(user).fetch(*ObjectId::from_hex(kKeyId));
  expect_error(fetched, errc::api_key_not_found);
}

TEST_CASE("error bodies with wrong field types fall back sensibly", "[protocol][errors]") {
  struct Case {
    const char* name;
    std::string body;
    errc expected;
    std::string server_code;
    std::string link;
  };
  const std::vector<Case> cases = {
      {"error not a string, known code", R"({"error":42,"error_code":"APIKeyNotFound"})",
       errc::api_key_not_found, "APIKeyNotFound", ""},
      {"only a known code", R"({"error_code":"APIKeyAlreadyExists"})", errc::api_key_already_exists,
       "APIKeyAlreadyExists", ""},
      {"code not a string", R"({"error":"boom","error_code":42})", errc::app_unknown_error, "", ""},
      {"code null", R"({"error":"boom","error_code":null})", errc::app_unknown_error, "", ""},
      {"code empty", R"({"error":"boom","error_code":""})", errc::app_unknown_error, "", ""},
      {"link not a string", R"({"error":"boom","error_code":"BadRequest","link":{"a":1}})",
       errc::bad_request, "BadRequest", ""},
      {"extra fields", R"({"error":"boom","error_code":"BadRequest","link":"l","extra":[1,2]})",
       errc::bad_request, "BadRequest", "l"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Harness<> h(skip_location_config());
    auto user = h.log_in();
    h.transport.respond(json_response(400, c.body));
    auto result = h.app.api_keys(user).fetch_all();
    const auto error = expect_error(result, c.expected);
    CHECK(error.http_status() == 400);
    CHECK(error.server_code() == c.server_code);
    CHECK(error.link() == c.link);
  }
}

TEST_CASE("server text in errors is bounded and printable", "[protocol][errors]") {
  Harness<> h(skip_location_config());
  auto user = h.log_in();
  const std::string huge(100000, 'm');
  h.transport.respond(error_response(400, huge + "\n\r\x1b[31m", "BadRequest"));
  auto result = h.app.api_keys(user).fetch_all();
  const auto error = expect_error(result, errc::bad_request);
  CHECK(error.message().size() < 2000);
  CHECK(std::string_view(error.what()).size() < 2000);
  const std::string_view what = error.what();
  CHECK(std::none_of(what.begin(), what.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
  h.transport.respond(error_response(400, "line one\nline two", "BadRequest"));
  auto second = h.app.api_keys(user).fetch_all();
  CHECK_FALSE(contains(expect_error(second, errc::bad_request).what(), "\n"));
}

}  // namespace protocol_errors_test
