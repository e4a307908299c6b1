// Explicit instantiation declarations of nlohmann::json for the test build (see
// support/instances.hpp, which includes this): apart, for the fuzz replays, which use
// nlohmann::json and not the client.
#pragma once

#include <nlohmann/json.hpp>

#ifdef APPKEYS_TEST_INSTANCES_DEFINE
#define APPKEYS_TEST_JSON_INSTANCE template  // support/instances.cpp: the definitions
#else
#define APPKEYS_TEST_JSON_INSTANCE extern template
#endif

// nlohmann/json: the value type and what parse() and dump() use. (Not iter_impl<json>:
// its converting constructor from a const iterator does not compile for every member.)
APPKEYS_TEST_JSON_INSTANCE class nlohmann::basic_json<>;
APPKEYS_TEST_JSON_INSTANCE class nlohmann::detail::lexer<
    nlohmann::json, nlohmann::detail::iterator_input_adapter<const char*>>;
APPKEYS_TEST_JSON_INSTANCE class nlohmann::detail::parser<
    nlohmann::json, nlohmann::detail::iterator_input_adapter<const char*>>;
APPKEYS_TEST_JSON_INSTANCE class nlohmann::detail::serializer<nlohmann::json>;
APPKEYS_TEST_JSON_INSTANCE class nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
APPKEYS_TEST_JSON_INSTANCE class nlohmann::detail::json_sax_dom_callback_parser<nlohmann::json>;
APPKEYS_TEST_JSON_INSTANCE class nlohmann::detail::iter_impl<const nlohmann::json>;

#undef APPKEYS_TEST_JSON_INSTANCE
