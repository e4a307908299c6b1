// appkeys server — thin RAII over libpq: a connection with cached prepared statements, a
// result reader, and a bounded pool that runs transactions (retrying them when that is
// safe) and replaces connections a database restart broke.
#pragma once

#include <appkeys/server/store_error.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

struct pg_conn;
struct pg_result;

namespace appkeys::server {

/// How a PostgresStore connects.
///
/// Thread safety: a value type.
struct PostgresOptions {
  /// A libpq connection string or URI (`postgresql://USER@HOST:PORT/DB?sslmode=...`),
  /// without appkeys' own parameters (parse_store_uri takes them out).
  std::string conninfo;
  /// Connections kept open at most; a request finding them all busy waits for one.
  std::size_t pool_size = 8;
  /// How long a request waits for a free connection before it gets 503.
  std::chrono::milliseconds acquire_timeout{10'000};
  /// libpq's connect_timeout (whole seconds, at least 2) unless the URI gives one: the
  /// bound on a request while the database is unreachable.
  int connect_timeout_s = 5;
  /// The server-side statement_timeout set on each connection whose own is 0 (none),
  /// so a lock held by a stuck peer cannot hold a request forever.
  std::chrono::milliseconds statement_timeout{30'000};
};

namespace pg {

/// A statement that failed: its SQLSTATE says whether the transaction may simply run
/// again (serialization failure, deadlock) or the connection is gone.
///
/// Thread safety: an exception object; immutable once thrown.
class Error : public StoreError {
 public:
  /// `sqlstate` is the five-character code ("" when libpq gave none).
  Error(const std::string& message, std::string sqlstate, bool connection_lost)
      : StoreError(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  /// The SQLSTATE, e.g. "23505" for a unique violation.
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  /// The connection broke (the server went away, or closed it): nothing more can run on it.
  bool connection_lost() const noexcept { return connection_lost_; }
  /// A concurrency failure after which the whole transaction may run again.
  bool retryable() const noexcept { return sqlstate_ == "40001" || sqlstate_ == "40P01"; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

/// One parameter of a statement, sent as text; nullopt is SQL NULL.
///
/// Thread safety: a value type.
struct Param {
  /// Text.
  Param(std::string_view text) : value(std::string(text)) {}  // NOLINT: implicit on purpose
  /// Text.
  Param(const std::string& text) : value(text) {}  // NOLINT
  /// Text.
  Param(const char* text) : value(std::string(text)) {}  // NOLINT
  /// An integer.
  Param(std::int64_t number) : value(std::to_string(number)) {}  // NOLINT
  /// NULL.
  Param(std::nullptr_t) {}  // NOLINT
  std::optional<std::string> value;  ///< The text sent; nullopt: NULL.
};

/// The rows a statement returned (or none), freed when destroyed.
///
/// Thread safety: one thread at a time.
class Result {
 public:
  /// Owns `result`.
  explicit Result(pg_result* result) noexcept : result_(result) {}
  Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  /// Rows returned.
  int rows() const noexcept;
  /// Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;
  /// Column `column` of row `row` as text ("" for NULL).
  std::string text(int row, int column) const;
  /// Column `column` of row `row` as an integer (0 for NULL).
  std::int64_t integer(int row, int column) const;
  /// Whether column `column` of row `row` is NULL.
  bool is_null(int row, int column) const;

 private:
  pg_result* result_;
};

/// One connection to the database. Statements are prepared once per connection (named
/// by a counter, keyed by their SQL text) and executed with text parameters.
///
/// Thread safety: one thread at a time (the pool hands it to one caller).
class Connection {
 public:
  /// Connects; throws StoreUnavailable when the database cannot be reached in time.
  explicit Connection(const PostgresOptions& options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /// Runs `sql` (placeholders $1, $2, ...) as a prepared statement; throws Error.
  Result exec(std::string_view sql, std::initializer_list<Param> params = {});
  /// Runs one or more statements without parameters (DDL, BEGIN, COMMIT); throws Error.
  void exec_script(const std::string& sql);
  /// False once the connection broke: it must not be reused.
  bool usable() const noexcept;

 private:
  [[noreturn]] void fail(std::string_view what, pg_result* result);

  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
};

/// Up to `pool_size` connections to one database, each used by one caller at a time.
/// A connection that broke is closed instead of being returned; when one breaks, every
/// idle one is closed too (a broken connection most often means the server restarted,
/// which broke them all), so the next caller connects afresh.
///
/// Thread safety: every member function may be called concurrently.
class Pool {
 public:
  /// Connections as `options` says, opened lazily.
  explicit Pool(PostgresOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  /// Runs `work(connection)` inside BEGIN ... COMMIT and returns what it returns. Runs it
  /// again (at most a few times) when that cannot repeat a committed write: after a
  /// serialization failure or a deadlock, or when the connection broke before COMMIT
  /// was sent. A connection that breaks during COMMIT leaves the outcome unknown: that
  /// is StoreUnavailable, never a retry. `work` may run more than once, so it must only
  /// talk to the database.
  template <class Work>
  auto transaction(Work&& work) -> decltype(work(std::declval<Connection&>())) {
    for (int attempt = 1;; ++attempt) {
      Lease lease = acquire();
      bool committing = false;
      try {
        lease->exec_script("BEGIN");
        if constexpr (std::is_void_v<decltype(work(*lease))>) {
          work(*lease);
          committing = true;
          lease->exec_script("COMMIT");
          return;
        } else {
          auto result = work(*lease);
          committing = true;
          lease->exec_script("COMMIT");
          return result;
        }
      } catch (const Error& error) {
        rollback(*lease);
        if (!should_retry(error, committing, attempt)) rethrow(error, committing);
      } catch (...) {
        rollback(*lease);  // never lend out a connection left inside a transaction
        throw;
      }
    }
  }

  /// Runs `work(connection)` outside a transaction (one statement that only reads), once
  /// more on a fresh connection if the first one turns out to be broken.
  template <class Work>
  auto read(Work&& work) -> decltype(work(std::declval<Connection&>())) {
    for (int attempt = 1;; ++attempt) {
      Lease lease = acquire();
      try {
        return work(*lease);
      } catch (const Error& error) {
        if (!should_retry(error, false, attempt)) rethrow(error, false);
      }
    }
  }

 private:
  /// A connection lent to one caller, returned (or closed, if broken) by the destructor.
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> connection) noexcept
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), connection_(std::move(other.connection_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) pool_->release(std::move(connection_));
    }
    Connection& operator*() const noexcept { return *connection_; }
    Connection* operator->() const noexcept { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  Lease acquire();
  void release(std::unique_ptr<Connection> connection) noexcept;
  static void rollback(Connection& connection) noexcept;
  bool should_retry(const Error& error, bool committing, int attempt);
  [[noreturn]] static void rethrow(const Error& error, bool committing);

  const PostgresOptions options_;
  std::mutex mutex_;
  std::condition_variable released_;
  // Guarded by mutex_.
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle + lent + being opened
};

}  // namespace pg
}  // namespace appkeys::server
