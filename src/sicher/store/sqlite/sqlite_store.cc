#include "sicher/store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "sicher/base/check.h"
#include "sicher/store/sqlite/internal/connection.h"
#include "sicher/store/sqlite/internal/migrate.h"
#include "sicher/store/sqlite/internal/sqlite_txn.h"

namespace sicher::store {
namespace {

using sqlite::internal::ApplyMigrations;
using sqlite::internal::Connection;
using sqlite::internal::ConnectionOptions;
using sqlite::internal::SqliteTxn;

constexpr uint32_t kFileMode = 0600;

// WAL checkpoints. SQLite's default runs one inside the COMMIT that takes the WAL past 1000
// pages, on the committing thread: here that is the writer, which would copy pages into the
// database file and fsync it while every queued write waits. Instead the writer's WAL hook wakes
// a checkpointer thread with a connection of its own, which runs PASSIVE checkpoints (they never
// wait for, or block, the writer or the readers) once the WAL passes kCheckpointPages. Under a
// steady stream of commits a background checkpoint never copies the frames committed while it
// ran, and SQLite starts the WAL over only once every frame has been copied: so the checkpointer
// runs a pass per kBackgroundStepPages of new WAL, and when the WAL reaches
// kWriterCheckpointPages the writer copies the little that is left itself, between two batches,
// and the WAL starts over from its beginning. 4000 pages (16 MiB) rather than 1000: a page written
// by many batches (the right edge of every index) is copied once per checkpoint, not once per
// 1000 pages; 8000 pages keep the WAL file below journal_size_limit, so it is reused in place.
constexpr int kCheckpointPages = 4000;
constexpr int kWriterCheckpointPages = 2 * kCheckpointPages;
constexpr int kBackgroundStepPages = 1000;  // a background pass per this much new WAL

// The store whose writer thread this is, and the store this thread is reading from: they turn
// a deadlocking Write-inside-Write or Read-inside-Read into a crash with a message.
thread_local const void* t_writer_of = nullptr;
thread_local const void* t_reading = nullptr;

// One answer, handed from the writer thread to a waiting caller. Thread-safe.
class Completion {
 public:
  void Set(Status status) {
    std::lock_guard lock(mu_);
    status_ = std::move(status);
    done_ = true;
    cv_.notify_all();  // under the lock: the waiter may destroy *this once it returns
  }
  Status Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return status_;
  }
  std::optional<Status> WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return done_; })) return std::nullopt;
    return status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  Status status_;
};

Status Invoke(const TxnFn& fn, Txn& txn) {
  try {
    return fn(txn);
  } catch (...) {
    // Exceptions must not cross the store; the message may hold data, so it is not kept.
    return InternalError("a store closure threw an exception");
  }
}

struct WriterMetrics {
  explicit WriterMetrics(metrics::Registry& r)
      : batches(r.GetCounter("sicher_db_commit_batches_total",
                             "Write transactions committed by the database writer.")),
        batch_size(r.GetHistogram("sicher_db_commit_batch_size",
                                  "Write closures committed per transaction (group commit).", {},
                                  {1, 2, 4, 8, 16, 32, 64, 128, 256, 512})),
        duration(r.GetHistogram("sicher_db_commit_duration_seconds",
                                "Time from BEGIN to durable COMMIT of a write batch.", {},
                                metrics::LatencyBuckets())),
        begin_errors(Errors(r, "begin")),
        commit_errors(Errors(r, "commit")),
        closure_errors(Errors(r, "closure")),
        queue_length(r.GetGauge("sicher_db_write_queue_length",
                                "Write closures waiting for the database writer.")),
        background_checkpoints(Checkpoints(r, "background")),
        writer_checkpoints(Checkpoints(r, "writer")) {}

  static metrics::Counter& Checkpoints(metrics::Registry& r, const char* by) {
    return r.GetCounter("sicher_db_wal_checkpoints_total",
                        "WAL checkpoints run, by the checkpointer thread (background) or, when "
                        "the WAL outgrew it, by the writer itself.",
                        {{"by", by}});
  }

  static metrics::Counter& Errors(metrics::Registry& r, const char* stage) {
    return r.GetCounter("sicher_db_write_errors_total",
                        "Failed database writes by stage: begin, commit (whole batch lost), "
                        "closure (one write rolled back).",
                        {{"stage", stage}});
  }

  metrics::Counter& batches;
  metrics::Histogram& batch_size;
  metrics::Histogram& duration;
  metrics::Counter& begin_errors;
  metrics::Counter& commit_errors;
  metrics::Counter& closure_errors;
  metrics::Gauge& queue_length;
  metrics::Counter& background_checkpoints;
  metrics::Counter& writer_checkpoints;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const SqliteOptions& options, Env& env, metrics::Registry& registry,
              std::unique_ptr<Connection> writer, std::unique_ptr<Connection> checkpointer,
              std::vector<std::unique_ptr<Connection>> readers)
      : env_(env),
        metrics_(registry),
        max_batch_(static_cast<size_t>(options.max_batch)),
        check_writable_timeout_(options.check_writable_timeout),
        reader_count_(readers.size()),
        writer_(std::move(writer)),
        checkpointer_conn_(std::move(checkpointer)),
        free_readers_(std::move(readers)) {
    sqlite3_wal_autocheckpoint(writer_->db(), 0);
    sqlite3_wal_hook(writer_->db(), &SqliteStore::WalHook, this);
    waker_ = std::thread([this] { WakerLoop(); });
    checkpointer_ = std::thread([this] { CheckpointerLoop(); });
    thread_ = std::thread([this] { WriterLoop(); });
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();  // the writer drains the queue first
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();  // closing the last connection checkpoints what is left
    {
      std::lock_guard lock(wake_mu_);
      waker_stopping_ = true;
    }
    wake_cv_.notify_all();
    waker_.join();  // then every blocked Write has its answer
    std::lock_guard lock(pool_mu_);
    CHECK(free_readers_.size() == reader_count_);  // a Read outlived the Store
  }

  Status Write(TxnFn fn) override {
    CHECK(t_writer_of != this);  // Write from the writer thread would wait for itself
    Completion completion;
    Enqueue({std::move(fn), nullptr, &completion});
    return completion.Wait();
  }

  void WriteAsync(TxnFn fn, std::function<void(Status)> done) override {
    CHECK(done != nullptr);
    Enqueue({std::move(fn), std::move(done)});
  }

  Status Read(TxnFn fn) override {
    CHECK(t_reading != this);  // nested Reads could exhaust the pool and deadlock
    std::unique_ptr<Connection> conn = AcquireReader();
    t_reading = this;
    Status s = conn->ExecInternal("BEGIN", "begin read transaction");
    if (s.ok()) {
      SqliteTxn txn(*conn, /*read_only=*/true);
      s = Invoke(fn, txn);
    }
    if (conn->InTransaction()) {
      Status end = conn->ExecInternal("ROLLBACK", "end read transaction");
      if (s.ok()) s = std::move(end);
    }
    t_reading = nullptr;
    ReleaseReader(std::move(conn));
    return s;
  }

  Status CheckWritable() override {
    CHECK(t_writer_of != this);
    auto completion = std::make_shared<Completion>();
    WriteAsync(
        [this](Txn& txn) {
          return txn.Exec(
              "INSERT INTO heartbeat (id, at) VALUES (1, ?) "
              "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
              {FormatRfc3339(env_.clock.Now())});
        },
        [completion](Status s) { completion->Set(std::move(s)); });
    std::optional<Status> s = completion->WaitFor(check_writable_timeout_);
    if (!s.has_value()) {
      return DeadlineExceededError(fmt::format("the database writer did not commit within {} ms",
                                               check_writable_timeout_.count()));
    }
    return *std::move(s);
  }

  std::string_view Kind() const override { return "sqlite"; }

 private:
  // A queued write: `done` (WriteAsync, called on the writer thread) or `completion` (a
  // blocked Write, woken by the waker thread).
  struct Request {
    TxnFn fn;
    std::function<void(Status)> done;
    Completion* completion = nullptr;
  };

  void Enqueue(Request request) {
    {
      std::lock_guard lock(mu_);
      // After destruction began only the writer itself (a done callback) may add work.
      CHECK(!stopping_ || t_writer_of == this);
      queue_.push_back(std::move(request));
      metrics_.queue_length.Set(static_cast<int64_t>(queue_.size()));
    }
    cv_.notify_one();
  }

  // Takes the oldest request. With `wait`, blocks until there is one; returns false only
  // once the store is stopping and the queue is empty. Without, returns false if none is queued.
  bool Pop(Request* out, bool wait) {
    std::unique_lock lock(mu_);
    if (wait) cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    metrics_.queue_length.Set(static_cast<int64_t>(queue_.size()));
    return true;
  }

  void WriterLoop() {
    t_writer_of = this;
    pthread_setname_np(pthread_self(), "sicher-db-write");
    Request first;
    while (Pop(&first, /*wait=*/true)) RunBatch(std::move(first));
  }

  // One group commit: `first` and whatever else is queued, up to max_batch_, in one
  // transaction, each closure in its own savepoint; every caller answered after the COMMIT.
  void RunBatch(Request first) {
    const MonoTime start = env_.clock.MonoNow();
    if (Status begin = writer_->ExecPrepared("BEGIN IMMEDIATE", "begin write transaction");
        !begin.ok()) {
      metrics_.begin_errors.Inc();
      if (first.completion != nullptr) {
        first.completion->Set(std::move(begin));
      } else {
        first.done(std::move(begin));
      }
      return;
    }
    std::vector<Request> batch;
    std::vector<Status> results;
    Status batch_error;
    Request request = std::move(first);
    while (true) {
      Status s = RunClosure(request.fn);
      batch.push_back(std::move(request));
      if (!writer_->InTransaction()) {  // SQLite abandoned the transaction (disk full, I/O)
        batch_error = s.ok() ? AbortedError("the database rolled back the write transaction")
                             : s.WithContext("write transaction rolled back");
        results.push_back(std::move(s));
        break;
      }
      results.push_back(std::move(s));
      if (batch.size() >= max_batch_ || !Pop(&request, /*wait=*/false)) break;
    }
    // Participants write what they kept for the batch, in the same transaction.
    for (size_t i = 0; batch_error.ok() && i < participants_.size(); ++i) {
      SqliteTxn txn(*writer_, /*read_only=*/false);
      batch_error = participants_[i]->BeforeCommit(txn);
      if (batch_error.ok() && !writer_->InTransaction()) {
        batch_error = AbortedError("the database rolled back the write transaction");
      }
    }
    if (batch_error.ok()) batch_error = writer_->ExecPrepared("COMMIT", "commit");
    if (!batch_error.ok() && writer_->InTransaction()) {
      (void)writer_->ExecInternal("ROLLBACK", "roll back failed batch");
    }
    for (BatchParticipant* p : participants_) p->BatchEnded(batch_error.ok());
    participants_.clear();
    if (batch_error.ok()) {
      metrics_.batches.Inc();
      metrics_.batch_size.Observe(static_cast<double>(batch.size()));
      metrics_.duration.Observe(
          std::chrono::duration<double>(env_.clock.MonoNow() - start).count());
    } else {
      metrics_.commit_errors.Inc();
    }
    // Waking a blocked caller is a futex syscall per caller: with many writers that would be
    // a third of the writer's time, so the waker thread does it while the next batch runs.
    std::vector<std::pair<Completion*, Status>> wake;
    for (size_t i = 0; i < batch.size(); ++i) {
      Status answer = std::move(results[i]);
      if (answer.ok() && !batch_error.ok()) answer = batch_error;
      if (batch[i].completion != nullptr) {
        wake.emplace_back(batch[i].completion, std::move(answer));
      } else {
        batch[i].done(std::move(answer));
      }
    }
    if (!wake.empty()) {
      {
        std::lock_guard lock(wake_mu_);
        for (auto& w : wake) wakes_.push_back(std::move(w));
      }
      wake_cv_.notify_one();
    }
  }

  // After every commit of the writer, with the WAL's size in pages.
  static int WalHook(void* self, sqlite3* db, const char* /*name*/, int pages) {
    auto* store = static_cast<SqliteStore*>(self);
    if (pages < store->wal_pages_) store->next_background_pages_ = kCheckpointPages;  // restarted
    store->wal_pages_ = pages;
    if (pages >= kWriterCheckpointPages) {
      // BUSY while the checkpointer is in the middle of one: try again after the next commit.
      if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
          SQLITE_OK) {
        store->metrics_.writer_checkpoints.Inc();
      }
    } else if (pages >= store->next_background_pages_) {
      // One background pass per kBackgroundStepPages of new WAL, not one per commit: every pass
      // copies the hot pages again and fsyncs the database file.
      store->next_background_pages_ = pages + kBackgroundStepPages;
      {
        std::lock_guard lock(store->checkpoint_mu_);
        store->checkpoint_wanted_ = true;
      }
      store->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  void CheckpointerLoop() {
    pthread_setname_np(pthread_self(), "sicher-db-ckpt");
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mu_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_wanted_ || checkpoint_stopping_; });
        if (checkpoint_stopping_) return;
        checkpoint_wanted_ = false;
      }
      // BUSY (the writer is checkpointing itself) and I/O errors leave the WAL to the next
      // attempt; the writer's own checkpoint bounds it meanwhile.
      (void)sqlite3_wal_checkpoint_v2(checkpointer_conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                      nullptr, nullptr);
      metrics_.background_checkpoints.Inc();
    }
  }

  void WakerLoop() {
    pthread_setname_np(pthread_self(), "sicher-db-wake");
    std::vector<std::pair<Completion*, Status>> taken;
    for (;;) {
      {
        std::unique_lock lock(wake_mu_);
        wake_cv_.wait(lock, [&] { return !wakes_.empty() || waker_stopping_; });
        if (wakes_.empty()) return;  // stopping, and every answer delivered
        taken.swap(wakes_);
      }
      for (auto& [completion, status] : taken) completion->Set(std::move(status));
      taken.clear();
    }
  }

  // Runs one closure inside SAVEPOINT; on failure rolls back to it, so only its changes go.
  // Then tells the enlisted participants whether the closure's changes were kept.
  Status RunClosure(const TxnFn& fn) {
    RETURN_IF_ERROR(writer_->ExecPrepared("SAVEPOINT sicher_write", "savepoint"));
    Status s;
    {
      SqliteTxn txn(*writer_, /*read_only=*/false, &participants_);
      s = Invoke(fn, txn);
    }
    s = EndClosure(std::move(s));
    for (BatchParticipant* p : participants_) p->ClosureEnded(s.ok());
    return s;
  }

  Status EndClosure(Status s) {
    if (!writer_->InTransaction()) {
      metrics_.closure_errors.Inc();
      return s.ok() ? AbortedError("the database rolled back the write transaction") : s;
    }
    if (s.ok()) {
      s = writer_->ExecPrepared("RELEASE sicher_write", "release savepoint");
      if (s.ok()) return s;
    }
    metrics_.closure_errors.Inc();
    Status undo = writer_->ExecInternal("ROLLBACK TO sicher_write", "roll back to savepoint");
    if (undo.ok()) undo = writer_->ExecPrepared("RELEASE sicher_write", "release savepoint");
    if (!undo.ok() && writer_->InTransaction()) {
      // This closure's changes cannot be separated from the batch: abandon the whole batch.
      (void)writer_->ExecInternal("ROLLBACK", "abandon write transaction");
    }
    return s;
  }

  std::unique_ptr<Connection> AcquireReader() {
    std::unique_lock lock(pool_mu_);
    pool_cv_.wait(lock, [&] { return !free_readers_.empty(); });
    std::unique_ptr<Connection> conn = std::move(free_readers_.back());
    free_readers_.pop_back();
    return conn;
  }

  void ReleaseReader(std::unique_ptr<Connection> conn) {
    {
      std::lock_guard lock(pool_mu_);
      free_readers_.push_back(std::move(conn));
    }
    pool_cv_.notify_one();
  }

  Env& env_;
  WriterMetrics metrics_;
  const size_t max_batch_;
  const std::chrono::milliseconds check_writable_timeout_;
  const size_t reader_count_;

  // Used only by the writer thread once it runs.
  std::unique_ptr<Connection> writer_;
  std::vector<BatchParticipant*> participants_;   // of the batch being run
  int wal_pages_ = 0;                             // after the last commit (WalHook)
  int next_background_pages_ = kCheckpointPages;  // WalHook wakes the checkpointer here

  // Used only by the checkpointer thread.
  std::unique_ptr<Connection> checkpointer_conn_;
  std::mutex checkpoint_mu_;  // guards checkpoint_wanted_ and checkpoint_stopping_
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;
  bool checkpoint_stopping_ = false;
  std::thread checkpointer_;

  std::mutex mu_;  // guards queue_ and stopping_
  std::condition_variable cv_;
  std::deque<Request> queue_;
  bool stopping_ = false;

  std::mutex pool_mu_;  // guards free_readers_
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> free_readers_;

  std::mutex wake_mu_;  // guards wakes_ and waker_stopping_
  std::condition_variable wake_cv_;
  std::vector<std::pair<Completion*, Status>> wakes_;
  bool waker_stopping_ = false;
  std::thread waker_;

  std::thread thread_;  // last: starts after every other member is ready
};

// Creates the database file with mode 0600 if absent (umask cannot widen it), and tightens an
// existing one. Assumes no other process creates the same file at the same moment.
Status CreateOrTighten(FileSystem& fs, const std::string& path) {
  if (!fs.Exists(path)) {
    // An empty file is an empty SQLite database. WriteFileAtomic also fsyncs the directory, so
    // the file's name is as durable as the commits that SQLite will later fsync into it.
    RETURN_IF_ERROR(fs.WriteFileAtomic(path, "", kFileMode));
  }
  return fs.Chmod(path, kFileMode);
}

Status TightenSidecars(FileSystem& fs, const std::string& path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string file = path + suffix;
    if (fs.Exists(file)) RETURN_IF_ERROR(fs.Chmod(file, kFileMode));
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options, Env& env,
                                               metrics::Registry& metrics) {
  if (options.path.empty() || options.path == ":memory:" || options.path.starts_with("file:")) {
    return InvalidArgumentError("sqlite: path must name a database file");
  }
  if (options.reader_count < 1 || options.max_batch < 1 || options.statement_cache_size < 1 ||
      options.busy_timeout.count() < 0 || options.journal_size_limit < 0) {
    return InvalidArgumentError(
        "sqlite: reader_count, max_batch and statement_cache_size must be >= 1, timeouts and "
        "journal_size_limit >= 0");
  }
  RETURN_IF_ERROR(ValidateMigrations(options.migrations));
  const auto context = [&](const Status& s) { return s.WithContext("open " + options.path); };

  if (Status s = CreateOrTighten(env.fs, options.path); !s.ok()) return context(s);
  ConnectionOptions conn_options{
      .create = true,
      .query_only = false,
      .busy_timeout = options.busy_timeout,
      .journal_size_limit = options.journal_size_limit,
      .statement_cache_size = static_cast<size_t>(options.statement_cache_size),
  };
  Result<std::unique_ptr<Connection>> writer = Connection::Open(options.path, conn_options);
  if (!writer.ok()) return context(writer.status());
  if (Status s = TightenSidecars(env.fs, options.path); !s.ok()) return context(s);
  if (Status s = ApplyMigrations(**writer, options.migrations, env.clock.Now()); !s.ok()) {
    return context(s);
  }

  conn_options.create = false;
  Result<std::unique_ptr<Connection>> checkpointer = Connection::Open(options.path, conn_options);
  if (!checkpointer.ok()) return context(checkpointer.status());
  conn_options.query_only = true;
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.reader_count; ++i) {
    Result<std::unique_ptr<Connection>> reader = Connection::Open(options.path, conn_options);
    if (!reader.ok()) return context(reader.status());
    readers.push_back(std::move(reader).value());
  }
  if (Status s = TightenSidecars(env.fs, options.path); !s.ok()) return context(s);
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(options, env, metrics, std::move(writer).value(),
                                    std::move(checkpointer).value(), std::move(readers)));
}

}  // namespace sicher::store
