#include "sicher/store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <latch>
#include <limits>
#include <thread>

#include "sicher/base/check.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::store {
namespace {

using namespace std::chrono_literals;

// Core plus a small application schema used by these tests.
std::vector<Migration> TestMigrations() {
  std::vector<Migration> m = CoreMigrations();
  m.push_back(Migration{
      .version = 100,
      .name = "test_items",
      .sqlite_sql = R"sql(
CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  n INTEGER CHECK (n IS NULL OR n >= 0)
) STRICT;
CREATE TABLE tags (
  id INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL REFERENCES items (id),
  tag TEXT NOT NULL
) STRICT;
CREATE TABLE vals (id INTEGER PRIMARY KEY, v ANY) STRICT;
CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL) STRICT;
INSERT INTO accounts (id, balance) VALUES (1, 1000), (2, 1000), (3, 1000), (4, 1000);
)sql",
      .postgres_sql = "",
  });
  return m;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sicher-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.path = dir_ + "/sicher.db";
    options_.migrations = TestMigrations();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Result<std::unique_ptr<Store>> OpenWith(const SqliteOptions& options) {
    return OpenSqliteStore(options, env_, registry_);
  }
  void Open() {
    store_.reset();
    Result<std::unique_ptr<Store>> store = OpenWith(options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  uint64_t Batches() { return registry_.GetCounter("sicher_db_commit_batches_total", "").Value(); }
  int64_t QueueLength() { return registry_.GetGauge("sicher_db_write_queue_length", "").Value(); }
  void WaitForQueueLength(int64_t n) {
    for (int i = 0; i < 10'000 && QueueLength() < n; ++i) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(QueueLength(), n);
  }

  Status Insert(std::string name, std::optional<int64_t> n = std::nullopt) {
    return store_->Write([&](Txn& txn) {
      return txn.Exec("INSERT INTO items (name, n) VALUES (?, ?)",
                      {name, n.has_value() ? Value(*n) : Value(kNull)});
    });
  }
  // Names in the items table, in id order, as a Read sees them.
  std::vector<std::string> Names() {
    std::vector<std::string> names;
    CHECK_OK(store_->Read([&](Txn& txn) {
      ASSIGN_OR_RETURN(std::vector<Row> rows, txn.Query("SELECT name FROM items ORDER BY id"));
      for (const Row& r : rows) names.push_back(r.GetText(0));
      return OkStatus();
    }));
    return names;
  }
  std::string Pragma(bool on_writer, const char* sql) {
    std::string value;
    auto fn = [&](Txn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<Row> row, txn.QueryOne(sql));
      if (!row.has_value()) return NotFoundError("no row");
      const Value& v = row->Get(0);
      value = std::holds_alternative<int64_t>(v) ? std::to_string(std::get<int64_t>(v))
                                                 : row->GetText(0);
      return OkStatus();
    };
    CHECK_OK(on_writer ? store_->Write(fn) : store_->Read(fn));
    return value;
  }

  std::string dir_;
  testing::FakeClock clock_;
  PosixFileSystem fs_;
  testing::SeededRandom random_;
  Env env_{clock_, fs_, random_};
  metrics::Registry registry_;
  SqliteOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, SettingsAreInEffectOnWriterAndReaders) {
  Open();
  EXPECT_EQ(store_->Kind(), "sqlite");
  for (bool writer : {true, false}) {
    SCOPED_TRACE(writer ? "writer" : "reader");
    EXPECT_EQ(Pragma(writer, "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(Pragma(writer, "PRAGMA synchronous"), "2");  // FULL
    EXPECT_EQ(Pragma(writer, "PRAGMA secure_delete"), "1");
    EXPECT_EQ(Pragma(writer, "PRAGMA foreign_keys"), "1");
    EXPECT_EQ(Pragma(writer, "PRAGMA journal_size_limit"), std::to_string(64 << 20));
    EXPECT_EQ(Pragma(writer, "PRAGMA query_only"), writer ? "0" : "1");
  }
}

TEST_F(SqliteStoreTest, FilesAreOwnerOnlyWhateverTheUmask) {
  const mode_t old_umask = ::umask(0);
  Open();
  ::umask(old_umask);
  ASSERT_OK(Insert("a"));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st;
    ASSERT_EQ(::stat((options_.path + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << suffix;
  }
  // A database left world-readable by someone else is tightened at the next open.
  store_.reset();
  ASSERT_EQ(::chmod(options_.path.c_str(), 0644), 0);
  Open();
  struct stat st;
  ASSERT_EQ(::stat(options_.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SqliteStoreTest, MigrationsApplyOnceAndReopenIsIdempotent) {
  Open();
  ASSERT_OK(Insert("kept"));
  Open();  // reopen: nothing re-applied (accounts would get duplicate ids and fail)
  Open();
  EXPECT_EQ(Names(), std::vector<std::string>{"kept"});
  std::vector<Row> rows;
  ASSERT_OK(store_->Read([&](Txn& txn) {
    ASSIGN_OR_RETURN(rows, txn.Query("SELECT version, name, applied_at FROM schema_migrations "
                                     "ORDER BY version"));
    return OkStatus();
  }));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].GetInt(0), 1);
  EXPECT_EQ(rows[0].GetText(1), "core");
  EXPECT_EQ(rows[0].GetText(2), FormatRfc3339(clock_.Now()));
  EXPECT_EQ(rows[1].GetInt(0), 100);
  EXPECT_EQ(rows[1].GetText(1), "test_items");
}

TEST_F(SqliteStoreTest, MigrationAddedLaterIsApplied) {
  options_.migrations = CoreMigrations();
  Open();
  store_.reset();
  options_.migrations = TestMigrations();
  Open();
  ASSERT_OK(Insert("a"));
  EXPECT_EQ(Names(), std::vector<std::string>{"a"});
}

TEST_F(SqliteStoreTest, DatabaseFromNewerBinaryIsRefused) {
  Open();
  store_.reset();
  SqliteOptions older = options_;
  older.migrations = CoreMigrations();
  Result<std::unique_ptr<Store>> s = OpenWith(older);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("migration 100"), std::string::npos) << s.status().message();

  SqliteOptions renamed = options_;
  renamed.migrations.back().name = "something_else";
  s = OpenWith(renamed);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SqliteStoreTest, FailedMigrationIsRolledBackAndOpenFails) {
  SqliteOptions bad = options_;
  bad.migrations.push_back(Migration{.version = 101,
                                     .name = "broken",
                                     .sqlite_sql = "CREATE TABLE half (x INTEGER) STRICT; "
                                                   "CREATE TABLE oops (;",
                                     .postgres_sql = ""});
  Result<std::unique_ptr<Store>> s = OpenWith(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("migration 101 (broken)"), std::string::npos)
      << s.status().message();
  // Earlier migrations stay; the broken one left nothing behind.
  Open();
  std::string half;
  ASSERT_OK(store_->Read([&](Txn& txn) {
    ASSIGN_OR_RETURN(auto row,
                     txn.QueryOne("SELECT count(*) FROM sqlite_master WHERE name = ?", {"half"}));
    half = std::to_string(row->GetInt(0));
    return OkStatus();
  }));
  EXPECT_EQ(half, "0");
}

TEST_F(SqliteStoreTest, RejectsBadOptions) {
  SqliteOptions o = options_;
  o.reader_count = 0;
  EXPECT_EQ(OpenWith(o).status().code(), StatusCode::kInvalidArgument);
  o = options_;
  o.path = ":memory:";
  EXPECT_EQ(OpenWith(o).status().code(), StatusCode::kInvalidArgument);
  o = options_;
  o.migrations.erase(o.migrations.begin());
  EXPECT_EQ(OpenWith(o).status().code(), StatusCode::kInvalidArgument);
  o = options_;
  o.path = dir_ + "/missing/dir/sicher.db";
  EXPECT_FALSE(OpenWith(o).ok());
}

TEST_F(SqliteStoreTest, WriteIsVisibleToLaterRead) {
  Open();
  ASSERT_OK(Insert("a"));
  ASSERT_OK(Insert("b"));
  EXPECT_EQ(Names(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(SqliteStoreTest, FailingClosureReturnsItsErrorAndRollsBackItsChanges) {
  Open();
  Status s = store_->Write([](Txn& txn) {
    RETURN_IF_ERROR(txn.Exec("INSERT INTO items (name) VALUES (?)", {"doomed"}));
    return NotFoundError("changed my mind");
  });
  EXPECT_EQ(s, NotFoundError("changed my mind"));
  EXPECT_TRUE(Names().empty());
}

TEST_F(SqliteStoreTest, FailuresInOneBatchRollBackOnlyTheirOwnClosures) {
  Open();
  const uint64_t batches_before = Batches();
  std::latch entered(1), release(1);
  std::thread blocker([&] {
    EXPECT_OK(store_->Write([&](Txn& txn) {
      RETURN_IF_ERROR(txn.Exec("INSERT INTO items (name) VALUES (?)", {"first"}));
      entered.count_down();
      release.wait();
      return OkStatus();
    }));
  });
  entered.wait();  // the writer is inside the first closure, holding the transaction open

  std::vector<Status> results(5);
  std::vector<std::function<Status(Txn&)>> closures = {
      [](Txn& t) { return t.Exec("INSERT INTO items (name) VALUES (?)", {"ok-1"}); },
      [](Txn& t) {  // changes, then fails on its own terms
        RETURN_IF_ERROR(t.Exec("INSERT INTO items (name) VALUES (?)", {"app-error"}));
        return PermissionDeniedError("not allowed");
      },
      [](Txn& t) {  // a statement fails (duplicate) after a successful one
        RETURN_IF_ERROR(t.Exec("INSERT INTO items (name) VALUES (?)", {"dup-partner"}));
        return t.Exec("INSERT INTO items (name) VALUES (?)", {"first"});
      },
      [](Txn& t) -> Status { throw std::runtime_error("secret detail"); },
      [](Txn& t) { return t.Exec("INSERT INTO items (name) VALUES (?)", {"ok-2"}); },
  };
  std::vector<std::thread> writers;
  for (size_t i = 0; i < closures.size(); ++i) {
    writers.emplace_back([&, i] { results[i] = store_->Write(closures[i]); });
    WaitForQueueLength(static_cast<int64_t>(i + 1));  // keep the queue order deterministic
  }
  release.count_down();
  blocker.join();
  for (auto& w : writers) w.join();

  EXPECT_OK(results[0]);
  EXPECT_EQ(results[1], PermissionDeniedError("not allowed"));
  EXPECT_EQ(results[2].code(), StatusCode::kAlreadyExists) << results[2].ToString();
  EXPECT_EQ(results[3].code(), StatusCode::kInternal);
  EXPECT_EQ(results[3].message().find("secret"), std::string::npos);
  EXPECT_OK(results[4]);
  EXPECT_EQ(Names(), (std::vector<std::string>{"first", "ok-1", "ok-2"}));
  EXPECT_EQ(Batches() - batches_before, 1u) << "all six closures should share one commit";
  const auto& errors =
      registry_.GetCounter("sicher_db_write_errors_total", "", {{"stage", "closure"}});
  EXPECT_EQ(errors.Value(), 3u);
}

// Keeps names in memory for the batch and inserts them before the commit; logs every call.
class RecordingParticipant final : public BatchParticipant {
 public:
  void Add(Txn& txn, std::string name) {
    txn.Enlist(*this);
    txn.Enlist(*this);  // again: a no-op
    closure_.push_back(std::move(name));
  }
  void ClosureEnded(bool kept) override {
    calls.push_back(kept ? "kept" : "dropped");
    if (kept) batch_.insert(batch_.end(), closure_.begin(), closure_.end());
    closure_.clear();
  }
  Status BeforeCommit(Txn& txn) override {
    calls.push_back("before-commit");
    if (!fail_with.ok()) return fail_with;
    for (const std::string& name : batch_) {
      RETURN_IF_ERROR(txn.Exec("INSERT INTO items (name) VALUES (?)", {name}));
    }
    return OkStatus();
  }
  void BatchEnded(bool committed) override {
    calls.push_back(committed ? "committed" : "rolled-back");
    batch_.clear();
  }

  std::vector<std::string> calls;
  Status fail_with;

 private:
  std::vector<std::string> closure_, batch_;
};

// Holds the writer inside a closure until released, so that later writes queue into one batch.
class HeldBatch {
 public:
  explicit HeldBatch(Store& store) {
    store.WriteAsync(
        [this](Txn&) {
          entered_.count_down();
          release_.wait();
          return OkStatus();
        },
        [](Status) {});
    entered_.wait();
  }
  void Release() { release_.count_down(); }

 private:
  std::latch entered_{1}, release_{1};
};

TEST_F(SqliteStoreTest, ParticipantsFollowEachClosureAndWriteOnceBeforeTheCommit) {
  Open();
  RecordingParticipant participant;
  HeldBatch held(*store_);
  const uint64_t batches_before = Batches();
  std::vector<Status> results(4);
  std::vector<TxnFn> closures = {
      [&](Txn& t) {
        participant.Add(t, "kept-1");
        return t.Exec("INSERT INTO items (name) VALUES (?)", {"row-1"});
      },
      [&](Txn& t) {  // its participant state goes with its rollback
        participant.Add(t, "dropped");
        return PermissionDeniedError("no");
      },
      [&](Txn& t) { return t.Exec("INSERT INTO items (name) VALUES (?)", {"row-3"}); },
      [&](Txn& t) {
        participant.Add(t, "kept-4");
        return OkStatus();
      },
  };
  std::latch answered(4);
  for (size_t i = 0; i < closures.size(); ++i) {
    store_->WriteAsync(closures[i], [&, i](Status s) {
      results[i] = std::move(s);
      answered.count_down();
    });
  }
  held.Release();
  answered.wait();
  EXPECT_OK(results[0]);
  EXPECT_EQ(results[1], PermissionDeniedError("no"));
  EXPECT_OK(results[2]);
  EXPECT_OK(results[3]);
  // Enlisted by the first closure: told of every later closure's end, then the commit.
  EXPECT_EQ(participant.calls, (std::vector<std::string>{"kept", "dropped", "kept", "kept",
                                                         "before-commit", "committed"}));
  EXPECT_EQ(Names(), (std::vector<std::string>{"row-1", "row-3", "kept-1", "kept-4"}));
  EXPECT_EQ(Batches() - batches_before, 1u);  // the held closure and the four
}

TEST_F(SqliteStoreTest, AFailingParticipantFailsTheWholeBatch) {
  Open();
  RecordingParticipant participant;
  participant.fail_with = UnavailableError("participant says no");
  HeldBatch held(*store_);
  std::vector<Status> results(3);
  std::latch answered(3);
  for (int i = 0; i < 3; ++i) {
    store_->WriteAsync(
        [&, i](Txn& t) {
          if (i == 1) participant.Add(t, "p");
          return t.Exec("INSERT INTO items (name) VALUES (?)", {"row-" + std::to_string(i)});
        },
        [&, i](Status s) {
          results[i] = std::move(s);
          answered.count_down();
        });
  }
  held.Release();
  answered.wait();
  for (const Status& s : results) EXPECT_EQ(s, UnavailableError("participant says no"));
  EXPECT_TRUE(Names().empty()) << "nothing of the failed batch may be kept";
  EXPECT_EQ(participant.calls,
            (std::vector<std::string>{"kept", "kept", "before-commit", "rolled-back"}));
  // The next batch is unaffected and the participant is no longer enlisted.
  participant.calls.clear();
  ASSERT_OK(Insert("after"));
  EXPECT_TRUE(participant.calls.empty());
  EXPECT_EQ(Names(), (std::vector<std::string>{"after"}));
}

TEST_F(SqliteStoreTest, WalCheckpointsRunOnTheCheckpointerThread) {
  Open();
  auto& background =
      registry_.GetCounter("sicher_db_wal_checkpoints_total", "", {{"by", "background"}});
  auto& by_writer = registry_.GetCounter("sicher_db_wal_checkpoints_total", "", {{"by", "writer"}});
  const std::string blob(3000, 'b');
  // ~5,000 pages of WAL in 100 commits: past the 4,000-page mark, short of the writer's 8,000.
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(store_->Write([&](Txn& txn) -> Status {
      for (int j = 0; j < 50; ++j) {
        RETURN_IF_ERROR(txn.Exec("INSERT INTO vals (v) VALUES (?)", {Blob{blob}}));
      }
      return OkStatus();
    }));
  }
  for (int i = 0; i < 5000 && background.Value() == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_GE(background.Value(), 1u);
  EXPECT_EQ(by_writer.Value(), 0u);  // the WAL never reached 8,000 pages
  int64_t count = 0;
  ASSERT_OK(store_->Read([&](Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<Row> row, txn.QueryOne("SELECT COUNT(*) FROM vals"));
    count = row->GetInt(0);
    return OkStatus();
  }));
  EXPECT_EQ(count, 5000);
}

TEST_F(SqliteStoreTest, QueuedWritesJoinOneBatch) {
  Open();
  std::latch entered(1), release(1);
  store_->WriteAsync(
      [&](Txn&) {
        entered.count_down();
        release.wait();
        return OkStatus();
      },
      [](Status s) { EXPECT_OK(s); });
  entered.wait();
  const uint64_t batches_before = Batches();
  constexpr int kWrites = 100;
  std::atomic<int> answered{0};
  for (int i = 0; i < kWrites; ++i) {
    store_->WriteAsync(
        [i](Txn& t) {
          return t.Exec("INSERT INTO items (name, n) VALUES (?, ?)", {"w" + std::to_string(i), i});
        },
        [&](Status s) {
          EXPECT_OK(s);
          ++answered;
        });
  }
  release.count_down();
  ASSERT_OK(store_->Write([](Txn&) { return OkStatus(); }));  // a barrier: FIFO queue
  EXPECT_EQ(answered.load(), kWrites);
  EXPECT_EQ(Names().size(), static_cast<size_t>(kWrites));
  EXPECT_LE(Batches() - batches_before, 2u);  // the 100 (and the barrier) in one or two
  const auto& sizes = registry_.GetHistogram("sicher_db_commit_batch_size", "", {}, {});
  EXPECT_EQ(sizes.CumulativeCount(sizes.bounds().size() - 1), sizes.Count());
}

TEST_F(SqliteStoreTest, MaxBatchBoundsATransaction) {
  options_.max_batch = 4;
  Open();
  std::latch entered(1), release(1);
  store_->WriteAsync(
      [&](Txn&) {
        entered.count_down();
        release.wait();
        return OkStatus();
      },
      [](Status) {});
  entered.wait();
  const uint64_t batches_before = Batches();
  for (int i = 0; i < 12; ++i) {
    store_->WriteAsync([](Txn&) { return OkStatus(); }, [](Status s) { EXPECT_OK(s); });
  }
  release.count_down();
  ASSERT_OK(store_->Write([](Txn&) { return OkStatus(); }));
  // The blocked batch takes 3 more; the remaining 9 plus the barrier need 3 batches of <= 4.
  EXPECT_EQ(Batches() - batches_before, 4u);
}

TEST_F(SqliteStoreTest, ConcurrentWritersAreGroupCommitted) {
  Open();
  const uint64_t batches_before = Batches();
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_OK(Insert("t" + std::to_string(t) + "-" + std::to_string(i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  const uint64_t batches = Batches() - batches_before;
  EXPECT_EQ(Names().size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_LT(batches, static_cast<uint64_t>(kThreads * kPerThread));
  std::cerr << kThreads * kPerThread << " writes in " << batches << " commits\n";
}

TEST_F(SqliteStoreTest, BindsAndReturnsEveryValueTypeVerbatim) {
  Open();
  const std::vector<Value> values = {
      kNull,
      int64_t{0},
      std::numeric_limits<int64_t>::min(),
      std::numeric_limits<int64_t>::max(),
      -0.5,
      1e308,
      std::string(""),
      std::string("Robert'); DROP TABLE items; --"),
      std::string("\" OR 1=1 -- ?; ? :name $1"),
      std::string("Grüße 🙂"),
      Blob{},
      Blob{std::string("\0\0\xff\x01' OR '1'='1\0", 17)},
      Blob{std::string(100'000, '\0')},
  };
  ASSERT_OK(store_->Write([&](Txn& txn) {
    for (const Value& v : values) {
      RETURN_IF_ERROR(txn.Exec("INSERT INTO vals (v) VALUES (?)", {v}));
    }
    return OkStatus();
  }));
  std::vector<Row> rows;
  ASSERT_OK(store_->Read([&](Txn& txn) {
    ASSIGN_OR_RETURN(rows, txn.Query("SELECT v, typeof(v) FROM vals ORDER BY id"));
    return OkStatus();
  }));
  ASSERT_EQ(rows.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(rows[i].Get(0), values[i]) << "value " << i;
  }
  EXPECT_EQ(rows[10].GetText(1), "blob");  // an empty Blob is an empty BLOB, not NULL
  EXPECT_EQ(rows[11].GetBlob(0).size(), 17u);
  // Parameters also work in WHERE, and the "injection" matched only itself.
  int64_t count = -1;
  ASSERT_OK(store_->Read([&](Txn& txn) {
    ASSIGN_OR_RETURN(auto row, txn.QueryOne("SELECT count(*) FROM vals WHERE v = ?",
                                            {"Robert'); DROP TABLE items; --"}));
    count = row->GetInt(0);
    return OkStatus();
  }));
  EXPECT_EQ(count, 1);
  ASSERT_OK(Insert("items still exists"));
}

TEST_F(SqliteStoreTest, RefusesTextThatPostgresWouldRefuse) {
  Open();
  for (const std::string& bad : {std::string("a\0b", 3), std::string("\xff\xfe")}) {
    Status s =
        store_->Write([&](Txn& txn) { return txn.Exec("INSERT INTO vals (v) VALUES (?)", {bad}); });
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  }
}

TEST_F(SqliteStoreTest, EnforcesThePortableSqlRules) {
  Open();
  auto exec = [&](const char* sql, Params params = {}) {
    return store_->Write([&](Txn& txn) { return txn.Exec(sql, params); }).code();
  };
  const auto kInvalid = StatusCode::kInvalidArgument;
  EXPECT_EQ(exec("INSERT INTO items (name) VALUES (?)"), kInvalid);  // missing value
  EXPECT_EQ(exec("INSERT INTO items (name) VALUES (?)", {"a", "b"}), kInvalid);
  EXPECT_EQ(exec("INSERT INTO items (name) VALUES (:name)", {"a"}), kInvalid);
  EXPECT_EQ(exec("INSERT INTO items (name) VALUES (?1)", {"a"}), kInvalid);
  EXPECT_EQ(exec("INSERT INTO items (name) VALUES (?); DELETE FROM items", {"a"}), kInvalid);
  EXPECT_EQ(exec(""), kInvalid);
  EXPECT_EQ(exec("COMMIT"), kInvalid);
  EXPECT_EQ(exec("BEGIN"), kInvalid);
  EXPECT_EQ(exec("ROLLBACK"), kInvalid);
  EXPECT_EQ(exec("SAVEPOINT x"), kInvalid);
  EXPECT_EQ(exec("RELEASE sicher_write"), kInvalid);
  EXPECT_EQ(exec("PRAGMA foreign_keys = OFF"), kInvalid);
  EXPECT_EQ(exec("PRAGMA synchronous = OFF"), kInvalid);
  EXPECT_EQ(exec("ATTACH DATABASE ? AS other", {"/tmp/x.db"}), kInvalid);
  EXPECT_EQ(exec("INSERT INTO items (name) VALUES (\"double-quoted\")"), StatusCode::kInternal);
  EXPECT_EQ(exec("SELECT * FROM no_such_table"), StatusCode::kInternal);
  // A trailing semicolon is fine, and nothing above changed the settings or the data.
  EXPECT_EQ(exec("INSERT INTO items (name) VALUES (?);", {"ok"}), StatusCode::kOk);
  EXPECT_EQ(Pragma(true, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(Pragma(true, "PRAGMA synchronous"), "2");
  EXPECT_EQ(Names(), std::vector<std::string>{"ok"});
}

TEST_F(SqliteStoreTest, TranslatesConstraintErrorsWithoutLeakingValues) {
  Open();
  ASSERT_OK(Insert("secret-value-123"));
  Status dup = Insert("secret-value-123");
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists) << dup.ToString();
  EXPECT_EQ(dup.message().find("secret-value"), std::string::npos) << dup.message();

  Status check = Insert("negative", -5);
  EXPECT_EQ(check.code(), StatusCode::kFailedPrecondition) << check.ToString();
  Status fk = store_->Write([](Txn& txn) {
    return txn.Exec("INSERT INTO tags (item_id, tag) VALUES (?, ?)", {999, "secret-tag"});
  });
  EXPECT_EQ(fk.code(), StatusCode::kFailedPrecondition) << fk.ToString();
  EXPECT_EQ(fk.message().find("secret-tag"), std::string::npos);
  Status not_null = store_->Write(
      [](Txn& txn) { return txn.Exec("INSERT INTO items (name) VALUES (?)", {kNull}); });
  EXPECT_EQ(not_null.code(), StatusCode::kFailedPrecondition) << not_null.ToString();
  Status type = store_->Write([](Txn& txn) {
    return txn.Exec("INSERT INTO items (name, n) VALUES (?, ?)", {"x", "y"});
  });
  EXPECT_EQ(type.code(), StatusCode::kFailedPrecondition) << type.ToString();  // STRICT
  EXPECT_EQ(Names(), std::vector<std::string>{"secret-value-123"});
}

TEST_F(SqliteStoreTest, StatementErrorDoesNotEndTheClosure) {
  Open();
  ASSERT_OK(Insert("a"));
  ASSERT_OK(store_->Write([](Txn& txn) {
    EXPECT_EQ(txn.Exec("INSERT INTO items (name) VALUES (?)", {"a"}).code(),
              StatusCode::kAlreadyExists);
    return txn.Exec("INSERT INTO items (name) VALUES (?)", {"b"});  // recovers, e.g. upsert
  }));
  EXPECT_EQ(Names(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(SqliteStoreTest, LastInsertIdChangedRowsAndReturning) {
  Open();
  ASSERT_OK(store_->Write([](Txn& txn) {
    EXPECT_EQ(txn.LastInsertId(), 0);
    EXPECT_EQ(txn.ChangedRows(), 0);
    RETURN_IF_ERROR(txn.Exec("INSERT INTO items (name, n) VALUES (?, ?)", {"a", 1}));
    const int64_t a = txn.LastInsertId();
    EXPECT_GT(a, 0);
    EXPECT_EQ(txn.ChangedRows(), 1);
    ASSIGN_OR_RETURN(
        std::optional<Row> b,
        txn.QueryOne("INSERT INTO items (name, n) VALUES (?, ?) RETURNING id", {"b", 1}));
    EXPECT_EQ(b->GetInt(0), a + 1);
    RETURN_IF_ERROR(txn.Exec("UPDATE items SET n = n + 1 WHERE n = ?", {1}));
    EXPECT_EQ(txn.ChangedRows(), 2);
    RETURN_IF_ERROR(txn.Query("SELECT * FROM items").status());  // reads change nothing
    EXPECT_EQ(txn.ChangedRows(), 2);
    Result<std::optional<Row>> several = txn.QueryOne("SELECT id FROM items");
    EXPECT_EQ(several.status().code(), StatusCode::kInternal);
    ASSIGN_OR_RETURN(std::optional<Row> none,
                     txn.QueryOne("SELECT id FROM items WHERE name = ?", {"zzz"}));
    EXPECT_FALSE(none.has_value());
    return OkStatus();
  }));
}

TEST_F(SqliteStoreTest, ReadersSeeOnlyCommittedData) {
  Open();
  std::latch inserted(1), release(1);
  std::thread writer([&] {
    EXPECT_OK(store_->Write([&](Txn& txn) {
      RETURN_IF_ERROR(txn.Exec("INSERT INTO items (name) VALUES (?)", {"pending"}));
      inserted.count_down();
      release.wait();
      return OkStatus();
    }));
  });
  inserted.wait();
  EXPECT_TRUE(Names().empty());  // inserted but not committed
  release.count_down();
  writer.join();
  EXPECT_EQ(Names(), std::vector<std::string>{"pending"});
}

TEST_F(SqliteStoreTest, ReadSeesOneSnapshotThroughout) {
  Open();
  ASSERT_OK(Insert("before"));
  ASSERT_OK(store_->Read([&](Txn& txn) {
    ASSIGN_OR_RETURN(std::vector<Row> first, txn.Query("SELECT name FROM items"));
    EXPECT_OK(Insert("during"));  // commits while this Read is open
    ASSIGN_OR_RETURN(std::vector<Row> second, txn.Query("SELECT name FROM items"));
    EXPECT_EQ(first, second);
    EXPECT_EQ(second.size(), 1u);
    return OkStatus();
  }));
  EXPECT_EQ(Names(), (std::vector<std::string>{"before", "during"}));
}

TEST_F(SqliteStoreTest, ReadCannotModify) {
  Open();
  Status s =
      store_->Read([](Txn& txn) { return txn.Exec("INSERT INTO items (name) VALUES (?)", {"x"}); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  Status r = store_->Read([](Txn& txn) {
    EXPECT_TRUE(txn.read_only());
    return InvalidArgumentError("from the closure");
  });
  EXPECT_EQ(r, InvalidArgumentError("from the closure"));
  EXPECT_TRUE(Names().empty());
}

TEST_F(SqliteStoreTest, ConcurrentReadersAlwaysSeeConsistentState) {
  options_.reader_count = 3;
  Open();
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 100; ++i) {
        const int64_t from = 1 + (w + i) % 4, to = 1 + (w + i + 1) % 4, amount = 1 + i % 7;
        EXPECT_OK(store_->Write([&](Txn& txn) {
          RETURN_IF_ERROR(
              txn.Exec("UPDATE accounts SET balance = balance - ? WHERE id = ?", {amount, from}));
          return txn.Exec("UPDATE accounts SET balance = balance + ? WHERE id = ?", {amount, to});
        }));
      }
    });
  }
  for (int r = 0; r < 6; ++r) {  // more readers than connections: they queue for the pool
    threads.emplace_back([&] {
      while (!done.load()) {
        EXPECT_OK(store_->Read([&](Txn& txn) {
          ASSIGN_OR_RETURN(auto row, txn.QueryOne("SELECT sum(balance) FROM accounts"));
          EXPECT_EQ(row->GetInt(0), 4000);
          ++reads;
          return OkStatus();
        }));
      }
    });
  }
  for (int i = 0; i < 4; ++i) threads[static_cast<size_t>(i)].join();
  done = true;
  for (size_t i = 4; i < threads.size(); ++i) threads[i].join();
  EXPECT_GT(reads.load(), 0);
}

TEST_F(SqliteStoreTest, CheckWritableWritesTheHeartbeat) {
  Open();
  ASSERT_OK(store_->CheckWritable());
  clock_.Advance(std::chrono::seconds(90));
  ASSERT_OK(store_->CheckWritable());
  std::string at;
  ASSERT_OK(store_->Read([&](Txn& txn) {
    ASSIGN_OR_RETURN(auto row, txn.QueryOne("SELECT at FROM heartbeat WHERE id = ?", {1}));
    at = row->GetText(0);
    return OkStatus();
  }));
  EXPECT_EQ(at, FormatRfc3339(clock_.Now()));
}

TEST_F(SqliteStoreTest, CheckWritableTimesOutWhenTheWriterIsStuck) {
  options_.check_writable_timeout = 50ms;
  Open();
  std::latch entered(1), release(1);
  store_->WriteAsync(
      [&](Txn&) {
        entered.count_down();
        release.wait();
        return OkStatus();
      },
      [](Status) {});
  entered.wait();
  EXPECT_EQ(store_->CheckWritable().code(), StatusCode::kDeadlineExceeded);
  release.count_down();
  ASSERT_OK(store_->CheckWritable());
}

TEST_F(SqliteStoreTest, DestructionCommitsEverythingQueued) {
  Open();
  std::atomic<int> ok{0};
  for (int i = 0; i < 200; ++i) {
    store_->WriteAsync(
        [i](Txn& t) { return t.Exec("INSERT INTO items (name) VALUES (?)", {std::to_string(i)}); },
        [&](Status s) { ok += s.ok() ? 1 : 0; });
  }
  store_.reset();
  EXPECT_EQ(ok.load(), 200);
  Open();
  EXPECT_EQ(Names().size(), 200u);
}

TEST_F(SqliteStoreTest, DoneCallbackMayQueueMoreWork) {
  Open();
  std::latch second_done(1);
  store_->WriteAsync(
      [](Txn& t) { return t.Exec("INSERT INTO items (name) VALUES (?)", {"one"}); },
      [&](Status s) {
        EXPECT_OK(s);
        store_->WriteAsync(
            [](Txn& t) { return t.Exec("INSERT INTO items (name) VALUES (?)", {"two"}); },
            [&](Status s2) {
              EXPECT_OK(s2);
              second_done.count_down();
            });
      });
  second_done.wait();
  EXPECT_EQ(Names(), (std::vector<std::string>{"one", "two"}));
}

TEST_F(SqliteStoreTest, SmallStatementCacheStillWorks) {
  options_.statement_cache_size = 2;
  options_.reader_count = 1;
  Open();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5; ++i) {
      // Five distinct statements cycling through a cache of two.
      const std::string sql = "INSERT INTO items (name, n) VALUES (?, " + std::to_string(i) + ")";
      ASSERT_OK(store_->Write([&](Txn& txn) {
        return txn.Exec(sql, {"r" + std::to_string(round) + "i" + std::to_string(i)});
      }));
    }
  }
  EXPECT_EQ(Names().size(), 15u);
}

TEST_F(SqliteStoreTest, MetricsAreRendered) {
  Open();
  ASSERT_OK(Insert("a"));
  const std::string text = registry_.RenderPrometheus();
  for (const char* name : {"sicher_db_commit_batches_total", "sicher_db_commit_batch_size_bucket",
                           "sicher_db_commit_duration_seconds_bucket",
                           "sicher_db_write_errors_total", "sicher_db_write_queue_length"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
}

// Runs `misuse` against a fresh store in a death-test child and expects it to crash on a CHECK.
template <typename Misuse>
void ExpectStoreMisuseCrashes(Misuse misuse) {
  char tmpl[] = "/tmp/sicher-store-death-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  EXPECT_DEATH(
      {
        metrics::Registry registry;
        SqliteOptions options;
        options.path = dir + "/d.db";
        auto store = OpenSqliteStore(options, Env::Default(), registry);
        CHECK_OK(store.status());
        misuse(**store);
      },
      "CHECK failed");
  std::filesystem::remove_all(dir);
}

TEST(SqliteStoreDeathTest, EnlistingInAReadIsABug) {
  ExpectStoreMisuseCrashes([](Store& store) {
    RecordingParticipant participant;
    (void)store.Read([&](Txn& txn) {
      participant.Add(txn, "x");
      return OkStatus();
    });
  });
}

TEST(SqliteStoreDeathTest, WriteFromTheWriterThreadIsABug) {
  ExpectStoreMisuseCrashes([](Store& store) {
    (void)store.Write([&](Txn&) { return store.Write([](Txn&) { return OkStatus(); }); });
  });
}

}  // namespace
}  // namespace sicher::store
