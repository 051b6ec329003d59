#pragma once
// Test-only helpers shared by docs_test and docs_slow_test: a fixture with a real SQLite file
// and a real keyring in a temp dir, and generated content that needs no storage.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sicher/auth/schema.h"
#include "sicher/base/ids.h"
#include "sicher/base/metrics.h"
#include "sicher/docs/doc_store.h"
#include "sicher/docs/schema.h"
#include "sicher/keys/data_keys.h"
#include "sicher/store/sqlite/sqlite_store.h"
#include "sicher/testing/fake_clock.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::docs::testing {

// Deterministic content: byte i is table[i % kPeriod]. The period is prime, so chunks of any
// power-of-two size hold different bytes (a swapped chunk is visible).
class Pattern {
 public:
  static constexpr size_t kPeriod = 65537;
  explicit Pattern(uint64_t seed) : table_(2 * kPeriod) {
    sicher::testing::SeededRandom random(seed);
    random.Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(table_.data()), kPeriod));
    std::memcpy(table_.data() + kPeriod, table_.data(), kPeriod);
  }
  // Copies bytes [offset, offset + out.size()) of the pattern into out.
  void Fill(uint64_t offset, std::span<char> out) const {
    size_t done = 0;
    while (done < out.size()) {
      const size_t start = (offset + done) % kPeriod;
      const size_t n = std::min(out.size() - done, kPeriod);
      std::memcpy(out.data() + done, table_.data() + start, n);
      done += n;
    }
  }
  std::string Bytes(uint64_t offset, size_t n) const {
    std::string s(n, '\0');
    Fill(offset, s);
    return s;
  }
  bool Matches(uint64_t offset, std::string_view bytes) const {
    size_t done = 0;
    while (done < bytes.size()) {
      const size_t start = (offset + done) % kPeriod;
      const size_t n = std::min(bytes.size() - done, kPeriod);
      if (std::memcmp(bytes.data() + done, table_.data() + start, n) != 0) return false;
      done += n;
    }
    return true;
  }

 private:
  std::vector<char> table_;
};

// `size` bytes of a Pattern, produced on demand, in reads of at most `max_read` bytes.
class PatternSource final : public ByteSource {
 public:
  PatternSource(const Pattern& pattern, uint64_t size, size_t max_read = 1 << 20)
      : pattern_(pattern), size_(size), max_read_(max_read) {}
  Result<size_t> Read(std::span<char> out) override {
    if (fail_after_ && offset_ >= *fail_after_) return UnavailableError("connection reset");
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>({out.size(), size_ - offset_, max_read_}));
    pattern_.Fill(offset_, out.first(n));
    offset_ += n;
    if (on_read_) on_read_();
    return n;
  }
  void FailAfter(uint64_t bytes) { fail_after_ = bytes; }
  void OnRead(std::function<void()> f) { on_read_ = std::move(f); }
  uint64_t offset() const { return offset_; }

 private:
  const Pattern& pattern_;
  const uint64_t size_;
  const size_t max_read_;
  uint64_t offset_ = 0;
  std::optional<uint64_t> fail_after_;
  std::function<void()> on_read_;
};

// Checks that what arrives is the pattern from `first` on, without keeping it.
class PatternSink final : public ByteSink {
 public:
  PatternSink(const Pattern& pattern) : pattern_(pattern) {}
  Status Start(const ContentInfo& info) override {
    info_ = info;
    started_ = true;
    return OkStatus();
  }
  Status Write(std::string_view bytes) override {
    if (!pattern_.Matches(info_.first + received_, bytes)) mismatch_ = true;
    received_ += bytes.size();
    if (on_write_) on_write_();
    return OkStatus();
  }
  void OnWrite(std::function<void()> f) { on_write_ = std::move(f); }
  uint64_t received() const { return received_; }
  bool mismatch() const { return mismatch_; }
  bool started() const { return started_; }
  const ContentInfo& info() const { return info_; }

 private:
  const Pattern& pattern_;
  ContentInfo info_;
  uint64_t received_ = 0;
  bool mismatch_ = false;
  bool started_ = false;
  std::function<void()> on_write_;
};

// Resident set size of this process, from /proc/self/statm.
inline uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

class DocStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  virtual DocStoreOptions Options() {
    DocStoreOptions o;
    o.chunk_size = 64 * 1024;
    return o;
  }

  void Open() {
    if (dir_.empty()) {
      char tmpl[] = "/tmp/sicher_docs_test_XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
    }
    ASSERT_OK_AND_ASSIGN(keyring_, crypto::Keyring::OpenOrCreate(env_, dir_ + "/keyring"));
    store::SqliteOptions so;
    so.path = dir_ + "/sicher.db";
    so.migrations = store::CoreMigrations();
    for (auto& m : auth::AuthMigrations()) so.migrations.push_back(m);
    for (auto& m : DocsMigrations()) so.migrations.push_back(m);
    for (auto& m : audit::AuditMigrations()) so.migrations.push_back(m);
    ASSERT_OK_AND_ASSIGN(store_, store::OpenSqliteStore(so, env_, registry_));
    audit_ = std::make_unique<audit::Log>(*keyring_, env_);
    ASSERT_OK_AND_ASSIGN(docs_,
                         DocStore::Create(*store_, *keyring_, bus_, *audit_, env_, Options()));
    subscription_ = bus_.Subscribe<events::DocumentAccessed>([this](const auto& e) {
      std::lock_guard lock(events_mu_);
      events_.push_back(e);
    });
  }
  void Close() {
    subscription_.Reset();
    docs_.reset();
    audit_.reset();
    store_.reset();
    keyring_.reset();
  }

  // A new account with its DEK; returns a user context acting in it.
  AccessContext NewAccount() {
    const std::string account = NewId(random_, "acc");
    const std::string user = NewId(random_, "usr");
    keys::DataKeys keys(*keyring_, random_);
    EXPECT_OK(store_->Write([&](store::Txn& txn) -> Status {
      RETURN_IF_ERROR(
          txn.Exec("INSERT INTO accounts (id, name_sealed, created_at) VALUES (?, ?, ?)",
                   {account, store::Blob{"x"}, int64_t{0}}));
      return keys.Create(txn, account, clock_.Now()).status();
    }));
    AccessContext ctx;
    ctx.account_id = account;
    ctx.actor_id = user;
    ctx.request = RequestInfo{"203.0.113.9", "Mozilla/5.0 test", "desktop", "req-1"};
    return ctx;
  }

  NewDocument Doc(std::string title = "report.pdf") {
    NewDocument d;
    d.title = std::move(title);
    d.content_type = "application/pdf";
    d.description = "quarterly numbers";
    return d;
  }

  Result<DocumentMeta> UploadString(const AccessContext& ctx, std::string_view content,
                                    NewDocument doc) {
    StringSource source(content);
    return docs_->Upload(ctx, doc, source);
  }

  int64_t Count(const std::string& sql, std::vector<store::Value> params = {}) {
    int64_t n = -1;
    EXPECT_OK(store_->Read([&](store::Txn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<store::Row> row, txn.QueryOne(sql, params));
      n = row->GetInt(0);
      return OkStatus();
    }));
    return n;
  }
  int64_t RowsFor(const std::string& document_id) {
    return Count("SELECT COUNT(*) FROM documents WHERE id = ?", {document_id}) +
           Count("SELECT COUNT(*) FROM document_versions WHERE document_id = ?", {document_id}) +
           Count("SELECT COUNT(*) FROM document_chunks WHERE document_id = ?", {document_id});
  }
  int64_t AllContentRows() {
    return Count("SELECT COUNT(*) FROM documents") +
           Count("SELECT COUNT(*) FROM document_versions") +
           Count("SELECT COUNT(*) FROM document_chunks");
  }
  std::vector<events::DocumentAccessed> Events(std::string_view action) {
    std::lock_guard lock(events_mu_);
    std::vector<events::DocumentAccessed> out;
    for (const auto& e : events_) {
      if (e.action == action) out.push_back(e);
    }
    return out;
  }

  sicher::testing::FakeClock clock_;
  PosixFileSystem fs_;
  sicher::testing::SeededRandom random_{7};
  Env env_{clock_, fs_, random_};
  metrics::Registry registry_;
  events::Bus bus_;
  std::string dir_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<audit::Log> audit_;
  std::unique_ptr<DocStore> docs_;
  events::Subscription subscription_;
  std::mutex events_mu_;
  std::vector<events::DocumentAccessed> events_;
};

}  // namespace sicher::docs::testing
