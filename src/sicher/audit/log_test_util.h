#pragma once
// The fixture of the audit log tests (log_test.cc, log_slow_test.cc): a real SQLite store with
// the audit migrations, a keyring, a Log with a checkpoint signer, and a fake clock.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "sicher/audit/export.h"
#include "sicher/audit/log.h"
#include "sicher/audit/merkle.h"
#include "sicher/auth/schema.h"
#include "sicher/base/bytes.h"
#include "sicher/base/ids.h"
#include "sicher/crypto/signing.h"
#include "sicher/store/sqlite/sqlite_store.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::audit {

using std::chrono::hours;
using std::chrono::seconds;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sicher_audit_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_OK_AND_ASSIGN(keyring_, crypto::Keyring::OpenOrCreate(env_, dir_ + "/keyring"));
    Open();
  }
  void Open() {
    store::SqliteOptions so;
    so.path = dir_ + "/sicher.db";
    so.migrations = store::CoreMigrations();
    for (auto& m : auth::AuthMigrations()) so.migrations.push_back(m);
    for (auto& m : AuditMigrations()) so.migrations.push_back(m);
    ASSERT_OK_AND_ASSIGN(store_, store::OpenSqliteStore(so, env_, registry_));
    log_ = std::make_unique<Log>(*keyring_, env_);
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<NoteSigner> signer,
        LoadOrCreateSigner(env_, dir_ + "/audit-signing.pem", "test.example/audit"));
    log_->SetSigner(std::move(signer));
  }
  void TearDown() override {
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A scope with its own data key, as sign-up makes one.
  std::string NewScope(std::string_view prefix) {
    const std::string id = NewId(env_.random, prefix);
    keys::DataKeys keys(*keyring_, env_.random);
    EXPECT_OK(store_->Write(
        [&](store::Txn& txn) { return keys.Create(txn, id, clock_.Now()).status(); }));
    return id;
  }

  Event Ev(const std::string& scope, std::string_view action = "document.read") {
    Event e;
    e.action = action;
    e.scope = scope;
    e.account_id = scope;
    e.actor_type = ActorType::kUser;
    e.actor_id = "usr_actor";
    e.target_type = "document";
    e.target_id = "doc_1";
    e.ip = "203.0.113.5";
    e.user_agent = "curl/8.0";
    e.request_id = "req-1";
    e.details = {{"bytes", 42}};
    return e;
  }

  Status Append(const Event& e, Pending* pending = nullptr) {
    return store_->Write([&](store::Txn& txn) { return log_->Append(txn, e, pending); });
  }

  // Appends `n` events to `scope`, one transaction of up to 500 each, a second apart.
  void AppendMany(const std::string& scope, int n, std::string_view action = "document.read") {
    for (int done = 0; done < n;) {
      const int batch = std::min(500, n - done);
      ASSERT_OK(store_->Write([&](store::Txn& txn) -> Status {
        for (int i = 0; i < batch; ++i) {
          clock_.Advance(seconds(1));
          RETURN_IF_ERROR(log_->Append(txn, Ev(scope, action), nullptr));
        }
        return OkStatus();
      }));
      done += batch;
    }
  }

  std::vector<StoredEvent> PageOf(std::vector<std::string> scopes, const Filter& f,
                                  std::optional<Position> after, size_t limit,
                                  Order order = Order::kNewestFirst) {
    std::vector<StoredEvent> out;
    EXPECT_OK(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(out, log_->Page(txn, scopes, f, after, limit, order));
      return OkStatus();
    }));
    return out;
  }

  uint64_t Size() {
    uint64_t n = 0;
    EXPECT_OK(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(n, Log::TreeSize(txn));
      return OkStatus();
    }));
    return n;
  }

  Checkpoint Verified(const StoredCheckpoint& cp) {
    Result<NoteVerifier> v = NoteVerifier::Parse(log_->signer()->VerifierKey());
    EXPECT_OK(v.status());
    Result<Checkpoint> c = v->VerifyCheckpoint(cp.note);
    EXPECT_OK(c.status());
    return *c;
  }

  // What someone with write access to the database file can do first: remove the append-only
  // triggers (migration 301).
  void DropAppendOnlyGuards() {
    for (const char* t :
         {"audit_events_no_delete", "audit_events_no_rewrite", "audit_events_purge_only",
          "audit_nodes_no_update", "audit_nodes_no_delete"}) {
      ASSERT_OK(Exec(std::string("DROP TRIGGER ") + t));
    }
  }

  Status Exec(std::string_view sql, std::vector<store::Value> args = {}) {
    return store_->Write([&](store::Txn& txn) { return txn.Exec(sql, args); });
  }

  testing::FakeClock clock_{Time(seconds(1'795'754'658))};
  PosixFileSystem fs_;
  SystemRandom random_;
  Env env_{clock_, fs_, random_};
  metrics::Registry registry_;
  std::string dir_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Log> log_;
};

}  // namespace sicher::audit
