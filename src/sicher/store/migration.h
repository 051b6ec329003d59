#pragma once
// Versioned schema migrations, shared by every backend.
//
// A Migration is a numbered, named change to the schema, written once per backend (the DDL
// dialects differ; the DML callers write does not, see store.h). At open the store applies, in
// ascending version order, every migration of its list that the database has not recorded,
// each in its own transaction together with its row in schema_migrations (version, name,
// applied_at). Reopening applies nothing. A database that records a version the list does not
// contain, or records a known version under a different name, was written by a newer or a
// diverged sicher: the store refuses to open it (FailedPrecondition) instead of misreading it.
//
// Rules for authors: never edit or renumber a migration that has shipped; add a new one.
// Versions are unique across the whole program; each subsystem appends its own (reserve a block
// per subsystem, e.g. core 1-99, auth 100-199, docs 200-299, so they can grow independently).
// The list a store is opened with must begin with CoreMigrations(). Migration SQL is trusted
// code: it may hold several statements but no transaction control and no parameters. Create
// foreign keys as immediate (the default), never DEFERRABLE INITIALLY DEFERRED: a deferred
// violation would fail a whole group-commit batch instead of the one write that caused it.

#include <span>
#include <string>
#include <vector>

#include "sicher/base/status.h"

namespace sicher::store {

struct Migration {
  int version = 0;           // > 0, unique
  std::string name;          // short, stable, e.g. "core"
  std::string sqlite_sql;    // one or more statements for the SQLite backend
  std::string postgres_sql;  // the same change for PostgreSQL (may be empty until it exists)
};

// Migration 1 ("core"): schema_migrations itself and heartbeat, the single row that
// Store::CheckWritable rewrites. Subsystems append theirs after these.
std::vector<Migration> CoreMigrations();

// InvalidArgument unless versions are positive and strictly ascending, names non-empty, the
// SQLite text non-empty, and the list begins with CoreMigrations()' first migration.
Status ValidateMigrations(std::span<const Migration> migrations);

}  // namespace sicher::store
