#pragma once
// Translation of SQLite result codes into Status, done here and only here.
// Private to store/sqlite.

#include <sqlite3.h>

#include <string_view>

#include "sicher/base/status.h"

namespace sicher::store::sqlite::internal {

// The canonical code for an SQLite (extended) result code:
//   CONSTRAINT_UNIQUE / _PRIMARYKEY -> AlreadyExists; other CONSTRAINT -> FailedPrecondition;
//   BUSY, LOCKED, IOERR, PROTOCOL -> Unavailable; FULL, NOMEM, TOOBIG -> ResourceExhausted;
//   CORRUPT, NOTADB -> DataLoss; READONLY, CANTOPEN -> FailedPrecondition;
//   PERM, AUTH -> PermissionDenied; INTERRUPT -> Cancelled; ABORT -> Aborted;
//   RANGE -> OutOfRange; MISMATCH -> InvalidArgument; everything else -> Internal.
StatusCode CodeFor(int rc);

// "`what`: <SQLite's message>". `db` may be null; its message is used only when it describes
// `rc`. SQLite's messages name tables, columns and constraints, never bound values.
Status SqliteError(int rc, sqlite3* db, std::string_view what);

}  // namespace sicher::store::sqlite::internal
