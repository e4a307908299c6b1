// appkeys — the server's error_code strings (PROTOCOL.md §5), written once.
//
// Every server code of realm-core's `app_error` / `service_error` table, as
// X(snake_case_name, "ServerString"). errc, its category's messages, the client's
// response mapping and the fake backend's error bodies are all generated from this list,
// so a code cannot be spelled two ways.
#pragma once

#define APPKEYS_SERVER_ERROR_CODES(X)                                \
  X(account_name_in_use, "AccountNameInUse")                         \
  X(api_key_already_exists, "APIKeyAlreadyExists")                   \
  X(api_key_not_found, "APIKeyNotFound")                             \
  X(app_server_error, "AppServerError")                              \
  X(app_unknown_error, "AppUnknownError")                            \
  X(arguments_not_allowed, "ArgumentsNotAllowed")                    \
  X(auth_error, "AuthError")                                         \
  X(auth_provider_already_exists, "AuthProviderAlreadyExists")       \
  X(auth_provider_duplicate_name, "AuthProviderDuplicateName")       \
  X(auth_provider_not_found, "AuthProviderNotFound")                 \
  X(aws_error, "AWSError")                                           \
  X(bad_request, "BadRequest")                                       \
  X(domain_not_allowed, "DomainNotAllowed")                          \
  X(execution_time_limit_exceeded, "ExecutionTimeLimitExceeded")     \
  X(function_already_exists, "FunctionAlreadyExists")                \
  X(function_duplicate_name, "FunctionDuplicateName")                \
  X(function_execution_error, "FunctionExecutionError")              \
  X(function_invalid, "FunctionInvalid")                             \
  X(function_not_found, "FunctionNotFound")                          \
  X(function_syntax_error, "FunctionSyntaxError")                    \
  X(gcm_error, "GCMError")                                           \
  X(http_error, "HTTPError")                                         \
  X(incoming_webhook_already_exists, "IncomingWebhookAlreadyExists") \
  X(incoming_webhook_auth_failed, "IncomingWebhookAuthFailed")       \
  X(incoming_webhook_duplicate_name, "IncomingWebhookDuplicateName") \
  X(incoming_webhook_not_found, "IncomingWebhookNotFound")           \
  X(internal_server_error, "InternalServerError")                    \
  X(invalid_parameter, "InvalidParameter")                           \
  X(invalid_password, "InvalidPassword")                             \
  X(invalid_server_response, "InvalidServerResponse")                \
  X(invalid_session, "InvalidSession")                               \
  X(maintenance_in_progress, "MaintenanceInProgress")                \
  X(missing_auth_req, "MissingAuthReq")                              \
  X(missing_parameter, "MissingParameter")                           \
  X(mongodb_error, "MongoDBError")                                   \
  X(no_matching_rule_found, "NoMatchingRuleFound")                   \
  X(not_callable, "NotCallable")                                     \
  X(read_size_limit_exceeded, "ReadSizeLimitExceeded")               \
  X(restricted_host, "RestrictedHost")                               \
  X(rule_already_exists, "RuleAlreadyExists")                        \
  X(rule_duplicate_name, "RuleDuplicateName")                        \
  X(rule_not_found, "RuleNotFound")                                  \
  X(schema_validation_failed_write, "SchemaValidationFailedWrite")   \
  X(service_already_exists, "ServiceAlreadyExists")                  \
  X(service_command_not_found, "ServiceCommandNotFound")             \
  X(service_not_found, "ServiceNotFound")                            \
  X(service_type_not_found, "ServiceTypeNotFound")                   \
  X(twilio_error, "TwilioError")                                     \
  X(user_already_confirmed, "UserAlreadyConfirmed")                  \
  X(user_app_domain_mismatch, "UserAppDomainMismatch")               \
  X(user_disabled, "UserDisabled")                                   \
  X(user_not_found, "UserNotFound")                                  \
  X(userpass_token_invalid, "UserpassTokenInvalid")                  \
  X(value_already_exists, "ValueAlreadyExists")                      \
  X(value_duplicate_name, "ValueDuplicateName")                      \
  X(value_not_found, "ValueNotFound")

// Failures found on the client side, before or instead of a server answer:
// X(name, "description").
#define APPKEYS_CLIENT_ERROR_CODES(X)                                      \
  X(invalid_argument, "invalid argument")                                  \
  X(not_logged_in, "user is not logged in")                                \
  X(provider_not_allowed, "operation not allowed for this login provider") \
  X(transport, "transport failure")                                        \
  X(connection_failed, "connection failed")                                \
  X(timeout, "request timed out")                                          \
  X(tls, "TLS failure")                                                    \
  X(insecure_transport, "refused to send credentials over plain HTTP")     \
  X(response_too_large, "response too large")                              \
  X(malformed_response, "malformed response")                              \
  X(shutting_down, "shutting down with the call in flight")                \
  X(cancelled, "the call was cancelled")
