// appkeys server — Service: the server rules over the store a URI names, behind one
// interface, for `appkeys serve`, `appkeys users` and the tests.
#pragma once

#include <appkeys/http.hpp>
#include <appkeys/server/openssl_crypto.hpp>
#include <appkeys/server/pg_connection.hpp>
#include <appkeys/server/sqlite_connection.hpp>
#include <appkeys/server/store_uri.hpp>
#include <appkeys/testing/backend/options.hpp>
#include <appkeys/testing/backend/records.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace appkeys::server {

/// How open_service builds a Service.
///
/// Thread safety: a value type.
struct ServiceOptions {
  /// The rules' options. Defaults differ from FakeBackend's in one place: failed
  /// password logins are slowed down from the 5th in a row on.
  testing::FakeBackendOptions rules = [] {
    testing::FakeBackendOptions options;
    options.failed_logins_before_delay = 5;
    return options;
  }();
  /// The cost of new password hashes.
  ScryptParams scrypt;
  /// How SQLite connects.
  SqliteOptions sqlite;
  /// How PostgreSQL connects (its conninfo, and pool_size if the URI gives one, come
  /// from the URI).
  PostgresOptions postgres;
};

/// testing::backend::BasicBackend over one store (its type hidden), with
/// server::OpenSslCrypto. It has the `HttpResponse handle(const HttpRequest&)` and
/// `options()` an HTTP skin (testing::LocalServer) needs.
///
/// Thread safety: every member function may be called concurrently.
class Service {
 public:
  virtual ~Service() = default;

  /// Answers one request (see BasicBackend::handle).
  virtual HttpResponse handle(const HttpRequest& request) = 0;
  /// The rules' options.
  virtual const testing::FakeBackendOptions& options() const noexcept = 0;
  /// Requests handled by this process.
  virtual std::size_t request_count() const = 0;
  /// Makes sure an email user exists with this password; returns its id.
  virtual std::string add_email_user(std::string_view email, std::string_view password) = 0;
  /// Disables (ending its sessions) or enables a user; throws std::invalid_argument for
  /// an unknown id.
  virtual void set_user_disabled(std::string_view user_id, bool disabled) = 0;
  /// Deletes a user with its keys and sessions; false for an unknown id.
  virtual bool delete_user(std::string_view user_id) = 0;
  /// Every user, ordered by id.
  virtual std::vector<testing::backend::UserRecord> list_users() const = 0;
  /// The user's keys.
  virtual std::size_t key_count(std::string_view user_id) const = 0;
  /// The stored state as JSON (hashes only; see BasicBackend::debug_dump).
  virtual std::string debug_dump() const = 0;
  /// The store's URI.
  virtual const StoreUri& store_uri() const noexcept = 0;
};

/// Opens the store `uri` names (creating or migrating an SQLite file or a PostgreSQL
/// schema) and the rules over it. Throws StoreError when the store cannot be opened or
/// is from a newer appkeys, StoreUnavailable when PostgreSQL cannot be reached.
std::unique_ptr<Service> open_service(const StoreUri& uri, ServiceOptions options = {});

}  // namespace appkeys::server
