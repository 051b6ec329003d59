#pragma once
// The Store: sicher's one door to its database. Nothing outside store/ knows which backend is in
// use; this header names no SQLite (or PostgreSQL) type.
//
// ---------------------------------------------------------------------------------------------
// Design note (to move to docs/design/architecture.md, section "Store")
//
// Threads. A Store owns one writer and a pool of readers. In the SQLite backend the writer is a
// dedicated thread ("sicher-db-write") that owns the only read-write connection; every change
// in the process goes through it. Callers hand it a closure, `Status(Txn&)`, with Write
// (blocking) or WriteAsync (callback); the closure runs on the writer thread. Reads run on the
// caller's thread on a connection borrowed from a fixed pool (SqliteOptions::reader_count, each
// opened with query_only=ON), inside one read transaction, so every query in a Read sees the same
// committed snapshot. In WAL mode readers never block the writer and the writer never blocks
// readers; they only compete for the pool. A third thread ("sicher-db-ckpt", its own
// connection) copies the WAL back into the database file (PASSIVE checkpoints) whenever the
// writer's commits take it past 4000 pages; the writer copies what is left itself when the WAL
// reaches 8000 (sqlite_store.cc, kCheckpointPages).
//
// Group commit. The writer takes the first queued closure, opens `BEGIN IMMEDIATE`, and keeps
// pulling closures from the queue into the same transaction while there are any, up to
// max_batch. Each closure runs inside its own SAVEPOINT: if it returns an error (or a statement
// in it fails), only its own changes are rolled back (ROLLBACK TO) and only its caller receives
// that error; the others in the batch are unaffected. Then one COMMIT makes the whole batch
// durable with one WAL fsync, and only then is each caller answered: OK for every closure that
// succeeded, its own error for every closure that failed. If the COMMIT itself fails, or SQLite
// abandons the transaction (disk full, I/O error), every caller in the batch gets that error and
// nothing of the batch is kept. Batching is not timer-driven: requests that arrive while a batch
// is executing or committing join the next one, so a lightly loaded store commits each write at
// once and a heavily loaded one amortises each fsync over many writes. A closure runs at most
// once and is never retried by the store.
//
// Durability. An OK answer from Write / WriteAsync means the change is committed: WAL with
// synchronous=FULL fsyncs the WAL on every COMMIT, so an acknowledged change survives a process
// crash (kill -9) and a power loss, given a disk that honours fsync. The crash test
// (sqlite/crash_test.cc) kills a writer process mid-load and checks every acknowledged row.
// Other settings: secure_delete=ON (freed pages are zeroed, so deleted personal data does not
// linger in the file), foreign_keys=ON, a bounded WAL (journal_size_limit) and a busy timeout
// for the rare second process (a backup tool). The database file and its -wal and -shm files are
// mode 0600.
//
// Schema. Versioned migrations (migration.h) are applied at open, each in its own transaction,
// and recorded in schema_migrations; a database that has a migration the binary does not know
// (written by a newer sicher) is refused rather than silently misread.
// ---------------------------------------------------------------------------------------------
//
// Portable SQL. Callers write SQL in a subset that both SQLite and PostgreSQL accept, so a
// PostgreSQL backend can run it unchanged (it rewrites each `?` to `$1, $2, ...`):
//   - Values are always bound: positional `?` placeholders only (no `?NNN`, `:name`, `$n`), one
//     Value per `?`, never a value spliced into the SQL text.
//   - One statement per call. No transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT,
//     RELEASE), no ATTACH, no PRAGMA assignments: the store owns transactions and settings. These
//     are refused with InvalidArgument.
//   - Types: INTEGER (int64) for ids, counters and booleans (0/1); DOUBLE PRECISION / REAL for
//     floating point; TEXT for valid UTF-8 strings without NUL (PostgreSQL's rule; the store
//     refuses others with InvalidArgument); BLOB (bytea) for bytes. Timestamps are TEXT in
//     RFC 3339 UTC (base/clock.h FormatRfc3339, which sorts correctly) or INTEGER microseconds;
//     no SQL date functions. DDL differs per backend, which is why a Migration has two texts.
//   - New ids: prefer `INSERT ... RETURNING id` with Query; LastInsertId also works.
//   - Upserts: `INSERT ... ON CONFLICT (col) DO UPDATE SET x = excluded.x` / `DO NOTHING`; not
//     `INSERT OR REPLACE` / `OR IGNORE`.
//   - Avoid LIKE (case rules differ; compare lower(x) = ? instead), avoid SQLite's loose GROUP BY
//     (list every non-aggregated column), write `LIMIT ? OFFSET ?`, quote identifiers with "".

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sicher/base/status.h"

namespace sicher::store {

// Bytes, as opposed to text. A distinct type so that binding picks BLOB, not TEXT.
struct Blob {
  std::string bytes;
  friend bool operator==(const Blob&, const Blob&) = default;
};

// A SQL value: NULL, integer, floating point, text (UTF-8) or bytes.
//   Value v = int64_t{7};  Value t = "text";  Value b = Blob{raw};  Value n = kNull;
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;
inline constexpr std::monostate kNull{};

// "NULL", "INTEGER", "REAL", "TEXT" or "BLOB", for messages.
std::string_view ValueTypeName(const Value& v);

// The parameters of one statement, borrowed for the duration of the call. Accepts a braced list
// (`{int64_t{1}, "x"}`), a vector or a span; the Values must outlive the call. A view: pass it,
// never store it (a braced list's values die at the end of the full expression).
class Params {
 public:
  Params() = default;
  Params(std::initializer_list<Value> values)  // NOLINT: implicit by design
      : values_(values.begin(), values.size()) {}
  Params(std::span<const Value> values) : values_(values) {}     // NOLINT
  Params(const std::vector<Value>& values) : values_(values) {}  // NOLINT

  std::span<const Value> values() const { return values_; }
  size_t size() const { return values_.size(); }

 private:
  std::span<const Value> values_;
};

// One result row: values by column index, in the SELECT's order. A value type.
// The typed getters CHECK the column's type: the schema is code, so a mismatch is a bug.
class Row {
 public:
  Row() = default;
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const Value& Get(size_t i) const;  // CHECKs i < size()
  bool IsNull(size_t i) const;

  int64_t GetInt(size_t i) const;              // CHECKs INTEGER
  double GetDouble(size_t i) const;            // CHECKs REAL or INTEGER (widened)
  const std::string& GetText(size_t i) const;  // CHECKs TEXT
  const std::string& GetBlob(size_t i) const;  // CHECKs BLOB; returns the bytes
  // NULL-able columns: nullopt for NULL, otherwise as above.
  std::optional<int64_t> GetOptionalInt(size_t i) const;
  std::optional<std::string> GetOptionalText(size_t i) const;

  const std::vector<Value>& values() const { return values_; }
  friend bool operator==(const Row&, const Row&) = default;

 private:
  std::vector<Value> values_;
};

class Txn;

// State a component keeps in memory on behalf of a write batch (the closures one transaction
// commits together) and writes once per batch instead of once per closure: the audit log's
// counters and the tail of its Merkle tree. A closure enlists it with Txn::Enlist; it stays
// enlisted until the batch ends. Every call comes from the writer thread, in this order: after
// each closure from the enlisting one on, ClosureEnded; after the batch's last closure,
// BeforeCommit (skipped if the batch already failed); then BatchEnded.
class BatchParticipant {
 public:
  virtual ~BatchParticipant() = default;
  // The closure that was running ended. `kept`: its changes stay in the batch; otherwise they
  // were rolled back (its own error, or the whole transaction abandoned), and so must be any
  // state the participant changed on its behalf.
  virtual void ClosureEnded(bool kept) = 0;
  // Inside the transaction, after the last closure and before COMMIT. An error fails the whole
  // batch: every caller in it receives the error and nothing of the batch is kept.
  virtual Status BeforeCommit(Txn& txn) = 0;
  // The batch committed durably (`committed`), or was rolled back as a whole.
  virtual void BatchEnded(bool committed) = 0;
};

// A transaction handed to a Write or Read closure. Borrowed: valid only inside the closure, used
// only on the thread that runs it. Not thread-safe.
//
// Failures come back as Status, translated once from the backend's errors:
//   unique / primary-key violation -> AlreadyExists; other constraints (foreign key, CHECK,
//   NOT NULL) -> FailedPrecondition; lock contention -> Unavailable; disk full ->
//   ResourceExhausted; corruption -> DataLoss; malformed SQL or a parameter-count mismatch (bugs)
//   -> InvalidArgument / Internal. Messages never contain parameter values.
// A statement error inside a Write closure does not by itself end the closure: the closure
// decides, and if it returns an error all its changes are rolled back.
class Txn {
 public:
  virtual ~Txn() = default;

  // Runs one statement, discarding any rows it returns.
  virtual Status Exec(std::string_view sql, Params params = {}) = 0;
  // Runs one statement and returns all its rows (empty for a statement without rows).
  virtual Result<std::vector<Row>> Query(std::string_view sql, Params params = {}) = 0;
  // Runs one statement expected to return at most one row: nullopt for none, Internal for more.
  virtual Result<std::optional<Row>> QueryOne(std::string_view sql, Params params = {}) = 0;

  // Rowid of the row inserted by the most recent modifying statement of this Txn (0 if none).
  virtual int64_t LastInsertId() const = 0;
  // Rows changed by the most recent modifying statement of this Txn (0 if none).
  virtual int64_t ChangedRows() const = 0;
  // True inside Read: modifying statements fail with FailedPrecondition.
  virtual bool read_only() const = 0;
  // Enlists `participant` (which must outlive the batch) for the rest of this write batch;
  // enlisting it again in the same batch does nothing. A bug (crashes) in a Read or in
  // BeforeCommit.
  virtual void Enlist(BatchParticipant& participant) = 0;
};

// Closure run inside a transaction. Return OK to keep its changes, an error to roll them back.
// Results leave through captured references. It must be short (no network, no password
// hashing): in the SQLite backend every other writer waits while it runs.
using TxnFn = std::function<Status(Txn&)>;

// The database. Thread-safe: any thread may call any method concurrently, except as noted.
// Destroying the Store finishes every queued write (committing it and answering its caller),
// then joins its threads; no Write/Read may start or be in progress during destruction.
class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in a write transaction and blocks until it is durably committed.
  // Returns OK only after commit; fn's own error if it failed (its changes rolled back, other
  // writers unaffected); or the commit's error (nothing of fn kept). Blocks for a commit
  // (an fsync), so event-loop threads should use WriteAsync. Calling Write from inside a Write
  // closure or a WriteAsync callback is a bug (it would deadlock) and crashes.
  virtual Status Write(TxnFn fn) = 0;

  // As Write, but returns at once; `done` receives the same Status, called on the writer thread
  // after the commit. `done` must be quick and must not call Write (it may call WriteAsync and
  // Read).
  virtual void WriteAsync(TxnFn fn, std::function<void(Status)> done) = 0;

  // Runs `fn` in a read-only transaction on a pooled connection (blocking while all are busy):
  // every query in it sees the same committed snapshot, and never sees uncommitted changes.
  // Returns fn's Status or the backend's error. Nesting Read inside Read is a bug and crashes.
  virtual Status Read(TxnFn fn) = 0;

  // Proves the database accepts durable writes: writes and commits the heartbeat row. For
  // /readyz. Returns the write's error if it cannot.
  virtual Status CheckWritable() = 0;

  // "sqlite" or "postgres", for logs and the status page.
  virtual std::string_view Kind() const = 0;
};

}  // namespace sicher::store
