// A fresh PostgreSQL schema for one test, in the database APPKEYS_TEST_POSTGRES_URI names
// (scripts/pg-cluster starts a throwaway cluster and prints it), dropped with everything
// in it when the object goes. One schema per test keeps parallel ctest runs apart.
#pragma once

#include <appkeys/detail/random.hpp>
#include <appkeys/server/pg_connection.hpp>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace appkeys_test {

/// The environment variable that names the test database.
inline constexpr const char* postgres_uri_variable = "APPKEYS_TEST_POSTGRES_URI";

/// Owns schema `appkeys_t_<24 hex>` in the test database.
///
/// Thread safety: immutable after construction.
class TempPgSchema {
 public:
  TempPgSchema() : name_("appkeys_t_" + appkeys::detail::random_object_id().to_hex()) {
    const char* base = std::getenv(postgres_uri_variable);
    if (base == nullptr || *base == '\0') {
      throw std::runtime_error(std::string(postgres_uri_variable) + " is not set");
    }
    base_ = base;
    admin("CREATE SCHEMA " + name_);
    uri_ = base_ + (base_.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
           name_ + "&application_name=" + name_;
  }
  TempPgSchema(const TempPgSchema&) = delete;
  TempPgSchema& operator=(const TempPgSchema&) = delete;
  ~TempPgSchema() {
    try {
      admin("DROP SCHEMA " + name_ + " CASCADE");
    } catch (...) {
      // The cluster is gone (a restart test, a stopped CI step): nothing to drop.
    }
  }

  /// A `postgresql://` store URI whose tables live in this schema; its connections carry
  /// the schema's name as their application_name.
  const std::string& uri() const noexcept { return uri_; }
  /// PostgresStore options for this schema, with a small pool.
  appkeys::server::PostgresOptions options(std::size_t pool_size = 4) const {
    appkeys::server::PostgresOptions options;
    options.conninfo = uri_;
    options.pool_size = pool_size;
    return options;
  }
  /// The schema's name.
  const std::string& name() const noexcept { return name_; }

 private:
  void admin(const std::string& sql) const {
    appkeys::server::PostgresOptions options;
    options.conninfo = base_;
    appkeys::server::pg::Connection connection(options);
    connection.exec_script(sql);
  }

  std::string name_;
  std::string base_;
  std::string uri_;
};

}  // namespace appkeys_test
