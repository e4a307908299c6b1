// appkeys server — libpq connections, results and the pool.
#include <appkeys/server/pg_connection.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace appkeys::server::pg {

namespace {

/// The first line of a libpq message, without its trailing newline.
std::string first_line(const char* text) {
  std::string line = text != nullptr ? text : "";
  line = line.substr(0, line.find('\n'));
  return line.empty() ? std::string("no reason given") : line;
}

/// SQLSTATEs after which the connection cannot be used: class 08 (connection
/// exception), and the server shutting down or not yet accepting queries.
bool connection_state(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03";
}

}  // namespace

Result::~Result() { PQclear(result_); }

int Result::rows() const noexcept { return PQntuples(result_); }

std::int64_t Result::affected() const {
  const char* count = PQcmdTuples(result_);
  return count != nullptr && *count != '\0' ? std::strtoll(count, nullptr, 10) : 0;
}

std::string Result::text(int row, int column) const {
  if (PQgetisnull(result_, row, column) != 0) return {};
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

bool Result::is_null(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::int64_t Result::integer(int row, int column) const {
  if (PQgetisnull(result_, row, column) != 0) return 0;
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

Connection::Connection(const PostgresOptions& options) {
  // Our defaults first: the conninfo (dbname, expanded last) overrides any of them.
  const std::string timeout = std::to_string(std::max(2, options.connect_timeout_s));
  const char* keywords[] = {"connect_timeout",  "application_name",    "client_encoding",
                            "keepalives_idle",  "keepalives_interval", "keepalives_count",
                            "dbname",           nullptr};
  const char* values[] = {timeout.c_str(), "appkeys", "UTF8", "30", "10", "3",
                          options.conninfo.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    // libpq's reason names the host and user, never the password.
    const std::string reason =
        conn_ != nullptr ? first_line(PQerrorMessage(conn_)) : std::string("out of memory");
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreUnavailable("cannot connect to PostgreSQL: " + reason);
  }
  // Notices (DROP ... CASCADE listing what went, "no transaction in progress") would go
  // to stderr by default: the server's stderr is its access log.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  try {
    exec("SELECT set_config('statement_timeout', $1, false) "
         "WHERE current_setting('statement_timeout') = '0'",
         {std::to_string(options.statement_timeout.count())});
  } catch (const Error& error) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreUnavailable(std::string("PostgreSQL connection setup failed: ") + error.what());
  }
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::usable() const noexcept {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

void Connection::fail(std::string_view what, pg_result* result) {
  std::string sqlstate;
  std::string reason;
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state != nullptr) sqlstate = state;
    // The primary message only: DETAIL lines may quote bound values (a key's name).
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    if (primary != nullptr) reason = first_line(primary);
  }
  if (reason.empty()) reason = first_line(PQerrorMessage(conn_));
  PQclear(result);
  const bool lost = PQstatus(conn_) != CONNECTION_OK || connection_state(sqlstate);
  throw Error("PostgreSQL store: " + std::string(what) + ": " + reason +
                  (sqlstate.empty() ? std::string() : " (SQLSTATE " + sqlstate + ")"),
              sqlstate, lost);
}

Result Connection::exec(std::string_view sql, std::initializer_list<Param> params) {
  std::string key(sql);
  auto it = prepared_.find(key);
  if (it == prepared_.end()) {
    std::string name = "appkeys_" + std::to_string(prepared_.size() + 1);
    PGresult* prepared = PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) fail("prepare", prepared);
    PQclear(prepared);
    it = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& param : params) {
    values.push_back(param.value ? param.value->c_str() : nullptr);
  }
  PGresult* result = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()),
                                    values.data(), nullptr, nullptr, 0);
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) fail("statement", result);
  return Result(result);
}

void Connection::exec_script(const std::string& sql) {
  PGresult* result = PQexec(conn_, sql.c_str());
  if (PQresultStatus(result) != PGRES_COMMAND_OK && PQresultStatus(result) != PGRES_TUPLES_OK) {
    fail("script", result);
  }
  PQclear(result);
}

Pool::Pool(PostgresOptions options) : options_(std::move(options)) {}

Pool::~Pool() = default;

Pool::Lease Pool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  while (idle_.empty() && open_ >= options_.pool_size) {
    if (released_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      throw StoreUnavailable("all " + std::to_string(options_.pool_size) +
                             " PostgreSQL connections stayed busy for " +
                             std::to_string(options_.acquire_timeout.count()) + " ms");
    }
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  ++open_;
  lock.unlock();
  try {
    return Lease(*this, std::make_unique<Connection>(options_));
  } catch (...) {
    lock.lock();
    --open_;
    released_.notify_one();
    throw;
  }
}

void Pool::release(std::unique_ptr<Connection> connection) noexcept {
  std::vector<std::unique_ptr<Connection>> closing;  // closed outside the lock
  {
    std::lock_guard lock(mutex_);
    if (connection->usable()) {
      idle_.push_back(std::move(connection));
    } else {
      // Most often the server restarted: the idle connections are broken too, they just
      // do not know it yet. Close them all so that the next callers connect afresh.
      closing.push_back(std::move(connection));
      for (auto& idle : idle_) closing.push_back(std::move(idle));
      open_ -= closing.size();
      idle_.clear();
    }
  }
  released_.notify_all();
}

void Pool::rollback(Connection& connection) noexcept {
  try {
    connection.exec_script("ROLLBACK");
  } catch (...) {
    // A broken connection: the server rolled the transaction back when it broke, and
    // release() closes the connection.
  }
}

bool Pool::should_retry(const Error& error, bool committing, int attempt) {
  if (error.retryable()) return attempt < 5;
  // Before COMMIT was sent, the server rolled the transaction back when the connection
  // broke: running it again on a fresh connection cannot repeat a write.
  if (error.connection_lost() && !committing) return attempt < 3;
  return false;
}

void Pool::rethrow(const Error& error, bool committing) {
  const std::string& state = error.sqlstate();
  if (error.connection_lost() || state.rfind("53", 0) == 0) {
    throw StoreUnavailable(std::string(error.what()) +
                           (committing ? "; the outcome of this write is unknown" : ""));
  }
  throw error;
}

}  // namespace appkeys::server::pg
