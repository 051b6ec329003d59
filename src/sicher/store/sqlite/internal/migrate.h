#pragma once
// Applies migrations (sicher/store/migration.h) to an SQLite database. Private to store/sqlite.

#include <span>

#include "sicher/base/clock.h"
#include "sicher/store/migration.h"
#include "sicher/store/sqlite/internal/connection.h"

namespace sicher::store::sqlite::internal {

// Applies every migration in `migrations` that the database has not recorded, in order, each
// in its own BEGIN IMMEDIATE transaction with its schema_migrations row (applied_at = `now`).
// Safe against a second process migrating at the same time (each step re-checks under the
// write lock). Returns InvalidArgument for a malformed list, FailedPrecondition if the
// database records a migration the list lacks or names differently, or the failing step's
// error (that step rolled back, earlier steps kept). `conn` must not be in a transaction.
Status ApplyMigrations(Connection& conn, std::span<const Migration> migrations, Time now);

}  // namespace sicher::store::sqlite::internal
