#pragma once
// The embedded backend: a Store on one SQLite database file in WAL mode. See the design note
// in sicher/store/store.h (threads, group commit, durability). This header names no SQLite
// type; only the composition root includes it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sicher/base/env.h"
#include "sicher/base/metrics.h"
#include "sicher/base/status.h"
#include "sicher/store/migration.h"
#include "sicher/store/store.h"

namespace sicher::store {

struct SqliteOptions {
  // The database file. Its directory must exist; the file is created (mode 0600) if absent, and
  // it and its -wal / -shm files are set to 0600 at every open (SQLite gives the -wal / -shm
  // files the database file's mode). ":memory:" is not supported.
  std::string path;
  // Reader connections in the pool, i.e. Reads that can run at once. >= 1.
  int reader_count = 4;
  // How long a connection waits for a lock held by another process before Unavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // Most write closures committed in one transaction. >= 1. Under load every batch shares one
  // fsync; 512 rather than 256 took the audit append benchmark from ~91k to ~96k events/s.
  int max_batch = 512;
  // Size the WAL is truncated to after a checkpoint.
  int64_t journal_size_limit = 64 << 20;
  // Prepared statements kept per connection.
  int statement_cache_size = 64;
  // How long CheckWritable waits for the writer before DeadlineExceeded.
  std::chrono::milliseconds check_writable_timeout{5000};
  // Applied at open; must begin with CoreMigrations(); later subsystems append theirs.
  std::vector<Migration> migrations = CoreMigrations();
};

// Opens (creating if needed) and migrates the database, opens the reader pool and starts the
// writer, checkpointer and waker threads. Borrows `env` (clock for timestamps and durations, file
// system for the file modes) and `metrics`; both must outlive the Store. Registers in `metrics`:
//   sicher_db_commit_batches_total           transactions committed by the writer
//   sicher_db_commit_batch_size              histogram of write closures per transaction
//   sicher_db_commit_duration_seconds        histogram of BEGIN..COMMIT time per batch
//   sicher_db_write_errors_total{stage=...}  begin, commit (whole batch lost) or closure
//   sicher_db_write_queue_length             gauge of closures waiting for the writer
//   sicher_db_wal_checkpoints_total{by=...}  background (checkpointer thread) or writer
// Returns InvalidArgument for bad options, FailedPrecondition for a database from a newer
// sicher (see migration.h) or one that cannot run in WAL mode, or the translated SQLite or
// file-system error.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options, Env& env,
                                               metrics::Registry& metrics);

}  // namespace sicher::store
