// audit_bench: the audit log's durable append throughput and query latency (src/sicher/audit),
// for bench/audit_append_vs_sqlite.sh. Two modes, each on a fresh data directory (SQLite store,
// real keyring) under --dir, deleted at the end:
//
//   audit_bench append [--threads 64] [--seconds 10] [--inflight 2048] [--breakdown 20000]
//                      [--raw-runs 3] [--prepared 1] [--dir /tmp]
//     1. breakdown: single-thread, in-memory cost of each step of an append (record, leaf hash,
//        AES-GCM seal with a cached context, IP blind index, node hash; DEK unwrap, no longer
//        per event), then --breakdown appends inside ONE store write (one commit): Append's
//        whole per-event cost on the writer thread, SQL included.
//     2. threads: --threads threads, each `store.Write([&](Txn& t) { return log.Append(t, ev,
//        nullptr); })` in a loop for --seconds (each Write returns only after the commit's fsync;
//        the store's group commit shares one fsync between the writes queued meanwhile).
//     3. async: --inflight WriteAsync appends kept in flight for --seconds by feeder threads,
//        one per core (how a server's event loops write; 0 skips it).
//     With --prepared 1, phases 2 and 3 run again with Log::Prepare called before the write
//     (by each thread, or by the feeder) and Append(txn, PreparedEvent) inside it.
//     4. reference: raw SQLite (sqlite3 C API, same pragmas as the store: WAL, synchronous=FULL,
//        secure_delete, foreign_keys, temp_store=MEMORY, journal_size_limit 64 MiB) inserting the
//        rows the threads phase stored (read back: same sealed payloads, hashes, sizes, same
//        audit schema: migrations 300-303) in ONE transaction, --raw-runs times
//        into fresh files (median); then the same rows with every statement Append and the
//        store issue (per event: savepoint, data key select, insert, release; per batch: the
//        tree size read, the Merkle node inserts, the counter updates), still one transaction
//        and no crypto; and the cost of one fsync'd commit.
//
//   audit_bench query [--events 10000000] [--days 400] [--runs 20] [--batch 50000]
//                     [--max-fill-seconds 0] [--dir /tmp] [--keep]
//     Fills one account with --events events spread evenly over --days (Log::Append with a
//     stepping clock, --batch appends per write transaction: every row is a real, openable,
//     hashed and Merkle-linked event), closes the store, evicts the database file from the OS
//     page cache (posix_fadvise DONTNEED after fdatasync), reopens it and times Log::Page
//     (newest first, limit 100, from = now - 30 days): once cold, then --runs times warm
//     (median); the same for a 30-day window 200 days back (from now - 230 d to now - 200 d).
//     --max-fill-seconds > 0 stops the fill early (the count used is printed).
//
// Output: one line per measurement, "<name> <value> ...", which the script formats.

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sicher/audit/actions.h"
#include "sicher/audit/log.h"
#include "sicher/audit/merkle.h"
#include "sicher/audit/record.h"
#include "sicher/auth/schema.h"
#include "sicher/base/bytes.h"
#include "sicher/base/clock.h"
#include "sicher/base/ids.h"
#include "sicher/base/metrics.h"
#include "sicher/crypto/aead.h"
#include "sicher/crypto/keyring.h"
#include "sicher/keys/data_keys.h"
#include "sicher/store/migration.h"
#include "sicher/store/sqlite/sqlite_store.h"

namespace sicher::audit {
namespace {

using Clk = std::chrono::steady_clock;

double Seconds(Clk::time_point a, Clk::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double ProcessCpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The store's writer thread ("sicher-db-write"): CPU time and time spent runnable but waiting
// for a core (/proc/self/task/TID/schedstat: on-CPU ns, run-queue wait ns). The rest of the
// wall time it was blocked: in fsync, or idle waiting for work.
struct Sched {
  double cpu = 0, wait = 0;
};
Sched WriterSched() {
  Sched out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    FILE* comm = std::fopen((task.path() / "comm").c_str(), "r");
    if (comm == nullptr) continue;
    char name[64] = {};
    const bool is_writer = std::fgets(name, sizeof name, comm) != nullptr &&
                           std::strncmp(name, "sicher-db-write", 15) == 0;
    std::fclose(comm);
    if (!is_writer) continue;
    FILE* f = std::fopen((task.path() / "schedstat").c_str(), "r");
    if (f == nullptr) continue;
    unsigned long long run = 0, wait = 0;
    if (std::fscanf(f, "%llu %llu", &run, &wait) == 2) {
      out.cpu = static_cast<double>(run) / 1e9;
      out.wait = static_cast<double>(wait) / 1e9;
    }
    std::fclose(f);
  }
  return out;
}

std::string WriterShare(const Sched& a, const Sched& b, double wall) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.1f %.1f %.1f", 100 * (b.cpu - a.cpu) / wall,
                100 * (b.wait - a.wait) / wall,
                100 * (wall - (b.cpu - a.cpu) - (b.wait - a.wait)) / wall);
  return buf;
}

void Die(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "audit_bench: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

void Out(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void Progress(const std::string& line) { std::fprintf(stderr, "[audit_bench] %s\n", line.c_str()); }

std::string F(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[i];
}

// A clock for the fill: every Now() is the previous one plus `step` (so consecutive events are
// spread evenly over the simulated period). MonoNow is real.
class StepClock final : public Clock {
 public:
  StepClock(Time start, Duration step) : now_us_(start.time_since_epoch().count()), step_(step) {}
  Time Now() const override { return Time(Duration(now_us_.fetch_add(step_.count()))); }
  MonoTime MonoNow() const override { return RealClock().MonoNow(); }
  Time Peek() const { return Time(Duration(now_us_.load())); }

 private:
  mutable std::atomic<int64_t> now_us_;
  Duration step_;
};

std::string MakeTempDir(const std::string& parent, const char* name) {
  std::string tmpl = parent + "/" + name + "_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return tmpl;
}

std::vector<store::Migration> Migrations() {
  std::vector<store::Migration> all = store::CoreMigrations();
  for (auto& m : auth::AuthMigrations()) all.push_back(m);
  for (auto& m : AuditMigrations()) all.push_back(m);
  return all;
}

std::unique_ptr<store::Store> OpenStore(const std::string& dir, metrics::Registry& registry) {
  store::SqliteOptions so;
  so.path = dir + "/sicher.db";
  so.migrations = Migrations();
  Result<std::unique_ptr<store::Store>> s = store::OpenSqliteStore(so, Env::Default(), registry);
  Die(s.status(), "open store");
  return *std::move(s);
}

// One account with its data key, as sign-up makes it.
std::string NewAccount(store::Store& store, crypto::Keyring& keyring, Env& env) {
  const std::string id = NewId(env.random, "acc");
  keys::DataKeys keys(keyring, env.random);
  Die(store.Write([&](store::Txn& txn) -> Status {
    return keys.Create(txn, id, env.clock.Now()).status();
  }),
      "create account key");
  return id;
}

// A 100-byte User-Agent.
std::string UserAgent() {
  std::string ua =
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
      "Safari/537.36";
  ua.resize(100, ' ');
  return ua;
}

// A realistic document.read: user actor, document target, IP, 100-byte User-Agent, request id,
// small details.
Event MakeEvent(const std::string& account, const std::string& actor, const std::string& doc,
                uint64_t n) {
  Event e;
  e.action = "document.read";
  e.scope = account;
  e.account_id = account;
  e.actor_type = ActorType::kUser;
  e.actor_id = actor;
  e.target_type = "document";
  e.target_id = doc;
  e.ip = "203.0.113.57";
  e.user_agent = UserAgent();
  e.device_type = "desktop";
  char rid[40];
  std::snprintf(rid, sizeof rid, "req_%016llx%06llx",
                static_cast<unsigned long long>(n * 2654435761u),
                static_cast<unsigned long long>(n & 0xffffff));
  e.request_id = rid;
  e.details = {{"version", 3}, {"bytes", 1048576}};
  return e;
}

// The record Log::Append writes (log.cc): RenderRecord over the event's fields, with a fresh
// event id and the time, for the breakdown only (the bench's fields need no cleaning).
std::string Render(const Event& e, Env& env, uint64_t log_index, int64_t sequence) {
  const ActionInfo* info = FindAction(e.action);
  const std::string id = NewId(env.random, "aev");
  const std::string timestamp = FormatRfc3339(env.clock.Now());
  return RenderRecord(RecordFields{.timestamp = timestamp,
                                   .id = id,
                                   .action = info->name,
                                   .category = info->ecs_category,
                                   .outcome = e.outcome,
                                   .reason = e.reason,
                                   .sequence = sequence,
                                   .log_index = log_index,
                                   .scope = e.scope,
                                   .actor_type = ActorTypeName(e.actor_type),
                                   .actor_id = e.actor_id,
                                   .target_type = e.target_type,
                                   .target_id = e.target_id,
                                   .device_type = e.device_type,
                                   .details = &e.details,
                                   .account_id = e.account_id,
                                   .ip = e.ip,
                                   .country = e.country,
                                   .user_agent = e.user_agent,
                                   .request_id = e.request_id,
                                   .actor_is_principal = true});
}

// --- raw SQLite ------------------------------------------------------------------------------

class RawDb {
 public:
  explicit RawDb(const std::string& path, bool read_only = false) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      Fail("open");
    }
    if (!read_only) {
      // The store's settings (store/sqlite/internal/connection.cc).
      Exec("PRAGMA journal_mode=WAL");
      Exec(
          "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON; "
          "PRAGMA temp_store=MEMORY; PRAGMA journal_size_limit=67108864;");
    }
  }
  ~RawDb() {
    for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) Fail(sql.c_str());
  }
  sqlite3_stmt* Prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      Fail(sql);
    }
    stmts_.push_back(s);
    return s;
  }
  // Steps to the end; returns the number of rows.
  int Run(sqlite3_stmt* s) {
    int rows = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) ++rows;
    if (rc != SQLITE_DONE) Fail("step");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rows;
  }
  [[noreturn]] void Fail(const char* what) {
    std::fprintf(stderr, "audit_bench: sqlite: %s: %s\n", what, sqlite3_errmsg(db_));
    std::exit(1);
  }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;
};

// The audit tables exactly as the store has them: every audit migration's SQLite text (300: the
// tables and indexes; 301: the append-only triggers, which fire on UPDATE / DELETE only).
void CreateAuditSchema(RawDb& db) {
  for (const store::Migration& m : AuditMigrations()) db.Exec(m.sqlite_sql);
}

struct Row {
  int64_t log_index, at, sequence;
  std::string scope, action, actor_id, outcome, ip_index, payload, leaf_hash;
};

std::string ColText(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  return p ? std::string(static_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

std::vector<Row> ReadRows(const std::string& path, int64_t from, int64_t to) {
  RawDb db(path, /*read_only=*/true);
  sqlite3_stmt* s = db.Prepare(
      "SELECT log_index, at, scope, sequence, action, actor_id, outcome, ip_index, payload, "
      "leaf_hash FROM audit_events WHERE log_index >= ? AND log_index < ? ORDER BY log_index");
  sqlite3_bind_int64(s, 1, from);
  sqlite3_bind_int64(s, 2, to);
  std::vector<Row> rows;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    rows.push_back(Row{sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                       sqlite3_column_int64(s, 3), ColText(s, 2), ColText(s, 4), ColText(s, 5),
                       ColText(s, 6), ColText(s, 7), ColText(s, 8), ColText(s, 9)});
  }
  if (rc != SQLITE_DONE) db.Fail("read rows");
  return rows;
}

void BindRow(sqlite3_stmt* s, const Row& r) {
  sqlite3_bind_int64(s, 1, r.log_index);
  sqlite3_bind_int64(s, 2, r.at);
  sqlite3_bind_text(s, 3, r.scope.data(), static_cast<int>(r.scope.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, r.sequence);
  sqlite3_bind_text(s, 5, r.action.data(), static_cast<int>(r.action.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 6, r.actor_id.data(), static_cast<int>(r.actor_id.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 7, r.outcome.data(), static_cast<int>(r.outcome.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 8, r.ip_index.data(), static_cast<int>(r.ip_index.size()), SQLITE_STATIC);
  sqlite3_bind_blob(s, 9, r.payload.data(), static_cast<int>(r.payload.size()), SQLITE_STATIC);
  sqlite3_bind_blob(s, 10, r.leaf_hash.data(), static_cast<int>(r.leaf_hash.size()), SQLITE_STATIC);
}

constexpr const char* kInsertEvent =
    "INSERT INTO audit_events (log_index, at, scope, sequence, action, actor_id, outcome, "
    "ip_index, payload, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

// The reference: the rows in one transaction, one prepared statement. Returns seconds (from
// BEGIN to the end of COMMIT, i.e. durable).
// With batch > 0, commits every `batch` rows instead (the group commit's shape, no crypto).
// `cpu` (optional) receives this thread's CPU seconds over the same span.
double RawInsert(const std::string& path, const std::vector<Row>& rows, size_t batch = 0,
                 double* cpu = nullptr) {
  RawDb db(path);
  CreateAuditSchema(db);
  sqlite3_stmt* ins = db.Prepare(kInsertEvent);
  const double c0 = ThreadCpu();
  const Clk::time_point t0 = Clk::now();
  db.Exec("BEGIN IMMEDIATE");
  for (size_t i = 0; i < rows.size(); ++i) {
    if (batch > 0 && i > 0 && i % batch == 0) {
      db.Exec("COMMIT");
      db.Exec("BEGIN IMMEDIATE");
    }
    BindRow(ins, rows[i]);
    db.Run(ins);
  }
  db.Exec("COMMIT");
  if (cpu != nullptr) *cpu = ThreadCpu() - c0;
  return Seconds(t0, Clk::now());
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// The same rows with every statement Log::Append and the store around it issue, in one
// transaction taken as one batch, no crypto: what SQLite alone costs for Append's statement
// set. Per event: SAVEPOINT (prepared), the data_keys SELECT, the event INSERT, RELEASE. Per
// batch (Log::Tail::BeforeCommit): the audit_tree SELECT at the first append, the Merkle nodes
// the batch completed (one per event on average), one audit_tree UPDATE, one audit_scopes
// upsert, then COMMIT.
struct SqlSplit {  // seconds spent per statement group in RawAppendSql
  double savepoint = 0, key = 0, insert = 0, batch = 0, commit = 0;
  double cpu = 0;  // thread CPU seconds of the whole run
};

double RawAppendSql(const std::string& path, const std::vector<Row>& rows,
                    const std::string& wrapped_dek, SqlSplit* split) {
  RawDb db(path);
  CreateAuditSchema(db);
  db.Exec(
      "CREATE TABLE data_keys (owner_id TEXT PRIMARY KEY, kek_version INTEGER NOT NULL, "
      "wrapped_dek BLOB NOT NULL, created_at INTEGER NOT NULL) STRICT");
  const std::string scope = rows.front().scope;
  {
    sqlite3_stmt* k = db.Prepare("INSERT INTO data_keys VALUES (?, 1, ?, 0)");
    sqlite3_bind_text(k, 1, scope.data(), static_cast<int>(scope.size()), SQLITE_STATIC);
    sqlite3_bind_blob(k, 2, wrapped_dek.data(), static_cast<int>(wrapped_dek.size()),
                      SQLITE_STATIC);
    db.Run(k);
  }
  db.Exec("UPDATE audit_tree SET size = " + std::to_string(rows.front().log_index));
  sqlite3_stmt* savepoint = db.Prepare("SAVEPOINT sicher_write");
  sqlite3_stmt* release = db.Prepare("RELEASE sicher_write");
  sqlite3_stmt* key = db.Prepare("SELECT wrapped_dek FROM data_keys WHERE owner_id = ?");
  sqlite3_stmt* size = db.Prepare("SELECT size FROM audit_tree WHERE id = 1");
  sqlite3_stmt* tree = db.Prepare("UPDATE audit_tree SET size = ? WHERE id = 1");
  sqlite3_stmt* seq = db.Prepare(
      "INSERT INTO audit_scopes (scope, last_sequence) VALUES (?, ?) ON CONFLICT (scope) DO "
      "UPDATE SET last_sequence = excluded.last_sequence");
  sqlite3_stmt* ins = db.Prepare(kInsertEvent);
  sqlite3_stmt* add = db.Prepare("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)");
  const Clk::time_point t0 = Clk::now();
  db.Exec("BEGIN IMMEDIATE");
  const double c0 = ThreadCpu();
  Clk::time_point a = Clk::now(), b;
  auto lap = [&](double& into) {
    b = Clk::now();
    into += Seconds(a, b);
    a = b;
  };
  db.Run(size);
  lap(split->batch);
  for (const Row& r : rows) {
    db.Run(savepoint);
    lap(split->savepoint);
    sqlite3_bind_text(key, 1, r.scope.data(), static_cast<int>(r.scope.size()), SQLITE_STATIC);
    db.Run(key);
    lap(split->key);
    BindRow(ins, r);
    db.Run(ins);
    lap(split->insert);
    db.Run(release);
    lap(split->savepoint);
  }
  // The nodes of level >= 4 the batch completed (log.cc kStoredNodeLevel): one per trailing 1
  // bit of each leaf index past the third.
  for (const Row& r : rows) {
    int level = 0;
    for (uint64_t i = static_cast<uint64_t>(r.log_index); (i & 1) == 1; i >>= 1) {
      ++level;
      if (level < 4) continue;
      sqlite3_bind_int64(add, 1, level);
      sqlite3_bind_int64(add, 2, static_cast<int64_t>(i >> 1));
      sqlite3_bind_blob(add, 3, r.leaf_hash.data(), static_cast<int>(r.leaf_hash.size()),
                        SQLITE_STATIC);
      db.Run(add);
    }
  }
  sqlite3_bind_int64(tree, 1, rows.back().log_index + 1);
  db.Run(tree);
  sqlite3_bind_text(seq, 1, scope.data(), static_cast<int>(scope.size()), SQLITE_STATIC);
  sqlite3_bind_int64(seq, 2, rows.back().sequence);
  db.Run(seq);
  lap(split->batch);
  db.Exec("COMMIT");
  lap(split->commit);
  split->cpu = ThreadCpu() - c0;
  return Seconds(t0, Clk::now());
}

// Mean wall time of one durable commit of a one-row transaction: the fsync floor of every
// group commit.
double RawCommitMs(const std::string& path, const std::vector<Row>& rows, int n) {
  RawDb db(path);
  CreateAuditSchema(db);
  sqlite3_stmt* ins = db.Prepare(kInsertEvent);
  const Clk::time_point t0 = Clk::now();
  for (int i = 0; i < n; ++i) {
    db.Exec("BEGIN IMMEDIATE");
    BindRow(ins, rows[static_cast<size_t>(i) % rows.size()]);
    sqlite3_bind_int64(ins, 1, i);
    db.Run(ins);
    db.Exec("COMMIT");
  }
  return Seconds(t0, Clk::now()) * 1e3 / n;
}

// --- append mode -----------------------------------------------------------------------------

struct Args {
  std::string dir = "/tmp";
  int threads = 64;
  double seconds = 10;
  int inflight = 2048;
  int breakdown = 20000;
  int raw_runs = 3;
  bool prepared = true;  // also run both append phases with Log::Prepare outside the closure
  int64_t events = 10'000'000;
  int days = 400;
  int runs = 20;
  int batch = 50'000;
  double max_fill_seconds = 0;
  bool keep = false;
};

template <typename F>
double PerOpUs(int n, F&& f) {  // thread CPU microseconds per call
  const double c0 = ThreadCpu();
  for (int i = 0; i < n; ++i) f(i);
  return (ThreadCpu() - c0) * 1e6 / n;
}

uint64_t TreeSize(store::Store& store) {
  uint64_t n = 0;
  Die(store.Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(n, Log::TreeSize(txn));
    return OkStatus();
  }),
      "tree size");
  return n;
}

// "background/writer" WAL checkpoints so far (sqlite_store.cc).
std::string Checkpoints(metrics::Registry& r) {
  auto count = [&](const char* by) {
    return r.GetCounter("sicher_db_wal_checkpoints_total", "", {{"by", by}}).Value();
  };
  return std::to_string(count("background")) + "/" + std::to_string(count("writer"));
}

uint64_t Commits(metrics::Registry& r) {
  return r
      .GetCounter("sicher_db_commit_batches_total",
                  "Write transactions committed by the database writer.")
      .Value();
}

int AppendMode(const Args& a) {
  Env& env = Env::Default();
  const std::string dir = MakeTempDir(a.dir, "sicher_audit_bench");
  Result<std::unique_ptr<crypto::Keyring>> keyring =
      crypto::Keyring::OpenOrCreate(env, dir + "/keyring");
  Die(keyring.status(), "keyring");
  metrics::Registry registry;
  std::unique_ptr<store::Store> store = OpenStore(dir, registry);
  Log log(**keyring, env);
  const std::string account = NewAccount(*store, **keyring, env);
  const std::string actor = NewId(env.random, "usr");
  const std::string doc = NewId(env.random, "doc");
  keys::DataKeys keys(**keyring, env.random);

  double append_one_txn_us = 0, append_one_txn_cpu_us = 0;
  uint64_t threads_commits = 0;

  // 1. Breakdown: each step of Append on this thread, in memory.
  std::string wrapped;
  SecretBytes dek;
  Die(store->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(
        std::optional<store::Row> row,
        txn.QueryOne("SELECT wrapped_dek FROM data_keys WHERE owner_id = ?", {account}));
    wrapped = row->GetBlob(0);
    ASSIGN_OR_RETURN(dek, keys.Get(txn, account));
    return OkStatus();
  }),
      "data key");
  {
    const int n = a.breakdown;
    const Event ev = MakeEvent(account, actor, doc, 1);
    const std::string canonical = Render(ev, env, 123456, 12345);
    const std::string leaf = LeafHash(canonical);
    Result<crypto::AeadContext> sealer = crypto::AeadContext::Create(dek);
    Die(sealer.status(), "sealing context");
    size_t bytes = 0;  // every result feeds it, so no call can be optimised away
    const double event_us = PerOpUs(n, [&](int i) {
      bytes += MakeEvent(account, actor, doc, static_cast<uint64_t>(i)).request_id.size();
    });
    const double newid_us = PerOpUs(n, [&](int) { bytes += NewId(env.random, "aev").size(); });
    const double record_us =
        PerOpUs(n, [&](int i) { bytes += Render(ev, env, static_cast<uint64_t>(i), i).size(); });
    const double leaf_us = PerOpUs(n, [&](int) { bytes += LeafHash(canonical).size(); });
    const double node_us = PerOpUs(n, [&](int) { bytes += NodeHash(leaf, leaf).size(); });
    const double unwrap_us = PerOpUs(n, [&](int) {
      Result<SecretBytes> k = (*keyring)->UnwrapDek(wrapped, account);
      Die(k.status(), "unwrap");
      bytes += k->size();
    });
    const double seal_us = PerOpUs(n, [&](int i) {  // with the scope's cached context
      Result<std::string> s = keys.Seal(*sealer, "audit_events", "payload",
                                        account + "#" + std::to_string(i), canonical);
      Die(s.status(), "seal");
      bytes += s->size();
    });
    const double blind_us =
        PerOpUs(n, [&](int) { bytes += (*keyring)->BlindIndex("audit_ip", ev.ip).size(); });
    Out("record_bytes " + std::to_string(canonical.size()) + " sealed_bytes " +
        std::to_string(
            keys.Seal(dek, "audit_events", "payload", account + "#1", canonical)->size()));
    Out("cost_us event_struct " + F("%.2f", event_us) + " new_id " + F("%.2f", newid_us) +
        " record " + F("%.2f", record_us) + " leaf_hash " + F("%.2f", leaf_us) + " node_hash " +
        F("%.2f", node_us) + " dek_unwrap " + F("%.2f", unwrap_us) + " seal " + F("%.2f", seal_us) +
        " ip_blind_index " + F("%.2f", blind_us));
    // Per event, on the writer: record (includes its NewId) + leaf + ~1 node hash + seal +
    // blind index. The DEK is unwrapped only when the scope's data_keys row changes.
    Out("cost_us_no_sql_total " + F("%.2f", record_us + leaf_us + node_us + seal_us + blind_us));
    if (bytes == 0) return 1;

    // Append's whole cost: n appends in one write transaction, one commit.
    const Sched w0 = WriterSched();
    const Clk::time_point t0 = Clk::now();
    Die(store->Write([&](store::Txn& txn) -> Status {
      for (int i = 0; i < n; ++i) RETURN_IF_ERROR(log.Append(txn, ev, nullptr));
      return OkStatus();
    }),
        "append in one transaction");
    const double s = Seconds(t0, Clk::now());
    const Sched w1 = WriterSched();
    Out("append_one_txn " + std::to_string(n) + " " + F("%.3f", s) + " " + F("%.1f", n / s) + " " +
        F("%.2f", s * 1e6 / n) + " " + F("%.2f", (w1.cpu - w0.cpu) * 1e6 / n));
    append_one_txn_us = s * 1e6 / n;
    append_one_txn_cpu_us = (w1.cpu - w0.cpu) * 1e6 / n;
  }

  // 2. Threads: each Write acknowledged only after its commit. With `prepared`, each thread
  // calls Log::Prepare before its Write and appends the result inside it (as DocStore::RecordNow
  // records document reads); otherwise the closure appends the Event (Prepare runs inside).
  const uint64_t threads_from = TreeSize(*store);
  uint64_t threads_events = 0;
  auto run_threads = [&](bool prepared, const std::string& label) {
    std::atomic<bool> stop{false};
    std::vector<std::vector<double>> latencies(static_cast<size_t>(a.threads));
    std::vector<std::thread> pool;
    const uint64_t commits0 = Commits(registry);
    const double cpu0 = ProcessCpu();
    const Sched w0 = WriterSched();
    const Clk::time_point t0 = Clk::now();
    for (int t = 0; t < a.threads; ++t) {
      pool.emplace_back([&, t] {
        std::vector<double>& lat = latencies[static_cast<size_t>(t)];
        lat.reserve(50000);
        for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          const Event ev = MakeEvent(account, actor, doc, (static_cast<uint64_t>(t) << 32) | i);
          const Clk::time_point w0 = Clk::now();
          if (prepared) {
            Result<PreparedEvent> pe = log.Prepare(ev);
            Die(pe.status(), "prepare");
            Die(store->Write([&](store::Txn& txn) { return log.Append(txn, *pe, nullptr); }),
                "append");
          } else {
            Die(store->Write([&](store::Txn& txn) { return log.Append(txn, ev, nullptr); }),
                "append");
          }
          lat.push_back(Seconds(w0, Clk::now()) * 1e3);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
    stop = true;
    for (std::thread& th : pool) th.join();
    const double s = Seconds(t0, Clk::now());
    const double cpu = ProcessCpu() - cpu0;
    const Sched w1 = WriterSched();
    const uint64_t commits = Commits(registry) - commits0;
    std::vector<double> all;
    for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    Out("append_threads" + label + " " + std::to_string(a.threads) + " " +
        std::to_string(all.size()) + " " + F("%.3f", s) + " " +
        F("%.1f", static_cast<double>(all.size()) / s) + " " + std::to_string(commits) + " " +
        F("%.2f", Percentile(all, 0.5)) + " " + F("%.2f", Percentile(all, 0.99)) + " " +
        F("%.2f", cpu * 1e6 / static_cast<double>(all.size())));
    Out("writer_threads" + label + " " + WriterShare(w0, w1, s) + " " +
        F("%.2f", (w1.cpu - w0.cpu) * 1e6 / static_cast<double>(all.size())));
    return std::make_pair(static_cast<uint64_t>(all.size()), commits);
  };
  std::tie(threads_events, threads_commits) = run_threads(false, "");

  // 3. Async: `inflight` WriteAsync appends outstanding at all times, as a server's event
  // loops keep them. Feeder threads (the event loops, one per core) issue a new append for every
  // one that completes; with `prepared` they call Log::Prepare first, so only
  // Append(PreparedEvent) runs on the writer thread.
  auto run_async = [&](bool prepared, const std::string& label) {
    // One feeder per core, as a server has one event loop per core; slot i belongs to feeder
    // i % feeders.
    const size_t feeders = std::max<size_t>(1, std::thread::hardware_concurrency());
    struct Feeder {
      std::mutex mu;
      std::condition_variable cv;
      std::vector<size_t> ready;  // slots whose append completed
    };
    std::vector<Feeder> feed(feeders);
    std::atomic<uint64_t> done{0};
    std::vector<Event> events;
    for (int i = 0; i < a.inflight; ++i) {
      events.push_back(MakeEvent(account, actor, doc, 1'000'000'000ull + static_cast<uint64_t>(i)));
    }
    auto issue = [&](size_t slot) {
      auto on_done = [&, slot](Status s) {
        Die(s, "append async");
        done.fetch_add(1, std::memory_order_relaxed);
        Feeder& f = feed[slot % feeders];
        bool was_empty;
        {
          std::lock_guard lock(f.mu);
          was_empty = f.ready.empty();
          f.ready.push_back(slot);
        }
        // Only the first completion of a round wakes the feeder (an event loop is woken once
        // for many posted completions too); the rest are collected with it.
        if (was_empty) f.cv.notify_one();
      };
      if (prepared) {
        Result<PreparedEvent> pe = log.Prepare(events[slot]);
        Die(pe.status(), "prepare");
        store->WriteAsync(
            [&log, pe = *std::move(pe)](store::Txn& txn) { return log.Append(txn, pe, nullptr); },
            on_done);
      } else {
        store->WriteAsync(
            [&, slot](store::Txn& txn) { return log.Append(txn, events[slot], nullptr); }, on_done);
      }
    };
    const uint64_t commits0 = Commits(registry);
    const double cpu0 = ProcessCpu();
    const Sched w0 = WriterSched();
    const Clk::time_point t0 = Clk::now();
    const Clk::time_point end =
        t0 + std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(a.seconds));
    std::vector<std::thread> threads;
    for (size_t k = 0; k < feeders; ++k) {
      threads.emplace_back([&, k] {
        Feeder& f = feed[k];
        size_t outstanding = 0;
        for (size_t i = k; i < events.size(); i += feeders, ++outstanding) issue(i);
        std::vector<size_t> taken;
        while (outstanding > 0) {
          {
            std::unique_lock lock(f.mu);
            f.cv.wait(lock, [&] { return !f.ready.empty(); });
            taken.swap(f.ready);
          }
          const bool stopping = Clk::now() >= end;
          for (size_t slot : taken) {
            if (stopping) {
              --outstanding;
            } else {
              issue(slot);
            }
          }
          taken.clear();
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const double s = Seconds(t0, Clk::now());
    const double cpu = ProcessCpu() - cpu0;
    const Sched w1 = WriterSched();
    const uint64_t n = done.load();
    Out("append_async" + label + " " + std::to_string(a.inflight) + " " + std::to_string(n) + " " +
        F("%.3f", s) + " " + F("%.1f", static_cast<double>(n) / s) + " " +
        std::to_string(Commits(registry) - commits0) + " " +
        F("%.2f", cpu * 1e6 / static_cast<double>(n)));
    Out("writer_async" + label + " " + WriterShare(w0, w1, s) + " " +
        F("%.2f", (w1.cpu - w0.cpu) * 1e6 / static_cast<double>(n)));
    Out("checkpoints_async" + label + " " + Checkpoints(registry));
  };
  if (a.inflight > 0) run_async(false, "");
  if (a.prepared) {
    run_threads(true, "_prepared");
    if (a.inflight > 0) run_async(true, "_prepared");
  }
  store.reset();

  // 4. Reference: the rows the threads phase stored, raw.
  std::vector<Row> rows = ReadRows(dir + "/sicher.db", static_cast<int64_t>(threads_from),
                                   static_cast<int64_t>(threads_from + threads_events));
  if (rows.empty() || rows.size() != threads_events) {
    std::fprintf(stderr, "audit_bench: read back %zu rows, expected %llu\n", rows.size(),
                 static_cast<unsigned long long>(threads_events));
    return 1;
  }
  size_t payload_bytes = 0;
  for (const Row& r : rows) payload_bytes += r.payload.size();
  Out("rows " + std::to_string(rows.size()) + " mean_payload_bytes " +
      F("%.1f", static_cast<double>(payload_bytes) / static_cast<double>(rows.size())));
  const std::string raw_path = dir + "/raw.db";
  std::vector<double> rates;
  std::string runs;
  std::vector<double> cpu_us;
  for (int i = 0; i < a.raw_runs; ++i) {
    double cpu = 0;
    const double s = RawInsert(raw_path, rows, 0, &cpu);
    RemoveDb(raw_path);
    rates.push_back(static_cast<double>(rows.size()) / s);
    cpu_us.push_back(cpu * 1e6 / static_cast<double>(rows.size()));
    runs += " " + F("%.1f", rates.back());
  }
  Out("raw_insert " + std::to_string(rows.size()) + " " + F("%.1f", Median(rates)) + runs);
  Out("raw_insert_cpu_us " + F("%.2f", Median(cpu_us)));
  {  // The same rows committed in groups of the threads phase's mean batch (one fsync each).
    const size_t group = std::max<size_t>(
        1, static_cast<size_t>(static_cast<double>(threads_events) /
                                   static_cast<double>(std::max<uint64_t>(1, threads_commits)) +
                               0.5));
    const double s = RawInsert(raw_path, rows, group);
    RemoveDb(raw_path);
    Out("raw_insert_grouped " + std::to_string(group) + " " +
        F("%.1f", static_cast<double>(rows.size()) / s));
  }
  {  // Append's statement set on the same rows, one transaction, no crypto.
    SqlSplit split;
    const double s = RawAppendSql(raw_path, rows, wrapped, &split);
    RemoveDb(raw_path);
    const double n = static_cast<double>(rows.size());
    Out("raw_append_sql " + std::to_string(rows.size()) + " " + F("%.1f", n / s) + " " +
        F("%.2f", s * 1e6 / n) + " savepoint_release " + F("%.2f", split.savepoint * 1e6 / n) +
        " data_key_select " + F("%.2f", split.key * 1e6 / n) + " event_insert " +
        F("%.2f", split.insert * 1e6 / n) + " batch " + F("%.2f", split.batch * 1e6 / n) +
        " commit " + F("%.2f", split.commit * 1e6 / n) + " cpu " + F("%.2f", split.cpu * 1e6 / n));
  }
  {  // Same size as append_one_txn (first `breakdown` rows into an empty database): per row.
    std::vector<Row> first(rows.begin(),
                           rows.begin() + static_cast<ptrdiff_t>(std::min<size_t>(
                                              rows.size(), static_cast<size_t>(a.breakdown))));
    const double n = static_cast<double>(first.size());
    double insert_cpu = 0;
    const double insert_s = RawInsert(raw_path, first, 0, &insert_cpu);
    RemoveDb(raw_path);
    SqlSplit split;
    const double sql_s = RawAppendSql(raw_path, first, wrapped, &split);
    RemoveDb(raw_path);
    Out("breakdown_us " + std::to_string(first.size()) + " raw_insert " +
        F("%.2f", insert_s * 1e6 / n) + " raw_append_sql " + F("%.2f", sql_s * 1e6 / n) +
        " append " + F("%.2f", append_one_txn_us));
    Out("breakdown_cpu_us " + std::to_string(first.size()) + " raw_insert " +
        F("%.2f", insert_cpu * 1e6 / n) + " raw_append_sql " + F("%.2f", split.cpu * 1e6 / n) +
        " append " + F("%.2f", append_one_txn_cpu_us));
  }
  Out("commit_ms " + F("%.3f", RawCommitMs(dir + "/raw_commit.db", rows, 50)));
  std::filesystem::remove_all(dir);
  return 0;
}

// --- query mode ------------------------------------------------------------------------------

// Bytes of `path` in the OS page cache (mincore over a read-only mapping).
uint64_t ResidentBytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  const off_t size = lseek(fd, 0, SEEK_END);
  uint64_t resident = 0;
  if (size > 0) {
    void* map = mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
      std::vector<unsigned char> vec((static_cast<size_t>(size) + page - 1) / page);
      if (mincore(map, static_cast<size_t>(size), vec.data()) == 0) {
        for (unsigned char v : vec) resident += (v & 1) ? page : 0;
      }
      munmap(map, static_cast<size_t>(size));
    }
  }
  ::close(fd);
  return resident;
}

void Evict(const std::string& path) {
  for (const char* suffix : {"", "-wal"}) {
    const int fd = ::open((path + suffix).c_str(), O_RDONLY);
    if (fd < 0) continue;
    (void)fdatasync(fd);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

struct PageResult {
  double ms = 0;
  size_t n = 0;
  uint64_t first_index = 0;
  int64_t first_at = 0, last_at = 0;
};

PageResult TimePage(store::Store& store, Log& log, const std::string& account, Time from,
                    std::optional<Time> to) {
  std::vector<std::string> scopes{account};
  Filter f;
  f.from = from;
  f.to = to;
  PageResult r;
  const Clk::time_point t0 = Clk::now();
  std::vector<StoredEvent> page;
  Die(store.Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(page, log.Page(txn, scopes, f, std::nullopt, 100, Order::kNewestFirst));
    return OkStatus();
  }),
      "page");
  r.ms = Seconds(t0, Clk::now()) * 1e3;
  r.n = page.size();
  for (const StoredEvent& ev : page) {
    if (!ev.status.ok() || ev.record.empty()) Die(ev.status, "page: an event did not open");
    nlohmann::json j = nlohmann::json::parse(ev.record);
    if (j["event"]["action"] != "document.read" ||
        j["sicher"]["log_index"].get<uint64_t>() != ev.log_index) {
      std::fprintf(stderr, "audit_bench: page returned a wrong record\n");
      std::exit(1);
    }
  }
  if (!page.empty()) {
    r.first_index = page.front().log_index;
    r.first_at = page.front().at_us;
    r.last_at = page.back().at_us;
  }
  return r;
}

std::string PlanOf(const std::string& path, const std::string& account, int64_t from,
                   std::optional<int64_t> to) {
  RawDb db(path, /*read_only=*/true);
  std::string sql =
      "EXPLAIN QUERY PLAN SELECT log_index, at, scope, sequence, payload, leaf_hash FROM "
      "audit_events WHERE scope = ? AND payload IS NOT NULL AND at >= ?";
  if (to) sql += " AND at < ?";
  sql += " ORDER BY at DESC, log_index DESC LIMIT 100";
  sqlite3_stmt* s = db.Prepare(sql.c_str());
  sqlite3_bind_text(s, 1, account.data(), static_cast<int>(account.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, from);
  if (to) sqlite3_bind_int64(s, 3, *to);
  std::string plan;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (!plan.empty()) plan += "; ";
    plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
  }
  sqlite3_reset(s);
  return plan;
}

int64_t CountWindow(const std::string& path, const std::string& account, int64_t from,
                    std::optional<int64_t> to) {
  RawDb db(path, /*read_only=*/true);
  sqlite3_stmt* s =
      db.Prepare(to ? "SELECT count(*) FROM audit_events WHERE scope = ? AND at >= ? AND at < ?"
                    : "SELECT count(*) FROM audit_events WHERE scope = ? AND at >= ?");
  sqlite3_bind_text(s, 1, account.data(), static_cast<int>(account.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, from);
  if (to) sqlite3_bind_int64(s, 3, *to);
  int64_t n = 0;
  if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return n;
}

int QueryMode(const Args& a) {
  Env& real = Env::Default();
  const std::string dir = MakeTempDir(a.dir, "sicher_audit_query");
  const std::string db_path = dir + "/sicher.db";
  Result<std::unique_ptr<crypto::Keyring>> keyring =
      crypto::Keyring::OpenOrCreate(real, dir + "/keyring");
  Die(keyring.status(), "keyring");
  metrics::Registry registry;
  std::unique_ptr<store::Store> store = OpenStore(dir, registry);
  const std::string account = NewAccount(*store, **keyring, real);
  const std::string actor = NewId(real.random, "usr");
  const std::string doc = NewId(real.random, "doc");

  // Events spread evenly over `days`, ending about now.
  const Duration span = std::chrono::hours(24) * a.days;
  const Duration step = span / std::max<int64_t>(1, a.events);
  StepClock clock(real.clock.Now() - span, step);
  Env fill_env{clock, real.fs, real.random};
  Log fill(**keyring, fill_env);

  int64_t filled = 0;
  const Clk::time_point t0 = Clk::now();
  Clk::time_point last_report = t0;
  while (filled < a.events) {
    const int n = static_cast<int>(std::min<int64_t>(a.batch, a.events - filled));
    Die(store->Write([&](store::Txn& txn) -> Status {
      for (int i = 0; i < n; ++i) {
        const Event ev = MakeEvent(account, actor, doc, static_cast<uint64_t>(filled + i));
        RETURN_IF_ERROR(fill.Append(txn, ev, nullptr));
      }
      return OkStatus();
    }),
        "fill");
    filled += n;
    const Clk::time_point now = Clk::now();
    if (Seconds(last_report, now) >= 30 || filled == a.events) {
      last_report = now;
      Progress(std::to_string(filled) + " events in " + F("%.0f", Seconds(t0, now)) + " s (" +
               F("%.0f", static_cast<double>(filled) / Seconds(t0, now)) + "/s)");
    }
    if (a.max_fill_seconds > 0 && Seconds(t0, now) > a.max_fill_seconds) break;
  }
  const double fill_s = Seconds(t0, Clk::now());
  const Time now = clock.Peek();
  const Time first = now - step * filled;
  Out("fill " + std::to_string(filled) + " " + F("%.1f", fill_s) + " " +
      F("%.1f", static_cast<double>(filled) / fill_s) + " " +
      F("%.1f", std::chrono::duration<double>(now - first).count() / 86400));

  store.reset();  // checkpoints the WAL into the database file and removes it
  std::error_code ec;
  Out("db_bytes " + std::to_string(std::filesystem::file_size(db_path, ec)));

  struct Window {
    const char* name;
    Time from;
    std::optional<Time> to;
  };
  const Window windows[] = {
      {"recent", now - std::chrono::hours(24 * 30), std::nullopt},
      {"past", now - std::chrono::hours(24 * 230), now - std::chrono::hours(24 * 200)},
  };
  for (const Window& w : windows) {
    const int64_t from_us = w.from.time_since_epoch().count();
    std::optional<int64_t> to_us;
    if (w.to) to_us = w.to->time_since_epoch().count();
    Out(std::string("plan_") + w.name + " " + PlanOf(db_path, account, from_us, to_us));
    Out(std::string("window_") + w.name + " " +
        std::to_string(CountWindow(db_path, account, from_us, to_us)));

    const uint64_t resident_before = ResidentBytes(db_path);
    Evict(db_path);
    Out(std::string("evicted_") + w.name + " " + std::to_string(resident_before) + " " +
        std::to_string(ResidentBytes(db_path)));
    store = OpenStore(dir, registry);
    Log log(**keyring, real);
    const PageResult cold = TimePage(*store, log, account, w.from, w.to);
    std::vector<double> warm;
    std::string runs;
    for (int i = 0; i < a.runs; ++i) {
      warm.push_back(TimePage(*store, log, account, w.from, w.to).ms);
      runs += " " + F("%.2f", warm.back());
    }
    // The same SQL on a raw connection (warm): how much of Page is SQLite, how much decrypting.
    double sql_ms = 0;
    {
      RawDb db(db_path, /*read_only=*/true);
      std::string sql =
          "SELECT log_index, at, scope, sequence, payload, leaf_hash FROM audit_events WHERE "
          "scope = ? AND payload IS NOT NULL AND at >= ?";
      if (to_us) sql += " AND at < ?";
      sql += " ORDER BY at DESC, log_index DESC LIMIT 100";
      sqlite3_stmt* s = db.Prepare(sql.c_str());
      std::vector<double> t;
      for (int i = 0; i < a.runs + 1; ++i) {
        const Clk::time_point q0 = Clk::now();
        sqlite3_bind_text(s, 1, account.data(), static_cast<int>(account.size()), SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, from_us);
        if (to_us) sqlite3_bind_int64(s, 3, *to_us);
        size_t bytes = 0;
        while (sqlite3_step(s) == SQLITE_ROW)
          bytes += static_cast<size_t>(sqlite3_column_bytes(s, 4));
        sqlite3_reset(s);
        if (i > 0) t.push_back(Seconds(q0, Clk::now()) * 1e3);  // first run warms
        if (bytes == 0) db.Fail("no rows");
      }
      sql_ms = Median(t);
    }
    store.reset();
    const double span_days = static_cast<double>(cold.first_at - cold.last_at) / 86400e6;
    Out(std::string("query_") + w.name + " " + std::to_string(cold.n) + " " + F("%.2f", cold.ms) +
        " " + F("%.2f", Median(warm)) + " " +
        F("%.2f", *std::min_element(warm.begin(), warm.end())) + " " +
        F("%.2f", *std::max_element(warm.begin(), warm.end())) + " " + F("%.3f", sql_ms) + " " +
        std::to_string(cold.first_index) + " " + F("%.3f", span_days));
  }
  if (a.keep) {
    Progress("kept " + dir);
  } else {
    std::filesystem::remove_all(dir);
  }
  return 0;
}

int Main(int argc, char** argv) {
  const char* usage =
      "usage: audit_bench append [--threads N] [--seconds S] [--inflight N] [--breakdown N]\n"
      "                          [--raw-runs N] [--prepared 0|1] [--dir DIR]\n"
      "       audit_bench query [--events N] [--days N] [--runs N] [--batch N]\n"
      "                         [--max-fill-seconds S] [--dir DIR] [--keep]\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  const std::string mode = argv[1];
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--keep") {
      a.keep = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fputs(usage, stderr);
      return 2;
    }
    const std::string v = argv[++i];
    if (flag == "--dir")
      a.dir = v;
    else if (flag == "--threads")
      a.threads = std::stoi(v);
    else if (flag == "--seconds")
      a.seconds = std::stod(v);
    else if (flag == "--inflight")
      a.inflight = std::stoi(v);
    else if (flag == "--breakdown")
      a.breakdown = std::stoi(v);
    else if (flag == "--prepared")
      a.prepared = v != "0";
    else if (flag == "--raw-runs")
      a.raw_runs = std::max(1, std::stoi(v));
    else if (flag == "--events")
      a.events = std::stoll(v);
    else if (flag == "--days")
      a.days = std::stoi(v);
    else if (flag == "--runs")
      a.runs = std::max(1, std::stoi(v));
    else if (flag == "--batch")
      a.batch = std::max(1, std::stoi(v));
    else if (flag == "--max-fill-seconds")
      a.max_fill_seconds = std::stod(v);
    else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (mode == "append") return AppendMode(a);
  if (mode == "query") return QueryMode(a);
  std::fputs(usage, stderr);
  return 2;
}

}  // namespace
}  // namespace sicher::audit

int main(int argc, char** argv) { return sicher::audit::Main(argc, argv); }
