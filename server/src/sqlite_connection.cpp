// appkeys server — SQLite connections, statements, transactions and the pool.
#include <appkeys/server/sqlite_connection.hpp>

#include <sqlite3.h>

#include <chrono>
#include <thread>
#include <utility>

namespace appkeys::server::sqlite {

Statement::~Statement() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

Statement& Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    connection_->fail("bind");
  }
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(statement_, index, value) != SQLITE_OK) connection_->fail("bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(statement_, index) != SQLITE_OK) connection_->fail("bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  connection_->fail("step");
}

void Statement::run() {
  while (step()) {
  }
}

std::string Statement::text(int index) const {
  const unsigned char* data = sqlite3_column_text(statement_, index);
  if (data == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(data),
                     static_cast<std::size_t>(sqlite3_column_bytes(statement_, index)));
}

std::int64_t Statement::integer(int index) const {
  return sqlite3_column_int64(statement_, index);
}

bool Statement::is_null(int index) const {
  return sqlite3_column_type(statement_, index) == SQLITE_NULL;
}

namespace {

/// SQLite keeps memory statistics under one process-wide mutex taken on every allocation
/// it makes; with the server's many threads that mutex was the main contention of a
/// read (a fetch: several allocations per statement). Nothing here reads the statistics
/// (sqlite3_memory_used, the soft heap limit), so they are turned off, once, before
/// SQLite initialises. In a process that initialised SQLite before, the call fails and
/// changes nothing: only the speed differs.
void disable_memory_statistics_once() {
  static const bool done = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)done;
}

}  // namespace

Connection::Connection(const std::string& path, const SqliteOptions& options) : path_(path) {
  disable_memory_statistics_once();
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string reason = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError("cannot open the SQLite store " + path + ": " + reason);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  try {
    switch_to_wal(std::chrono::milliseconds(options.busy_timeout_ms));
    // Per connection (journal_mode=WAL persists in the file).
    exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

void Connection::switch_to_wal(std::chrono::milliseconds patience) {
  // Switching a new file to WAL takes it for a moment; when another connection (another
  // `appkeys serve` starting on the same new store) does so at that instant, SQLite
  // answers SQLITE_BUSY at once, without the busy handler (4 threads racing on a new file:
  // 25 failures in 400). So wait a little and try again, as the busy handler would.
  const auto give_up = std::chrono::steady_clock::now() + patience;
  for (;;) {
    const int result = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (result == SQLITE_OK) return;
    if ((result & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up) {
      fail("switching to WAL");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Connection::~Connection() {
  for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

Statement Connection::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &statement, nullptr) != SQLITE_OK) {
      fail("prepare");
    }
    it = statements_.emplace(std::string(sql), statement).first;
  }
  return Statement(*this, it->second);
}

void Connection::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string reason = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw StoreError("SQLite store " + path_ + ": " + reason);
  }
}

void Connection::fail(std::string_view what) const {
  throw StoreError("SQLite store " + path_ + ": " + std::string(what) + ": " +
                   sqlite3_errmsg(db_));
}

std::int64_t Connection::changes() const noexcept { return sqlite3_changes64(db_); }

std::int64_t Connection::last_insert_rowid() const noexcept {
  return sqlite3_last_insert_rowid(db_);
}

WriteTransaction::WriteTransaction(Connection& connection) : connection_(connection) {
  connection_.prepare("BEGIN IMMEDIATE").run();
}

WriteTransaction::~WriteTransaction() {
  if (done_) return;
  // Nothing to report from a destructor: a failed rollback leaves SQLite to roll the
  // transaction back when the connection next begins one, or closes.
  sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void WriteTransaction::commit() {
  connection_.prepare("COMMIT").run();
  done_ = true;
}

Pool::Pool(std::string path, SqliteOptions options)
    : path_(std::move(path)), options_(options) {}

Pool::Lease Pool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
  }
  return Lease(*this, std::make_unique<Connection>(path_, options_));
}

void Pool::release(std::unique_ptr<Connection> connection) noexcept {
  if (!connection) return;
  std::lock_guard lock(mutex_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(connection));
}

}  // namespace appkeys::server::sqlite
