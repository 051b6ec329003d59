#include "sicher/store/sqlite/internal/errors.h"

#include <fmt/format.h>

namespace sicher::store::sqlite::internal {

StatusCode CodeFor(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return StatusCode::kAlreadyExists;
    case SQLITE_IOERR_NOMEM:
      return StatusCode::kResourceExhausted;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_OK:
      return StatusCode::kOk;
    case SQLITE_CONSTRAINT:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      return StatusCode::kFailedPrecondition;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
      return StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kDataLoss;
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return StatusCode::kPermissionDenied;
    case SQLITE_INTERRUPT:
      return StatusCode::kCancelled;
    case SQLITE_ABORT:
      return StatusCode::kAborted;
    case SQLITE_RANGE:
      return StatusCode::kOutOfRange;
    case SQLITE_MISMATCH:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kInternal;
  }
}

Status SqliteError(int rc, sqlite3* db, std::string_view what) {
  const char* detail = sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) detail = sqlite3_errmsg(db);
  StatusCode code = CodeFor(rc);
  if (code == StatusCode::kOk) code = StatusCode::kInternal;
  return Status(code, fmt::format("{}: {}", what, detail));
}

}  // namespace sicher::store::sqlite::internal
