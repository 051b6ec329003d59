#include "sicher/store/sqlite/internal/connection.h"

#include <fmt/format.h>

#include <limits>
#include <mutex>

#include "sicher/store/sqlite/internal/errors.h"

namespace sicher::store::sqlite::internal {

namespace {

// Process-wide, before SQLite initialises itself: no memory statistics. With them on (the
// default) every sqlite3_malloc and sqlite3_free takes a global mutex, several per statement,
// and sicher never reads them. Too late once anything in the process has used SQLite
// (SQLITE_MISUSE); that only costs speed, so the result is ignored.
void ConfigureProcessOnce() {
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const ConnectionOptions& options) {
  ConfigureProcessOnce();
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(rc, db, "open database");
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<Connection> conn(new Connection(db, options.statement_cache_size));
  RETURN_IF_ERROR(conn->Configure(options));
  return conn;
}

Status Connection::Configure(const ConnectionOptions& options) {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count()));
  const std::pair<int, int> configs[] = {
      {SQLITE_DBCONFIG_DEFENSIVE, 1},
      {SQLITE_DBCONFIG_DQS_DML, 0},
      {SQLITE_DBCONFIG_DQS_DDL, 0},
      {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
      {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
  };
  for (const auto& [op, value] : configs) {
    const int rc = sqlite3_db_config(db_, op, value, nullptr);
    if (rc != SQLITE_OK) return SqliteError(rc, db_, "configure connection");
  }

  ASSIGN_OR_RETURN(const std::string mode, QueryInternal("PRAGMA journal_mode=WAL", "enable WAL"));
  if (mode != "wal") {
    return FailedPreconditionError(
        fmt::format("enable WAL: the database stays in journal mode '{}'", mode));
  }
  const std::string pragmas = fmt::format(
      "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON; "
      "PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit={}; PRAGMA query_only={}; "
      // REPLACE's implicit delete fires DELETE triggers (the audit log's append-only guards).
      "PRAGMA recursive_triggers=ON;",
      options.journal_size_limit, options.query_only ? "ON" : "OFF");
  RETURN_IF_ERROR(ExecInternal(pragmas.c_str(), "apply settings"));
  // A build of SQLite without foreign keys or secure delete would ignore the pragmas silently.
  ASSIGN_OR_RETURN(const std::string fk, QueryInternal("PRAGMA foreign_keys", "check settings"));
  ASSIGN_OR_RETURN(const std::string sd, QueryInternal("PRAGMA secure_delete", "check settings"));
  if (fk != "1" || sd != "1") {
    return FailedPreconditionError("this SQLite lacks foreign keys or secure_delete");
  }
  sqlite3_set_authorizer(db_, &Connection::Authorize, this);
  return OkStatus();
}

Connection::~Connection() {
  for (auto& [sql, stmt] : lru_) sqlite3_finalize(stmt);
  for (auto& [sql, stmt] : prepared_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

int Connection::Authorize(void* self, int action, const char* arg1, const char* arg2,
                          const char* /*database*/, const char* /*trigger*/) {
  auto* conn = static_cast<Connection*>(self);
  if (conn->internal_) return SQLITE_OK;
  switch (action) {
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      conn->refused_ = "transaction control";
      return SQLITE_DENY;
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      conn->refused_ = "ATTACH/DETACH";
      return SQLITE_DENY;
    case SQLITE_PRAGMA:
      if (arg2 != nullptr) {
        conn->refused_ = "a PRAGMA assignment";
        return SQLITE_DENY;
      }
      return SQLITE_OK;
    default:
      return SQLITE_OK;
  }
}

Status Connection::ExecInternal(const char* sql, std::string_view what) {
  internal_ = true;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  internal_ = false;
  if (rc != SQLITE_OK) return SqliteError(rc, db_, what);
  return OkStatus();
}

Status Connection::ExecPrepared(const char* sql, std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  for (const auto& [text, prepared] : prepared_) {
    if (text == sql) stmt = prepared;
  }
  if (stmt == nullptr) {
    internal_ = true;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    internal_ = false;
    if (rc != SQLITE_OK) return SqliteError(rc, db_, what);
    prepared_.emplace_back(sql, stmt);
  }
  // The authorizer runs at prepare time, and again if SQLite re-prepares after a schema change.
  internal_ = true;
  const int rc = sqlite3_step(stmt);
  internal_ = false;
  sqlite3_reset(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return SqliteError(rc, db_, what);
  return OkStatus();
}

Result<std::string> Connection::QueryInternal(const char* sql, std::string_view what) {
  internal_ = true;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
  internal_ = false;
  if (rc != SQLITE_OK) return SqliteError(rc, db_, what);
  std::string out;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    if (const unsigned char* text = sqlite3_column_text(stmt, 0)) {
      out.assign(reinterpret_cast<const char*>(text),
                 static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    }
  }
  Status s = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? OkStatus() : SqliteError(rc, db_, what);
  sqlite3_finalize(stmt);
  RETURN_IF_ERROR(s);
  return out;
}

namespace {

bool OnlySeparators(const char* begin, const char* end) {
  for (const char* p = begin; p < end; ++p) {
    if (*p != ';' && *p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') return false;
  }
  return true;
}

}  // namespace

Result<sqlite3_stmt*> Connection::Prepare(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  if (sql.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return InvalidArgumentError("statement too long");
  }
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  refused_ = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_AUTH && refused_ != nullptr) {
      return InvalidArgumentError(fmt::format("{} is reserved to the store", refused_));
    }
    return SqliteError(rc, db_, "prepare statement");
  }
  if (stmt == nullptr) return InvalidArgumentError("empty statement");
  std::string_view problem;
  if (!OnlySeparators(tail, sql.data() + sql.size())) problem = "one statement per call";
  for (int i = 1; problem.empty() && i <= sqlite3_bind_parameter_count(stmt); ++i) {
    if (sqlite3_bind_parameter_name(stmt, i) != nullptr) problem = "only ? placeholders";
  }
  if (!problem.empty()) {
    sqlite3_finalize(stmt);
    return InvalidArgumentError(std::string(problem));
  }
  if (cache_capacity_ == 0) cache_capacity_ = 1;
  while (lru_.size() >= cache_capacity_) {
    auto& [old_sql, old_stmt] = lru_.back();
    sqlite3_finalize(old_stmt);
    cache_.erase(old_sql);
    lru_.pop_back();
  }
  lru_.emplace_front(std::string(sql), stmt);
  cache_.emplace(lru_.front().first, lru_.begin());
  return stmt;
}

}  // namespace sicher::store::sqlite::internal
