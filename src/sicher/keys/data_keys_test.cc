#include "sicher/keys/data_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "sicher/auth/schema.h"
#include "sicher/base/file_system.h"
#include "sicher/events/events.h"
#include "sicher/store/sqlite/sqlite_store.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::keys {
namespace {

using std::chrono::milliseconds;

struct Field {
  std::string owner_id;
  std::string plaintext;
  std::string sealed;
};

class DataKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sicher_data_keys_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The "server": its keyring is loaded before any rotation and never told about one.
    ASSERT_OK_AND_ASSIGN(keyring_, crypto::Keyring::OpenOrCreate(env_, KeyringPath()));
    ASSERT_OK_AND_ASSIGN(store_, OpenStore(registry_));
    keys_ = std::make_unique<DataKeys>(*keyring_, random_);
  }
  void TearDown() override {
    keys_.reset();
    store_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  std::string KeyringPath() const { return dir_ + "/keyring"; }

  Result<std::unique_ptr<store::Store>> OpenStore(metrics::Registry& registry) {
    store::SqliteOptions so;
    so.path = dir_ + "/sicher.db";
    so.reader_count = 4;
    so.migrations = store::CoreMigrations();
    for (auto& m : auth::AuthMigrations()) so.migrations.push_back(m);
    return store::OpenSqliteStore(so, env_, registry);
  }

  // What `sicher keys rotate` opens: its own Keyring (Open, never create).
  std::unique_ptr<crypto::Keyring> CliKeyring() {
    Result<std::unique_ptr<crypto::Keyring>> k = crypto::Keyring::Open(env_, KeyringPath());
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return k.ok() ? *std::move(k) : nullptr;
  }

  static RotationOptions FastRotation() {
    RotationOptions o;
    o.rewrap.batch_size = 7;  // several batches even for small tables
    o.drop_grace = milliseconds(0);
    return o;
  }

  // Creates a DEK for a new owner and seals one field under it, in one write transaction.
  Result<Field> CreateOwner(DataKeys& keys, const std::string& owner_id) {
    Field f{owner_id, "name of " + owner_id, ""};
    Status s = store_->Write([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(SecretBytes dek, keys.Create(txn, owner_id, clock_.Now()));
      ASSIGN_OR_RETURN(f.sealed, keys.Seal(dek, "users", "name", owner_id, f.plaintext));
      return OkStatus();
    });
    if (!s.ok()) return s;
    return f;
  }

  // Opens a field in a read transaction (as a request would).
  Result<std::string> OpenField(DataKeys& keys, const Field& f) {
    std::string out;
    RETURN_IF_ERROR(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(SecretBytes dek, keys.Get(txn, f.owner_id));
      ASSIGN_OR_RETURN(out, keys.Open(dek, "users", "name", f.owner_id, f.sealed));
      return OkStatus();
    }));
    return out;
  }

  std::string WrappedOf(const std::string& owner_id) {
    std::string out;
    EXPECT_OK(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(
          std::optional<store::Row> row,
          txn.QueryOne("SELECT wrapped_dek FROM data_keys WHERE owner_id = ?", {owner_id}));
      if (row) out = row->GetBlob(0);
      return OkStatus();
    }));
    return out;
  }

  uint32_t MinVersion() {
    uint32_t out = 0;
    EXPECT_OK(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(out, DataKeys::MinKekVersion(txn));
      return OkStatus();
    }));
    return out;
  }

  std::string KeyringFile() {
    Result<std::string> text = fs_.ReadFile(KeyringPath());
    EXPECT_TRUE(text.ok());
    return text.ok() ? *text : "";
  }

  testing::FakeClock clock_;
  PosixFileSystem fs_;
  SystemRandom random_;
  Env env_{clock_, fs_, random_};
  metrics::Registry registry_;
  std::string dir_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<DataKeys> keys_;
};

TEST_F(DataKeysTest, RewrapAllMovesEveryKeyToTheCurrentVersion) {
  std::vector<Field> fields;
  for (int i = 0; i < 23; ++i) {
    ASSERT_OK_AND_ASSIGN(Field f, CreateOwner(*keys_, "usr_" + std::to_string(i)));
    fields.push_back(f);
  }
  const std::string old_wrapped = WrappedOf("usr_0");
  ASSERT_OK_AND_ASSIGN(uint32_t old_version, crypto::Keyring::WrappedKekVersion(old_wrapped));
  EXPECT_EQ(old_version, 1u);
  ASSERT_OK_AND_ASSIGN(auto before, DataKeys::CountByVersion(*store_));
  EXPECT_EQ(before, (std::map<uint32_t, int64_t>{{1, 23}}));

  ASSERT_OK_AND_ASSIGN(uint32_t v2, keyring_->AddVersion());
  EXPECT_EQ(v2, 2u);
  RewrapOptions options;
  options.batch_size = 5;
  ASSERT_OK_AND_ASSIGN(int64_t rewrapped, DataKeys::RewrapAll(*store_, *keyring_, options));
  EXPECT_EQ(rewrapped, 23);
  ASSERT_OK_AND_ASSIGN(auto after, DataKeys::CountByVersion(*store_));
  EXPECT_EQ(after, (std::map<uint32_t, int64_t>{{2, 23}}));
  // Nothing left to do: a second run re-wraps nothing.
  ASSERT_OK_AND_ASSIGN(int64_t again, DataKeys::RewrapAll(*store_, *keyring_));
  EXPECT_EQ(again, 0);

  for (const Field& f : fields) {
    ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, f));
    EXPECT_EQ(plain, f.plaintext);
  }
  ASSERT_OK(keyring_->DropVersion(1));
  EXPECT_EQ(keyring_->versions(), std::vector<uint32_t>{2});
  for (const Field& f : fields) {
    ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, f));
    EXPECT_EQ(plain, f.plaintext);
  }

  // A DEK still wrapped under the dropped version cannot be unwrapped any more.
  Result<SecretBytes> direct = keyring_->UnwrapDek(old_wrapped, "usr_0");
  EXPECT_EQ(direct.status().code(), StatusCode::kNotFound) << direct.status().ToString();
  ASSERT_OK(store_->Write([&](store::Txn& txn) {
    return txn.Exec("UPDATE data_keys SET kek_version = 1, wrapped_dek = ? WHERE owner_id = ?",
                    {store::Blob{old_wrapped}, std::string("usr_0")});
  }));
  Result<std::string> stale = OpenField(*keys_, fields[0]);
  EXPECT_EQ(stale.status().code(), StatusCode::kNotFound) << stale.status().ToString();
  // And RewrapAll refuses to go on (so a rotation would drop nothing), naming the owner.
  Result<int64_t> stuck = DataKeys::RewrapAll(*store_, *keyring_);
  EXPECT_EQ(stuck.status().code(), StatusCode::kNotFound);
  EXPECT_NE(stuck.status().message().find("usr_0"), std::string::npos);
}

TEST_F(DataKeysTest, RewrapAllDoesNotResurrectADestroyedKey) {
  ASSERT_OK_AND_ASSIGN(Field a, CreateOwner(*keys_, "usr_a"));
  ASSERT_OK_AND_ASSIGN(Field b, CreateOwner(*keys_, "usr_b"));
  ASSERT_OK(keyring_->AddVersion().status());
  // A destroy that commits between RewrapAll's read and its write: the compare-and-set loses.
  RewrapOptions options;
  bool destroyed = false;
  options.in_batch = [&](store::Txn& txn) -> Status {
    if (!destroyed) {
      destroyed = true;
      ASSIGN_OR_RETURN(bool existed, keys_->DestroyOwnerKey(txn, "usr_a"));
      if (!existed) return InternalError("usr_a had no key");
    }
    return OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(int64_t rewrapped, DataKeys::RewrapAll(*store_, *keyring_, options));
  EXPECT_EQ(rewrapped, 1);
  EXPECT_EQ(WrappedOf("usr_a"), "");
  ASSERT_OK_AND_ASSIGN(auto counts, DataKeys::CountByVersion(*store_));
  EXPECT_EQ(counts, (std::map<uint32_t, int64_t>{{2, 1}}));
  EXPECT_EQ(OpenField(*keys_, a).status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, b));
  EXPECT_EQ(plain, b.plaintext);
}

TEST_F(DataKeysTest, RotateKeksRunsTheWholeProtocol) {
  std::vector<Field> fields;
  for (int i = 0; i < 12; ++i) {
    ASSERT_OK_AND_ASSIGN(Field f, CreateOwner(*keys_, "acc_" + std::to_string(i)));
    fields.push_back(f);
  }
  EXPECT_EQ(MinVersion(), 0u);
  std::unique_ptr<crypto::Keyring> cli = CliKeyring();
  ASSERT_NE(cli, nullptr);
  std::vector<std::string> lines;
  auto progress = [&](const std::string& line) { lines.push_back(line); };
  ASSERT_OK_AND_ASSIGN(RotationReport report,
                       RotateKeks(*store_, *cli, env_, progress, FastRotation()));
  EXPECT_EQ(report.new_version, 2u);
  EXPECT_EQ(report.rewrapped, 12);
  EXPECT_EQ(report.dropped, std::vector<uint32_t>{1});
  EXPECT_EQ(report.keys_by_version, (std::map<uint32_t, int64_t>{{2, 12}}));
  EXPECT_EQ(lines, (std::vector<std::string>{"added KEK version 2", "re-wrapped 12 data keys",
                                             "dropped KEK version 1"}));
  EXPECT_EQ(MinVersion(), 2u);
  EXPECT_EQ(cli->versions(), std::vector<uint32_t>{2});
  const std::string file = KeyringFile();
  EXPECT_NE(file.find("\ncurrent 2\n"), std::string::npos);
  EXPECT_NE(file.find("\nkek 2 "), std::string::npos);
  EXPECT_EQ(file.find("\nkek 1 "), std::string::npos);

  // The server's keyring (loaded before) still opens everything: it reloads by itself.
  for (const Field& f : fields) {
    ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, f));
    EXPECT_EQ(plain, f.plaintext);
  }
  EXPECT_EQ(keyring_->current_version(), 2u);

  // The lease was released: a second rotation runs.
  lines.clear();
  ASSERT_OK_AND_ASSIGN(report, RotateKeks(*store_, *cli, env_, progress, FastRotation()));
  EXPECT_EQ(report.new_version, 3u);
  EXPECT_EQ(lines, (std::vector<std::string>{"added KEK version 3", "re-wrapped 12 data keys",
                                             "dropped KEK version 2"}));
  for (const Field& f : fields) {
    ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, f));
    EXPECT_EQ(plain, f.plaintext);
  }
}

TEST_F(DataKeysTest, OnlyOneRotationAtATime) {
  ASSERT_OK(CreateOwner(*keys_, "usr_1").status());
  const int64_t until = (clock_.Now() + std::chrono::minutes(5)).time_since_epoch().count();
  ASSERT_OK(store_->Write([&](store::Txn& txn) {
    return txn.Exec("UPDATE key_state SET rotation_holder = 'rot_other', rotation_expires_at = ?",
                    {until});
  }));
  std::unique_ptr<crypto::Keyring> cli = CliKeyring();
  Result<RotationReport> refused = RotateKeks(*store_, *cli, env_, nullptr, FastRotation());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("another `sicher keys rotate` is running"),
            std::string::npos);
  EXPECT_EQ(cli->versions(), std::vector<uint32_t>{1});  // nothing was added

  // A crashed rotation's lease expires.
  clock_.Advance(std::chrono::minutes(6));
  ASSERT_OK_AND_ASSIGN(RotationReport report,
                       RotateKeks(*store_, *cli, env_, nullptr, FastRotation()));
  EXPECT_EQ(report.new_version, 2u);
}

TEST_F(DataKeysTest, ServerKeyringFollowsRotationsWithoutRestart) {
  std::vector<Field> fields;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(Field f, CreateOwner(*keys_, "usr_" + std::to_string(i)));
    fields.push_back(f);
  }
  std::unique_ptr<crypto::Keyring> cli = CliKeyring();
  ASSERT_OK(RotateKeks(*store_, *cli, env_, nullptr, FastRotation()).status());
  EXPECT_EQ(keyring_->current_version(), 1u);  // the server has not looked yet

  // Unwrapping a DEK re-wrapped under version 2 makes the server's keyring re-read the file.
  ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, fields[0]));
  EXPECT_EQ(plain, fields[0].plaintext);
  EXPECT_EQ(keyring_->current_version(), 2u);

  // A second rotation within the keyring's one-reload-a-second limit (the fake clock does not
  // move): the fence in the database vouches for version 3, so Get reloads anyway.
  ASSERT_OK(RotateKeks(*store_, *cli, env_, nullptr, FastRotation()).status());
  for (const Field& f : fields) {
    ASSERT_OK_AND_ASSIGN(plain, OpenField(*keys_, f));
    EXPECT_EQ(plain, f.plaintext);
  }
  EXPECT_EQ(keyring_->current_version(), 3u);

  // After the fence was raised, the server creates new DEKs under the new version although its
  // in-memory current version is older: Create reloads first.
  ASSERT_OK(RotateKeks(*store_, *cli, env_, nullptr, FastRotation()).status());
  EXPECT_EQ(keyring_->current_version(), 3u);
  ASSERT_OK_AND_ASSIGN(Field fresh, CreateOwner(*keys_, "usr_new"));
  ASSERT_OK_AND_ASSIGN(uint32_t v, crypto::Keyring::WrappedKekVersion(WrappedOf("usr_new")));
  EXPECT_EQ(v, 4u);
  EXPECT_EQ(keyring_->current_version(), 4u);
  ASSERT_OK_AND_ASSIGN(plain, OpenField(*keys_, fresh));
  EXPECT_EQ(plain, fresh.plaintext);
  ASSERT_OK_AND_ASSIGN(auto counts, DataKeys::CountByVersion(*store_));
  EXPECT_EQ(counts, (std::map<uint32_t, int64_t>{{4, 6}}));
}

TEST_F(DataKeysTest, CreateFailsRetryablyWhenTheFenceIsAheadOfTheFile) {
  ASSERT_OK(store_->Write([](store::Txn& txn) {
    return txn.Exec("UPDATE key_state SET min_kek_version = 9 WHERE id = 1");
  }));
  Result<Field> f = CreateOwner(*keys_, "usr_x");
  EXPECT_EQ(f.status().code(), StatusCode::kUnavailable) << f.status().ToString();
  EXPECT_EQ(WrappedOf("usr_x"), "");
}

TEST_F(DataKeysTest, GetDoesNotReloadForAVersionTheFenceDoesNotVouchFor) {
  ASSERT_OK_AND_ASSIGN(Field f, CreateOwner(*keys_, "usr_1"));
  // Forge a header version (the tag no longer matches either, but the version is checked first).
  std::string forged = WrappedOf("usr_1");
  forged[4] = 9;
  ASSERT_OK(store_->Write([&](store::Txn& txn) {
    return txn.Exec("UPDATE data_keys SET wrapped_dek = ? WHERE owner_id = 'usr_1'",
                    {store::Blob{forged}});
  }));
  Result<std::string> r = OpenField(*keys_, f);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
}

TEST_F(DataKeysTest, DestroyOwnerKeyShredsAndPublishesItsEvent) {
  events::Bus bus;
  std::vector<events::DataKeyDestroyed> seen;
  events::Subscription sub = bus.Subscribe<events::DataKeyDestroyed>(
      [&](const events::DataKeyDestroyed& e) { seen.push_back(e); });
  ASSERT_OK_AND_ASSIGN(Field f, CreateOwner(*keys_, "acc_1"));
  ASSERT_OK_AND_ASSIGN(Field other, CreateOwner(*keys_, "acc_2"));

  ASSERT_OK_AND_ASSIGN(bool existed,
                       DataKeys::ShredOwnerKey(*store_, bus, "acc_1", "account_deleted"));
  EXPECT_TRUE(existed);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].owner_id, "acc_1");
  EXPECT_EQ(seen[0].reason, "account_deleted");
  Result<std::string> gone = OpenField(*keys_, f);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, other));
  EXPECT_EQ(plain, other.plaintext);

  // Again: nothing existed, nothing published.
  ASSERT_OK_AND_ASSIGN(existed, DataKeys::ShredOwnerKey(*store_, bus, "acc_1", "account_deleted"));
  EXPECT_FALSE(existed);
  EXPECT_EQ(seen.size(), 1u);

  // The transaction-level form reports existence and publishes nothing by itself; a rolled-back
  // transaction keeps the key.
  ASSERT_OK(store_->Write([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(bool had, keys_->DestroyOwnerKey(txn, "no_such_owner"));
    EXPECT_FALSE(had);
    return OkStatus();
  }));
  Status rolled_back = store_->Write([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(bool had, keys_->DestroyOwnerKey(txn, "acc_2"));
    EXPECT_TRUE(had);
    return AbortedError("changed my mind");
  });
  EXPECT_EQ(rolled_back.code(), StatusCode::kAborted);
  EXPECT_EQ(seen.size(), 1u);
  ASSERT_OK_AND_ASSIGN(plain, OpenField(*keys_, other));
  EXPECT_EQ(plain, other.plaintext);
}

// keys.md section 6 under load: four "server" threads create owners and open fields through a
// keyring loaded before the rotation, while a second process (its own store and keyring, as
// `sicher keys rotate`) rotates twice. No operation may fail.
TEST_F(DataKeysTest, RotationUnderConcurrentReadsAndWrites) {
  constexpr int kThreads = 4;
  std::mutex mu;
  std::vector<Field> fields;  // guarded by mu
  std::atomic<bool> stop{false};
  std::atomic<int> created{0}, opened{0}, failures{0};
  std::vector<std::string> errors;  // guarded by mu

  auto record_failure = [&](const Status& s) {
    failures++;
    std::lock_guard lock(mu);
    if (errors.size() < 10) errors.push_back(s.ToString());
  };
  auto worker = [&](int t) {
    int n = 0;
    uint64_t pick = static_cast<uint64_t>(t) * 7919;
    while (!stop.load()) {
      Result<Field> f = CreateOwner(*keys_, "usr_" + std::to_string(t) + "_" + std::to_string(n++));
      if (!f.ok()) {
        record_failure(f.status());
        continue;
      }
      created++;
      Field target;
      {
        std::lock_guard lock(mu);
        fields.push_back(*f);
        pick = pick * 6364136223846793005ull + 1442695040888963407ull;
        target = fields[(pick >> 33) % fields.size()];
      }
      for (const Field* g : {&*f, &target}) {
        Result<std::string> plain = OpenField(*keys_, *g);
        if (!plain.ok()) {
          record_failure(plain.status());
        } else if (*plain != g->plaintext) {
          record_failure(DataLossError("wrong plaintext for " + g->owner_id));
        } else {
          opened++;
        }
      }
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  while (created.load() < 60 && failures.load() == 0) std::this_thread::sleep_for(milliseconds(5));

  {
    metrics::Registry cli_registry;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<store::Store> cli_store, OpenStore(cli_registry));
    std::unique_ptr<crypto::Keyring> cli = CliKeyring();
    ASSERT_NE(cli, nullptr);
    RotationOptions options;
    options.rewrap.batch_size = 10;
    options.drop_grace = milliseconds(200);
    for (uint32_t expected = 2; expected <= 3; ++expected) {
      const int before = created.load();
      ASSERT_OK_AND_ASSIGN(RotationReport report,
                           RotateKeks(*cli_store, *cli, env_, nullptr, options));
      EXPECT_EQ(report.new_version, expected);
      EXPECT_EQ(report.dropped, std::vector<uint32_t>{expected - 1});
      EXPECT_GE(report.rewrapped, before);
      // Let the servers work under the new version for a while.
      const int target = created.load() + 40;
      while (created.load() < target && failures.load() == 0) {
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
    EXPECT_EQ(cli->versions(), std::vector<uint32_t>{3});
  }
  stop = true;
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0) << ::testing::PrintToString(errors);
  EXPECT_GT(opened.load(), 0);
  ASSERT_OK_AND_ASSIGN(auto counts, DataKeys::CountByVersion(*store_));
  EXPECT_EQ(counts, (std::map<uint32_t, int64_t>{{3, static_cast<int64_t>(fields.size())}}));
  EXPECT_EQ(MinVersion(), 3u);
  for (const Field& f : fields) {
    ASSERT_OK_AND_ASSIGN(std::string plain, OpenField(*keys_, f));
    EXPECT_EQ(plain, f.plaintext);
  }
  // A keyring opened now knows only the current version.
  std::unique_ptr<crypto::Keyring> fresh = CliKeyring();
  EXPECT_EQ(fresh->versions(), std::vector<uint32_t>{3});
}

}  // namespace
}  // namespace sicher::keys
