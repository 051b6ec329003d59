#include "sicher/audit/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <bit>
#include <filesystem>
#include <latch>
#include <map>
#include <set>
#include <sstream>

#include "sicher/audit/export.h"
#include "sicher/audit/log_test_util.h"
#include "sicher/audit/merkle.h"
#include "sicher/auth/schema.h"
#include "sicher/base/bytes.h"
#include "sicher/base/ids.h"
#include "sicher/crypto/signing.h"
#include "sicher/store/sqlite/sqlite_store.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::audit {
namespace {

TEST_F(AuditLogTest, RecordIsCanonicalJsonWithTheDocumentedFields) {
  const std::string acc = NewScope("acc");
  Pending pending;
  ASSERT_OK(Append(Ev(acc), &pending));
  ASSERT_EQ(pending.size(), 1u);
  const std::string& record = pending[0].record;
  const nlohmann::json j = nlohmann::json::parse(record);
  EXPECT_EQ(CanonicalJson(j), record);  // sorted keys, no whitespace
  EXPECT_EQ(j["event"]["action"], "document.read");
  EXPECT_EQ(j["event"]["outcome"], "success");
  EXPECT_EQ(j["event"]["sequence"], 1);
  EXPECT_TRUE(IsValidId(j["event"]["id"].get<std::string>(), "aev"));
  EXPECT_EQ(j["organization"]["id"], acc);
  EXPECT_EQ(j["user"]["id"], "usr_actor");
  EXPECT_EQ(j["source"]["ip"], "203.0.113.5");
  EXPECT_EQ(j["user_agent"]["original"], "curl/8.0");
  EXPECT_EQ(j["http"]["request"]["id"], "req-1");
  EXPECT_EQ(j["sicher"]["log_index"], 0);
  EXPECT_EQ(j["sicher"]["scope"], acc);
  EXPECT_EQ(j["sicher"]["actor"]["type"], "user");
  EXPECT_EQ(j["sicher"]["target"]["id"], "doc_1");
  EXPECT_EQ(j["sicher"]["details"]["bytes"], 42);
  EXPECT_EQ(j["@timestamp"], FormatRfc3339(clock_.Now()));
}

TEST_F(AuditLogTest, RefusesActionsOutsideTheCatalogAndBadOutcomes) {
  const std::string acc = NewScope("acc");
  EXPECT_EQ(Append(Ev(acc, "document.made_up")).code(), StatusCode::kInvalidArgument);
  Event e = Ev(acc);
  e.outcome = "maybe";
  EXPECT_EQ(Append(e).code(), StatusCode::kInvalidArgument);
  e = Ev(acc);
  e.scope.clear();
  EXPECT_EQ(Append(e).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Size(), 0u);
}

TEST_F(AuditLogTest, PayloadIsSealedAndIpIsNotStoredInClear) {
  const std::string acc = NewScope("acc");
  ASSERT_OK(Append(Ev(acc)));
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                     txn.Query("SELECT payload, ip_index, leaf_hash FROM audit_events"));
    EXPECT_EQ(rows.size(), 1u);
    const std::string& payload = rows[0].GetBlob(0);
    EXPECT_EQ(payload.find("203.0.113.5"), std::string::npos);
    EXPECT_EQ(payload.find("curl"), std::string::npos);
    EXPECT_EQ(rows[0].GetText(1).find("203.0.113"), std::string::npos);
    EXPECT_EQ(rows[0].GetBlob(2).size(), 32u);
    return OkStatus();
  }));
}

TEST_F(AuditLogTest, RolledBackAppendLeavesNoEventAndNoGap) {
  const std::string acc = NewScope("acc");
  ASSERT_OK(Append(Ev(acc)));
  // The change fails after its event was appended: both go.
  Status s = store_->Write([&](store::Txn& txn) -> Status {
    RETURN_IF_ERROR(log_->Append(txn, Ev(acc), nullptr));
    return FailedPreconditionError("the change failed");
  });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(Append(Ev(acc)));
  EXPECT_EQ(Size(), 2u);
  const std::vector<StoredEvent> all = PageOf({acc}, {}, std::nullopt, 10, Order::kOldestFirst);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].log_index, 0u);
  EXPECT_EQ(all[1].log_index, 1u);
  EXPECT_EQ(all[0].sequence, 1);
  EXPECT_EQ(all[1].sequence, 2);  // the rolled-back event gave its number back
}

// The counters, sequences and Merkle nodes an append keeps in memory until its batch commits
// (Log::Tail) must end up exactly as if every append had written them at once.
class AuditTailTest : public AuditLogTest {
 protected:
  // Holds the store's writer inside a closure, so that the writes queued meanwhile run as one
  // batch once Run() releases it.
  class HeldBatch {
   public:
    explicit HeldBatch(store::Store& store) : store_(store) {
      store_.WriteAsync(
          [this](store::Txn&) {
            entered_.count_down();
            release_.wait();
            return OkStatus();
          },
          [](Status) {});
      entered_.wait();
    }
    void Add(store::TxnFn fn) { closures_.push_back(std::move(fn)); }
    // Queues every closure, releases the writer, and returns each closure's answer.
    std::vector<Status> Run() {
      std::vector<Status> results(closures_.size());
      std::latch answered(static_cast<std::ptrdiff_t>(closures_.size()));
      for (size_t i = 0; i < closures_.size(); ++i) {
        store_.WriteAsync(closures_[i], [&, i](Status s) {
          results[i] = std::move(s);
          answered.count_down();
        });
      }
      release_.count_down();
      answered.wait();
      return results;
    }

   private:
    store::Store& store_;
    std::latch entered_{1}, release_{1};
    std::vector<store::TxnFn> closures_;
  };

  class FailingParticipant final : public store::BatchParticipant {
   public:
    void ClosureEnded(bool) override {}
    Status BeforeCommit(store::Txn&) override { return UnavailableError("disk said no"); }
    void BatchEnded(bool) override {}
  };

  store::TxnFn Appends(const std::string& scope, int n, Status then = OkStatus()) {
    return [this, scope, n, then](store::Txn& txn) -> Status {
      for (int i = 0; i < n; ++i) {
        clock_.Advance(seconds(1));
        RETURN_IF_ERROR(log_->Append(txn, Ev(scope), nullptr));
      }
      return then;
    };
  }

  // The stored log is whole: `n` events, a valid tree with every perfect node stored once, the
  // stored counters equal to what the events say, each scope's sequence 1, 2, 3, ...
  void ExpectConsistent(uint64_t n, const std::map<std::string, int64_t>& per_scope) {
    EXPECT_EQ(Size(), n);
    ASSERT_OK_AND_ASSIGN(StoredCheckpoint cp, log_->MakeCheckpoint(*store_));
    ASSERT_EQ(cp.size, n);
    ASSERT_OK_AND_ASSIGN(VerifyReport report, log_->VerifyStore(*store_, Verified(cp)));
    EXPECT_TRUE(report.problems.empty()) << report.problems.front();
    EXPECT_EQ(report.events_checked, n);
    ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<store::Row> nodes,
                       txn.QueryOne("SELECT COUNT(*) FROM audit_nodes"));
      // Stored: every complete node of level 4 and up (lower ones come from the leaves).
      int64_t stored = 0;
      for (int level = 4; level < 64; ++level) stored += static_cast<int64_t>(n >> level);
      EXPECT_EQ(nodes->GetInt(0), stored);
      for (const auto& [scope, count] : per_scope) {
        ASSIGN_OR_RETURN(
            std::optional<store::Row> last,
            txn.QueryOne("SELECT last_sequence FROM audit_scopes WHERE scope = ?", {scope}));
        EXPECT_EQ(last ? last->GetInt(0) : 0, count) << scope;
        ASSIGN_OR_RETURN(std::vector<store::Row> seqs,
                         txn.Query("SELECT sequence FROM audit_events WHERE scope = ? "
                                   "ORDER BY log_index",
                                   {scope}));
        EXPECT_EQ(seqs.size(), static_cast<size_t>(count)) << scope;
        for (size_t i = 0; i < seqs.size(); ++i) {
          EXPECT_EQ(seqs[i].GetInt(0), static_cast<int64_t>(i + 1)) << scope;
        }
      }
      return OkStatus();
    }));
  }
};

TEST_F(AuditTailTest, ClosuresOfOneBatchRollBackOnlyTheirOwnAppends) {
  const std::string acc = NewScope("acc");
  const std::string usr = NewScope("usr");
  ASSERT_OK(store_->Write(Appends(acc, 3)));  // the tail starts from a stored tree
  HeldBatch held(*store_);
  held.Add(Appends(acc, 2));
  held.Add(Appends(usr, 3, PermissionDeniedError("the change failed")));  // all three go
  held.Add(Appends(usr, 1));
  held.Add([&](store::Txn& txn) -> Status {  // appends both, then fails: both go
    RETURN_IF_ERROR(log_->Append(txn, Ev(acc), nullptr));
    RETURN_IF_ERROR(log_->Append(txn, Ev(usr), nullptr));
    return txn.Exec("INSERT INTO no_such_table (x) VALUES (1)");
  });
  held.Add(Appends(acc, 4));
  const std::vector<Status> results = held.Run();
  EXPECT_OK(results[0]);
  EXPECT_EQ(results[1], PermissionDeniedError("the change failed"));
  EXPECT_OK(results[2]);
  EXPECT_FALSE(results[3].ok());
  EXPECT_OK(results[4]);
  ExpectConsistent(3 + 2 + 1 + 4, {{acc, 9}, {usr, 1}});
  ASSERT_OK(store_->Write(Appends(usr, 2)));  // and the next batch goes on from there
  ExpectConsistent(12, {{acc, 9}, {usr, 3}});
}

TEST_F(AuditTailTest, ABatchThatFailsAsAWholeLeavesTheLogAsItWas) {
  const std::string acc = NewScope("acc");
  ASSERT_OK(store_->Write(Appends(acc, 5)));
  FailingParticipant failing;
  HeldBatch held(*store_);
  held.Add(Appends(acc, 3));
  held.Add([&](store::Txn& txn) {
    txn.Enlist(failing);  // fails the batch after every closure succeeded
    return OkStatus();
  });
  held.Add(Appends(acc, 2));
  for (const Status& s : held.Run()) EXPECT_EQ(s, UnavailableError("disk said no"));
  ExpectConsistent(5, {{acc, 5}});
  ASSERT_OK(store_->Write(Appends(acc, 4)));
  ExpectConsistent(9, {{acc, 9}});
}

TEST_F(AuditTailTest, AKeyDestroyedInTheBatchIsNotUsedByItsLaterAppends) {
  const std::string usr = NewScope("usr");
  HeldBatch held(*store_);
  held.Add(Appends(usr, 1));  // unwraps and keeps the scope's sealing context for the batch
  held.Add([&](store::Txn& txn) { return keys::DataKeys::DestroyOwnerKey(txn, usr).status(); });
  held.Add(Appends(usr, 1));  // must not seal under the destroyed key: goes to the system scope
  for (const Status& s : held.Run()) EXPECT_OK(s);
  const std::vector<StoredEvent> sys =
      PageOf({std::string(kSystemScope)}, {}, std::nullopt, 10, Order::kOldestFirst);
  ASSERT_EQ(sys.size(), 1u);
  EXPECT_EQ(sys[0].log_index, 1u);
  EXPECT_OK(sys[0].status);
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                     txn.Query("SELECT scope FROM audit_events ORDER BY log_index"));
    EXPECT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].GetText(0), usr);
    EXPECT_EQ(rows[1].GetText(0), std::string(kSystemScope));
    return OkStatus();
  }));
}

TEST_F(AuditTailTest, RootsAndProofsFromTheDatabaseEqualAMemoryTreeOfItsLeaves) {
  // Levels 1-3 are computed from the leaves, 4 and up read from audit_nodes: every root, audit
  // path and consistency proof must be the one a complete in-memory tree gives.
  const std::string acc = NewScope("acc");
  for (int n : {1, 2, 5, 8, 16, 33, 100, 127, 300}) ASSERT_OK(store_->Write(Appends(acc, n)));
  MemoryTree tree;
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                     txn.Query("SELECT leaf_hash FROM audit_events ORDER BY log_index"));
    for (const store::Row& r : rows) tree.Append(r.GetBlob(0));
    return OkStatus();
  }));
  ASSERT_EQ(tree.size(), 592u);
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    for (uint64_t size : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255, 256, 257, 511, 512, 592}) {
      for (uint64_t leaf : {uint64_t{0}, size / 3, size / 2, size - 1}) {
        ASSIGN_OR_RETURN(InclusionProofView db, Log::InclusionProof(txn, leaf, size));
        ASSIGN_OR_RETURN(std::vector<std::string> mem, audit::InclusionProof(tree, leaf, size));
        EXPECT_EQ(db.proof, mem) << leaf << " in " << size;
      }
      for (uint64_t from : {uint64_t{1}, size / 2 + 1, size}) {
        if (from > size) continue;
        ASSIGN_OR_RETURN(std::vector<std::string> db, Log::ConsistencyProof(txn, from, size));
        ASSIGN_OR_RETURN(std::vector<std::string> mem, audit::ConsistencyProof(tree, from, size));
        EXPECT_EQ(db, mem) << from << " to " << size;
      }
    }
    return OkStatus();
  }));
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint cp, log_->MakeCheckpoint(*store_));
  ASSERT_OK_AND_ASSIGN(const std::string root, RootHash(tree, 592));
  EXPECT_EQ(cp.root_hash, root);
  ExpectConsistent(592, {{acc, 592}});
}

TEST_F(AuditTailTest, ASystemKeyCreatedByARolledBackClosureIsNotUsedAfterwards) {
  HeldBatch held(*store_);
  // No scope here has a key: the events go to the system scope, whose key the first closure
  // creates, and then rolls back with everything else it did.
  held.Add([&](store::Txn& txn) -> Status {
    RETURN_IF_ERROR(log_->Append(txn, Ev("usr_gone_1"), nullptr));
    return AbortedError("the change failed");
  });
  held.Add(Appends("usr_gone_2", 2));  // must create the key again, not seal under the lost one
  const std::vector<Status> results = held.Run();
  EXPECT_EQ(results[0].code(), StatusCode::kAborted);
  EXPECT_OK(results[1]);
  const std::vector<StoredEvent> sys =
      PageOf({std::string(kSystemScope)}, {}, std::nullopt, 10, Order::kOldestFirst);
  ASSERT_EQ(sys.size(), 2u);
  for (const StoredEvent& ev : sys) EXPECT_TRUE(ev.status.ok()) << ev.log_index;  // they open
  ExpectConsistent(2, {{std::string(kSystemScope), 2}});
}

TEST_F(AuditTailTest, TwoLogsOnOneDatabaseNeverReuseAPosition) {
  const std::string acc = NewScope("acc");
  Log other(*keyring_, env_);
  for (int round = 0; round < 6; ++round) {
    ASSERT_OK(store_->Write(Appends(acc, round + 1)));
    ASSERT_OK(store_->Write([&](store::Txn& txn) -> Status {
      clock_.Advance(seconds(1));
      return other.Append(txn, Ev(acc), nullptr);
    }));
    // A rollback in the other log between the two.
    EXPECT_FALSE(store_
                     ->Write([&](store::Txn& txn) -> Status {
                       RETURN_IF_ERROR(other.Append(txn, Ev(acc), nullptr));
                       return AbortedError("no");
                     })
                     .ok());
  }
  ExpectConsistent(21 + 6, {{acc, 27}});
}

TEST_F(AuditLogTest, OutcomeCheckMigrationKeepsEveryEventAndGuard) {
  // A database written before migration 303, then opened by this binary.
  log_.reset();
  store_.reset();
  std::filesystem::remove_all(dir_ + "/sicher.db");
  {
    store::SqliteOptions so;
    so.path = dir_ + "/sicher.db";
    so.migrations = store::CoreMigrations();
    for (auto& m : auth::AuthMigrations()) so.migrations.push_back(m);
    for (auto& m : AuditMigrations()) {
      if (m.version < 303) so.migrations.push_back(m);
    }
    ASSERT_OK_AND_ASSIGN(store_, store::OpenSqliteStore(so, env_, registry_));
    log_ = std::make_unique<Log>(*keyring_, env_);
    const std::string acc = NewScope("acc");
    AppendMany(acc, 30);
    log_.reset();
    store_.reset();
  }
  Open();
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint cp, log_->MakeCheckpoint(*store_));
  ASSERT_EQ(cp.size, 30u);
  ASSERT_OK_AND_ASSIGN(VerifyReport report, log_->VerifyStore(*store_, Verified(cp)));
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.events_checked, 30u);
  // The rebuilt table still refuses deletes, rewrites and bad outcomes, and keeps its indexes.
  EXPECT_EQ(Exec("DELETE FROM audit_events WHERE log_index = 3").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_events SET action = 'x' WHERE log_index = 3").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_events SET payload = x'00' WHERE log_index = 3").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("INSERT INTO audit_events (log_index, at, scope, sequence, action, actor_id, "
                 "outcome, leaf_hash) VALUES (99, 0, 'x', 1, 'a', '', 'maybe', x'00')")
                .code(),
            StatusCode::kFailedPrecondition);
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<store::Row> rows,
                     txn.Query("SELECT name FROM sqlite_schema WHERE tbl_name = 'audit_events' "
                               "AND type IN ('index', 'trigger') ORDER BY name"));
    std::vector<std::string> names;
    for (const store::Row& r : rows) names.push_back(r.GetText(0));
    EXPECT_EQ(names, (std::vector<std::string>{"audit_events_by_actor", "audit_events_by_scope",
                                               "audit_events_no_delete", "audit_events_no_rewrite",
                                               "audit_events_purge_only"}));
    return OkStatus();
  }));
  ASSERT_OK(Append(Ev(NewScope("acc"))));
  EXPECT_EQ(Size(), 31u);
}

TEST_F(AuditLogTest, ScopeWithoutKeyFallsBackToSystem) {
  Event e = Ev("usr_deleted_long_ago");
  ASSERT_OK(Append(e));
  const std::vector<StoredEvent> sys = PageOf({std::string(kSystemScope)}, {}, std::nullopt, 10);
  ASSERT_EQ(sys.size(), 1u);
  EXPECT_OK(sys[0].status);
}

TEST_F(AuditLogTest, PaginationReturnsEveryEventExactlyOnce) {
  const std::string acc = NewScope("acc");
  const std::string user = NewScope("usr");
  AppendMany(acc, 1500);
  AppendMany(user, 700, "login.password");
  // Equal timestamps must not break the order: a burst in the same microsecond.
  ASSERT_OK(store_->Write([&](store::Txn& txn) -> Status {
    for (int i = 0; i < 50; ++i) RETURN_IF_ERROR(log_->Append(txn, Ev(acc), nullptr));
    return OkStatus();
  }));
  std::set<uint64_t> seen;
  std::optional<Position> after;
  int pages = 0;
  Position last{INT64_MAX, INT64_MAX};
  for (;;) {
    std::vector<StoredEvent> page = PageOf({acc, user}, {}, after, 97);
    for (const StoredEvent& ev : page) {
      EXPECT_TRUE(seen.insert(ev.log_index).second) << "duplicate " << ev.log_index;
      const Position p{ev.at_us, static_cast<int64_t>(ev.log_index)};
      EXPECT_TRUE(std::tie(p.at_us, p.log_index) < std::tie(last.at_us, last.log_index));
      last = p;
      EXPECT_OK(ev.status);
    }
    ++pages;
    if (page.size() < 97) break;
    after = Position{page.back().at_us, static_cast<int64_t>(page.back().log_index)};
    // The cursor survives its encoding.
    after = DecodeCursor(EncodeCursor(*after));
    ASSERT_TRUE(after.has_value());
  }
  EXPECT_EQ(seen.size(), 2250u);
  EXPECT_EQ(pages, 2250 / 97 + 1);
}

TEST_F(AuditLogTest, FiltersNarrowTheScan) {
  const std::string acc = NewScope("acc");
  AppendMany(acc, 10, "document.read");
  AppendMany(acc, 5, "document.upload");
  Event other = Ev(acc, "member.removed");
  other.actor_id = "usr_other";
  other.outcome = "failure";
  other.ip = "198.51.100.1";
  ASSERT_OK(Append(other));
  auto count = [&](Filter f) { return PageOf({acc}, f, std::nullopt, 1000).size(); };
  EXPECT_EQ(count({}), 16u);
  EXPECT_EQ(count({.action = "document."}), 15u);
  EXPECT_EQ(count({.action = "document.upload"}), 5u);
  EXPECT_EQ(count({.action = "document.up"}), 0u);  // exact unless it ends in '.'
  EXPECT_EQ(count({.actor_id = "usr_other"}), 1u);
  EXPECT_EQ(count({.outcome = "failure"}), 1u);
  EXPECT_EQ(count({.ip = "198.51.100.1"}), 1u);
  EXPECT_EQ(count({.ip = "203.0.113.5"}), 15u);
  const Time now = clock_.Now();
  EXPECT_EQ(count({.from = now - seconds(4)}), 6u);  // 5 uploads 1 s apart + the last event
  EXPECT_EQ(count({.to = now - seconds(13)}), 1u);   // only the first, at t0 + 1 s
  EXPECT_EQ(PageOf({"acc_someone_else"}, {}, std::nullopt, 100).size(), 0u);
}

TEST_F(AuditLogTest, CheckpointsAreSignedAndProofsVerify) {
  const std::string acc = NewScope("acc");
  AppendMany(acc, 37);
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint cp1, log_->MakeCheckpoint(*store_));
  EXPECT_EQ(cp1.size, 37u);
  // No growth, no new checkpoint.
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint same, log_->MakeCheckpoint(*store_));
  EXPECT_EQ(same.note, cp1.note);
  AppendMany(acc, 100);
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint cp2, log_->MakeCheckpoint(*store_));
  EXPECT_EQ(cp2.size, 137u);
  const Checkpoint c1 = Verified(cp1);
  const Checkpoint c2 = Verified(cp2);
  EXPECT_EQ(c1.origin, "test.example/audit");
  EXPECT_EQ(c2.root_hash, cp2.root_hash);

  // The stored root equals the RFC 6962 root over the stored leaves, rebuilt from scratch.
  MemoryTree tree;
  for (const StoredEvent& ev : PageOf({acc}, {}, std::nullopt, 1000, Order::kOldestFirst)) {
    tree.Append(ev.leaf_hash);
    EXPECT_EQ(ev.leaf_hash, LeafHash(ev.record));
  }
  ASSERT_OK_AND_ASSIGN(std::string root, RootHash(tree, 137));
  EXPECT_EQ(root, c2.root_hash);

  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    for (uint64_t leaf : {0u, 1u, 36u, 64u, 136u}) {
      ASSIGN_OR_RETURN(InclusionProofView v, Log::InclusionProof(txn, leaf, 137));
      EXPECT_OK(VerifyInclusion(v.leaf_hash, leaf, 137, v.proof, c2.root_hash));
      EXPECT_FALSE(VerifyInclusion(v.leaf_hash, leaf ^ 1, 137, v.proof, c2.root_hash).ok());
    }
    ASSIGN_OR_RETURN(std::vector<std::string> proof, Log::ConsistencyProof(txn, 37, 137));
    EXPECT_OK(VerifyConsistency(37, 137, proof, c1.root_hash, c2.root_hash));
    EXPECT_FALSE(VerifyConsistency(37, 137, proof, c2.root_hash, c2.root_hash).ok());
    EXPECT_EQ(Log::InclusionProof(txn, 137, 137).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(Log::ConsistencyProof(txn, 0, 137).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(Log::ConsistencyProof(txn, 10, 1000).status().code(), StatusCode::kInvalidArgument);
    return OkStatus();
  }));
}

TEST_F(AuditLogTest, PurgedScopeKeepsEveryOtherProofValid) {
  const std::string gone = NewScope("acc");
  const std::string kept = NewScope("acc");
  for (int i = 0; i < 20; ++i) {
    AppendMany(gone, 3);
    AppendMany(kept, 2);
  }
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint before, log_->MakeCheckpoint(*store_));
  ASSERT_OK_AND_ASSIGN(int64_t purged, Log::PurgeScope(*store_, gone, 7));
  EXPECT_EQ(purged, 60);
  EXPECT_EQ(PageOf({gone}, {}, std::nullopt, 100).size(), 0u);
  AppendMany(kept, 1);
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint after, log_->MakeCheckpoint(*store_));
  const Checkpoint c1 = Verified(before);
  const Checkpoint c2 = Verified(after);
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::vector<std::string> proof, Log::ConsistencyProof(txn, c1.size, c2.size));
    EXPECT_OK(VerifyConsistency(c1.size, c2.size, proof, c1.root_hash, c2.root_hash));
    return OkStatus();
  }));
  // The kept account's export still proves every event.
  ExportRequest request{
      .scopes = {kept}, .filter = {}, .format = ExportFormat::kJsonl, .proofs = true};
  std::string exported;
  ASSERT_OK_AND_ASSIGN(ExportSummary summary,
                       Export(*store_, *log_, request, [&](std::string_view chunk) {
                         exported += chunk;
                         return OkStatus();
                       }));
  EXPECT_EQ(summary.events, 41u);
  std::istringstream in(exported);
  const ExportCheck check = VerifyExport(in, {{c2.size, c2}});
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
  EXPECT_EQ(check.verified, 41u);
  ASSERT_OK_AND_ASSIGN(VerifyReport report, log_->VerifyStore(*store_, c2));
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.purged, 60u);
}

TEST_F(AuditLogTest, RetentionPurgesOldPayloadsFromTheWatermark) {
  const std::string acc = NewScope("acc");
  AppendMany(acc, 30);
  const Time cutoff = clock_.Now();
  clock_.Advance(hours(1));
  AppendMany(acc, 5);
  ASSERT_OK_AND_ASSIGN(int64_t purged, Log::PurgeExpired(*store_, cutoff, 4));
  EXPECT_EQ(purged, 29);  // the 30th was appended exactly at the cutoff: kept
  ASSERT_OK_AND_ASSIGN(int64_t again, Log::PurgeExpired(*store_, cutoff, 4));
  EXPECT_EQ(again, 0);
  EXPECT_EQ(PageOf({acc}, {}, std::nullopt, 100).size(), 6u);
}

TEST_F(AuditLogTest, VerifyStoreNamesModifiedRemovedAndReorderedEvents) {
  const std::string acc = NewScope("acc");
  AppendMany(acc, 40);
  ASSERT_OK_AND_ASSIGN(StoredCheckpoint cp, log_->MakeCheckpoint(*store_));
  const Checkpoint c = Verified(cp);
  ASSERT_OK_AND_ASSIGN(VerifyReport clean, log_->VerifyStore(*store_, c));
  EXPECT_TRUE(clean.problems.empty());
  EXPECT_EQ(clean.events_checked, 40u);

  // The database refuses the tampering below outright; an attacker with the file drops the
  // triggers first, and the tree still catches every change.
  EXPECT_EQ(Exec("DELETE FROM audit_events WHERE log_index = 30").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_events SET action = 'document.list' WHERE log_index = 3").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_events SET payload = x'00' WHERE log_index = 3").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_events SET log_index = 1000 WHERE log_index = 3").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("DELETE FROM audit_nodes").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_checkpoints SET note = 'x'").code(),
            StatusCode::kFailedPrecondition);
  // REPLACE would delete and re-insert: the DELETE guard fires (recursive triggers).
  EXPECT_EQ(Exec("REPLACE INTO audit_events (log_index, at, scope, sequence, action, actor_id, "
                 "outcome, leaf_hash) VALUES (3, 0, 'x', 1, 'a', '', 'success', x'00')")
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_tree SET size = 3").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("UPDATE audit_scopes SET last_sequence = 1").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Exec("DELETE FROM audit_scopes").code(), StatusCode::kFailedPrecondition);
  DropAppendOnlyGuards();

  auto problems = [&]() {
    Result<VerifyReport> r = log_->VerifyStore(*store_, c);
    EXPECT_OK(r.status());
    std::string all;
    for (const std::string& p : r->problems) all += p + "\n";
    return all;
  };

  // Modified: a flipped byte in a sealed payload.
  std::string payload;
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<store::Row> r,
                     txn.QueryOne("SELECT payload FROM audit_events WHERE log_index = 7"));
    payload = r->GetBlob(0);
    return OkStatus();
  }));
  std::string bad = payload;
  bad[bad.size() / 2] ^= 1;
  ASSERT_OK(Exec("UPDATE audit_events SET payload = ? WHERE log_index = 7", {store::Blob{bad}}));
  EXPECT_NE(problems().find("log index 7"), std::string::npos) << problems();
  ASSERT_OK(
      Exec("UPDATE audit_events SET payload = ? WHERE log_index = 7", {store::Blob{payload}}));
  EXPECT_EQ(problems(), "");

  // The clear columns edited to hide an event from a filter, or to age it past retention.
  int64_t at9 = 0;
  ASSERT_OK(store_->Read([&](store::Txn& txn) -> Status {
    ASSIGN_OR_RETURN(std::optional<store::Row> r,
                     txn.QueryOne("SELECT at FROM audit_events WHERE log_index = 9"));
    at9 = r->GetInt(0);
    return OkStatus();
  }));
  ASSERT_OK(Exec("UPDATE audit_events SET action = 'document.list', at = 0 WHERE log_index = 9"));
  EXPECT_NE(problems().find("log index 9: stored column(s) at, action differ"), std::string::npos)
      << problems();
  ASSERT_OK(
      Exec("UPDATE audit_events SET action = 'document.read', at = ? WHERE log_index = 9", {at9}));
  EXPECT_EQ(problems(), "");

  // A leaf hash rewritten to match nothing.
  ASSERT_OK(Exec("UPDATE audit_events SET leaf_hash = ? WHERE log_index = 12",
                 {store::Blob{std::string(32, 'x')}}));
  std::string p = problems();
  EXPECT_NE(p.find("log index 12: record does not match its leaf hash"), std::string::npos) << p;
  EXPECT_NE(p.find("root hash"), std::string::npos) << p;

  // Reordered: two rows swap places.
  ASSERT_OK(Exec("UPDATE audit_events SET log_index = 1000 WHERE log_index = 20"));
  ASSERT_OK(Exec("UPDATE audit_events SET log_index = 20 WHERE log_index = 21"));
  ASSERT_OK(Exec("UPDATE audit_events SET log_index = 21 WHERE log_index = 1000"));
  p = problems();
  EXPECT_NE(p.find("log index 20: payload does not open"), std::string::npos) << p;
  EXPECT_NE(p.find("log index 21: payload does not open"), std::string::npos) << p;

  // Removed.
  ASSERT_OK(Exec("DELETE FROM audit_events WHERE log_index = 30"));
  p = problems();
  EXPECT_NE(p.find("event at log index 30 is missing"), std::string::npos) << p;
}

TEST_F(AuditLogTest, SignerKeyPersistsAcrossRestarts) {
  const std::string vkey = log_->signer()->VerifierKey();
  log_.reset();
  store_.reset();
  Open();
  EXPECT_EQ(log_->signer()->VerifierKey(), vkey);
  EXPECT_EQ(std::filesystem::status(dir_ + "/audit-signing.pem").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ASSERT_OK_AND_ASSIGN(auto generated, crypto::Ed25519PrivateKey::Generate());
  EXPECT_TRUE(DefaultOrigin(generated.PublicKey()).starts_with("sicher-audit/"));
  EXPECT_EQ(DefaultOrigin(generated.PublicKey()).size(), 13u + 16u);
}

TEST_F(AuditLogTest, CursorRejectsGarbage) {
  EXPECT_FALSE(DecodeCursor("").has_value());
  EXPECT_FALSE(DecodeCursor("!!!").has_value());
  EXPECT_FALSE(DecodeCursor(Base64UrlEncode("12")).has_value());
  EXPECT_FALSE(DecodeCursor(Base64UrlEncode("1.x")).has_value());
  EXPECT_FALSE(DecodeCursor(Base64UrlEncode("1.-4")).has_value());
  EXPECT_FALSE(DecodeCursor(std::string(100, 'A')).has_value());
  const Position p{-5, 99};
  ASSERT_TRUE(DecodeCursor(EncodeCursor(p)).has_value());
  EXPECT_EQ(DecodeCursor(EncodeCursor(p))->log_index, 99);
}

}  // namespace
}  // namespace sicher::audit
