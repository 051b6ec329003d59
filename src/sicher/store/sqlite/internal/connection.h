#pragma once
// Connection: one sqlite3 handle with sicher's settings and a cache of prepared statements.
// Private to store/sqlite.
//
// Not thread-safe: the owner (the writer thread, or the Read that borrowed it from the pool)
// uses it from one thread at a time. Owns its statements and closes the handle on destruction.
//
// Every connection runs with WAL, synchronous=FULL, secure_delete=ON, foreign_keys=ON,
// temp_store=MEMORY (no temporary files holding data), a busy timeout and a WAL size limit;
// SQLITE_DBCONFIG_DEFENSIVE on and double-quoted string literals off (so "x" is always an
// identifier, as in PostgreSQL). Readers add query_only=ON. An authorizer refuses transaction
// control, ATTACH/DETACH and PRAGMA assignments in caller statements; the store's own
// statements go through ExecInternal, which is exempt.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sicher/base/status.h"

namespace sicher::store::sqlite::internal {

struct ConnectionOptions {
  bool create = false;      // create the file if absent (the writer)
  bool query_only = false;  // refuse every change (the readers)
  std::chrono::milliseconds busy_timeout{5000};
  int64_t journal_size_limit = 64 << 20;
  size_t statement_cache_size = 64;
};

class Connection {
 public:
  // Opens `path` and applies the settings above. FailedPrecondition if WAL cannot be enabled.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The store's own SQL (transaction control, pragmas, migration scripts): may hold several
  // statements; no parameters; exempt from the caller rules. `what` names it in errors.
  Status ExecInternal(const char* sql, std::string_view what);
  // ExecInternal for the store's hot transaction control (SAVEPOINT, RELEASE, BEGIN, COMMIT):
  // one statement, prepared once per connection and kept; `sql` must be a string literal.
  Status ExecPrepared(const char* sql, std::string_view what);
  // First column of the first row of the store's own query, as text ("" for no row or NULL).
  Result<std::string> QueryInternal(const char* sql, std::string_view what);

  // A caller statement, from the cache or freshly prepared, with no bindings and reset. The
  // handle stays owned by the Connection and valid until the next Prepare. InvalidArgument for
  // empty SQL, more than one statement, named or numbered parameters, or a refused statement.
  Result<sqlite3_stmt*> Prepare(std::string_view sql);

  // True while a transaction is open (false after SQLite rolled one back on its own).
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  sqlite3* db() const { return db_; }

 private:
  explicit Connection(sqlite3* db, size_t cache_capacity)
      : db_(db), cache_capacity_(cache_capacity) {}
  Status Configure(const ConnectionOptions& options);
  static int Authorize(void* self, int action, const char* arg1, const char* arg2,
                       const char* database, const char* trigger);

  sqlite3* db_;
  bool internal_ = false;          // the store's own statement is being prepared
  const char* refused_ = nullptr;  // what the authorizer refused last
  size_t cache_capacity_;
  using Lru = std::list<std::pair<std::string, sqlite3_stmt*>>;  // front: most recent
  Lru lru_;
  std::map<std::string, Lru::iterator, std::less<>> cache_;
  std::vector<std::pair<const char*, sqlite3_stmt*>> prepared_;  // ExecPrepared's, by literal
};

}  // namespace sicher::store::sqlite::internal
