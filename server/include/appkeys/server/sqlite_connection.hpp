// appkeys server — thin RAII over SQLite: a connection with cached prepared statements,
// a statement binder/reader, a write transaction, and a pool of connections.
#pragma once

#include <appkeys/server/store_error.hpp>

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace appkeys::server {

/// How a SqliteStore connects.
///
/// Thread safety: a value type.
struct SqliteOptions {
  /// How long a statement waits for another connection's lock before failing.
  int busy_timeout_ms = 10'000;
  /// Idle connections kept for reuse; more are opened when needed and closed after.
  std::size_t max_idle_connections = 32;
};

namespace sqlite {

class Connection;

/// One execution of a cached prepared statement: bind parameters (1-based), step, read
/// columns (0-based). Resets and clears its bindings when destroyed.
///
/// Thread safety: used by one thread at a time (the connection's).
class Statement {
 public:
  Statement(Connection& connection, sqlite3_stmt* statement) noexcept
      : connection_(&connection), statement_(statement) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  /// Binds text (copied by SQLite) at `index`.
  Statement& bind(int index, std::string_view text);
  /// Binds an integer at `index`.
  Statement& bind(int index, std::int64_t value);
  /// Binds NULL at `index`.
  Statement& bind_null(int index);
  /// Steps once: true while a row is ready, false when done; throws StoreError.
  bool step();
  /// Steps to completion (for statements that return no rows).
  void run();
  /// Column `index` of the current row as text ("" for NULL).
  std::string text(int index) const;
  /// Column `index` of the current row as an integer.
  std::int64_t integer(int index) const;
  /// Whether column `index` of the current row is NULL.
  bool is_null(int index) const;

 private:
  Connection* connection_;
  sqlite3_stmt* statement_;
};

/// One open database connection, configured for the server: WAL, synchronous=FULL,
/// foreign keys on, a busy timeout. Statements are prepared once per connection and
/// reused (keyed by their SQL text).
///
/// Thread safety: one thread at a time (the pool hands it to one caller).
class Connection {
 public:
  /// Opens (creating if absent) the database at `path`; throws StoreError.
  Connection(const std::string& path, const SqliteOptions& options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /// The cached statement for `sql`, ready to bind.
  Statement prepare(std::string_view sql);
  /// Runs one or more statements with no parameters and no rows (schema, pragmas).
  void exec(const char* sql);
  /// A StoreError naming this database and SQLite's message for `what`.
  [[noreturn]] void fail(std::string_view what) const;
  /// Rows changed by the last statement.
  std::int64_t changes() const noexcept;
  /// The rowid the last INSERT gave.
  std::int64_t last_insert_rowid() const noexcept;
  /// The raw handle.
  sqlite3* handle() const noexcept { return db_; }

 private:
  /// PRAGMA journal_mode=WAL, retried for up to `patience` while another connection holds
  /// the file (throws StoreError after that, or on any other failure).
  void switch_to_wal(std::chrono::milliseconds patience);

  sqlite3* db_ = nullptr;
  std::string path_;
  /// Hashes std::string and std::string_view alike, so prepare() finds a cached
  /// statement without copying its SQL text.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const noexcept {
      return std::hash<std::string_view>{}(sql);
    }
  };
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> statements_;
};

/// BEGIN IMMEDIATE on construction (so two writers never both read and then fail to
/// upgrade their lock), COMMIT on commit(), ROLLBACK if destroyed uncommitted.
///
/// Thread safety: one thread at a time, as its connection.
class WriteTransaction {
 public:
  /// Begins; throws StoreError (after the busy timeout) if the lock cannot be had.
  explicit WriteTransaction(Connection& connection);
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  ~WriteTransaction();
  /// Commits: durable once this returns (synchronous=FULL).
  void commit();

 private:
  Connection& connection_;
  bool done_ = false;
};

/// Connections to one database, one per concurrent caller: httplib serves each
/// connection on its own worker thread, and SQLite connections must not be shared
/// between threads at once. Idle connections are reused.
///
/// Thread safety: acquire() may be called concurrently; a Lease is used by one thread.
class Pool {
 public:
  /// Connections to `path`, opened lazily.
  Pool(std::string path, SqliteOptions options);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// A connection for the caller's exclusive use until the lease is destroyed.
  class Lease {
   public:
    /// Takes `connection` from `pool`.
    Lease(Pool& pool, std::unique_ptr<Connection> connection) noexcept
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_->release(std::move(connection_)); }
    /// The connection.
    Connection& operator*() const noexcept { return *connection_; }
    /// The connection.
    Connection* operator->() const noexcept { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  /// An idle connection, or a new one.
  Lease acquire();
  /// The database file.
  const std::string& path() const noexcept { return path_; }

 private:
  void release(std::unique_ptr<Connection> connection) noexcept;

  const std::string path_;
  const SqliteOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mutex_
};

}  // namespace sqlite
}  // namespace appkeys::server
