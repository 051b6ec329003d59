#include "sicher/docs/doc_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "sicher/docs/doc_store_test_util.h"
#include "sicher/docs/internal/records.h"
#include "sicher/store/testing/fault_store.h"

namespace sicher::docs {
namespace {

using store::Blob;
using store::Txn;
using testing::DocStoreFixture;
using testing::Pattern;
using testing::PatternSink;
using testing::PatternSource;

constexpr uint32_t kChunk = 64 * 1024;

class DocStoreTest : public DocStoreFixture {
 protected:
  // Uploads `size` bytes of pattern_ and returns the metadata.
  DocumentMeta UploadPattern(const AccessContext& ctx, uint64_t size, size_t max_read = 10000) {
    PatternSource source(pattern_, size, max_read);
    Result<DocumentMeta> meta = docs_->Upload(ctx, Doc(), source);
    EXPECT_OK(meta);
    return meta.ok() ? *meta : DocumentMeta{};
  }
  std::string ReadAll(const AccessContext& ctx, const std::string& id) {
    StringSink sink;
    EXPECT_OK(docs_->Read(ctx, id, std::nullopt, sink));
    return sink.data();
  }
  Status Exec(const std::string& sql, std::vector<store::Value> params) {
    return store_->Write([&](Txn& txn) { return txn.Exec(sql, params); });
  }
  std::string Sealed(const std::string& id, int64_t idx, int64_t version = 1) {
    std::string out;
    EXPECT_OK(store_->Read([&](Txn& txn) -> Status {
      ASSIGN_OR_RETURN(std::optional<store::Row> row,
                       txn.QueryOne("SELECT sealed FROM document_chunks WHERE document_id = ? "
                                    "AND version = ? AND idx = ?",
                                    {id, version, idx}));
      if (!row) return NotFoundError("no chunk");
      out = row->GetBlob(0);
      return OkStatus();
    }));
    return out;
  }
  Status SetSealed(const std::string& id, int64_t idx, std::string sealed) {
    return Exec("UPDATE document_chunks SET sealed = ? WHERE document_id = ? AND idx = ?",
                {Blob{std::move(sealed)}, id, idx});
  }
  // Reads `id` fully, expecting the damage to be detected at chunk `bad_chunk`: DataLoss, a
  // tamper event, and exactly the verified bytes before that chunk delivered.
  void ExpectDamagedAt(const AccessContext& ctx, const std::string& id, uint64_t bad_chunk) {
    const size_t tampers = Events(actions::kTamperDetected).size();
    const std::string count_sql =
        "SELECT COUNT(*) FROM document_events WHERE action = 'document.tamper_detected' AND "
        "document_id = ?";
    const int64_t recorded = Count(count_sql, {id});
    PatternSink sink(pattern_);
    Status s = docs_->Read(ctx, id, std::nullopt, sink);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
    EXPECT_EQ(s.message(), "document is damaged");
    EXPECT_FALSE(sink.mismatch()) << "wrong bytes reached the sink";
    EXPECT_EQ(sink.received(), bad_chunk * kChunk);
    auto tamper = Events(actions::kTamperDetected);
    ASSERT_EQ(tamper.size(), tampers + 1);
    EXPECT_EQ(tamper.back().document_id, id);
    EXPECT_EQ(tamper.back().outcome, "failure");
    EXPECT_EQ(Count(count_sql, {id}), recorded + 1);
  }

  Pattern pattern_{99};
};

TEST_F(DocStoreTest, RoundTripsSizesAroundChunkBoundaries) {
  const AccessContext ctx = NewAccount();
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{kChunk - 1}, uint64_t{kChunk},
                        uint64_t{kChunk + 1}, uint64_t{3 * kChunk + 5}}) {
    SCOPED_TRACE(size);
    const DocumentMeta meta = UploadPattern(ctx, size);
    EXPECT_TRUE(IsValidId(meta.id, "doc"));
    EXPECT_EQ(meta.size, size);
    EXPECT_EQ(meta.version, 1u);
    EXPECT_EQ(meta.etag, "\"" + meta.id + "-v1\"");
    EXPECT_EQ(meta.title, "report.pdf");
    EXPECT_EQ(meta.content_type, "application/pdf");
    EXPECT_EQ(Count("SELECT COUNT(*) FROM document_chunks WHERE document_id = ?", {meta.id}),
              static_cast<int64_t>(ChunkCountFor(size, kChunk)));

    PatternSink sink(pattern_);
    ASSERT_OK(docs_->Read(ctx, meta.id, std::nullopt, sink));
    EXPECT_EQ(sink.received(), size);
    EXPECT_FALSE(sink.mismatch());
    EXPECT_EQ(sink.info().etag, meta.etag);
    EXPECT_EQ(sink.info().total_size, size);
    EXPECT_EQ(sink.info().content_type, "application/pdf");
    EXPECT_FALSE(sink.info().partial);
  }
  EXPECT_EQ(Events(actions::kUpload).size(), 6u);
  EXPECT_EQ(Events(actions::kRead).size(), 6u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_events WHERE action = 'document.upload' AND "
                  "outcome = 'success'"),
            6);
}

TEST_F(DocStoreTest, MetadataAndEvents) {
  AccessContext ctx = NewAccount();
  NewDocument d = Doc("Plan B");
  d.content_type = "";
  d.description = "";
  ASSERT_OK_AND_ASSIGN(DocumentMeta up, UploadString(ctx, "hello", d));
  EXPECT_EQ(up.content_type, "application/octet-stream");
  ASSERT_OK_AND_ASSIGN(DocumentMeta got, docs_->Get(ctx, up.id));
  EXPECT_EQ(got.title, "Plan B");
  EXPECT_EQ(got.description, "");
  EXPECT_EQ(got.size, 5u);
  EXPECT_EQ(got.created_by, ctx.actor_id);
  EXPECT_EQ(got.created_at, clock_.Now());

  auto reads = Events(actions::kMetadataRead);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].account_id, ctx.account_id);
  EXPECT_EQ(reads[0].document_id, up.id);
  EXPECT_EQ(reads[0].actor_kind, "user");
  EXPECT_EQ(reads[0].actor_id, ctx.actor_id);
  EXPECT_EQ(reads[0].client_ip, "203.0.113.9");
  EXPECT_EQ(reads[0].user_agent, "Mozilla/5.0 test");
  EXPECT_EQ(reads[0].device_type, "desktop");
  EXPECT_EQ(reads[0].request_id, "req-1");
  EXPECT_TRUE(IsValidId(reads[0].id, "dac"));
  auto uploads = Events(actions::kUpload);
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].bytes, 5u);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_events WHERE id = ?", {uploads[0].id}), 1);

  // Bad metadata, invalid UTF-8 in a user agent (cleaned, not refused).
  EXPECT_EQ(UploadString(ctx, "x", Doc("")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(UploadString(ctx, "x", Doc(std::string(1025, 'a'))).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(UploadString(ctx, "x", Doc("bad \xff utf8")).status().code(),
            StatusCode::kInvalidArgument);
  NewDocument bad_type = Doc();
  bad_type.content_type = "text/plain\r\nX: y";
  EXPECT_EQ(UploadString(ctx, "x", bad_type).status().code(), StatusCode::kInvalidArgument);
  ctx.request.user_agent = "agent \xc3\x28 \x00 end";
  ASSERT_OK(docs_->Get(ctx, up.id));
}

TEST_F(DocStoreTest, RangeReadsAtChunkBoundaries) {
  const AccessContext ctx = NewAccount();
  const uint64_t size = 3 * kChunk + 100;
  const DocumentMeta meta = UploadPattern(ctx, size);
  struct Case {
    RangeSpec range;
    uint64_t first, length;
  };
  const Case cases[] = {
      {RangeSpec::From(0, 0), 0, 1},                               // first byte
      {RangeSpec::From(size - 1, size - 1), size - 1, 1},          // last byte
      {RangeSpec::From(kChunk - 1, kChunk), kChunk - 1, 2},        // spans a boundary
      {RangeSpec::From(kChunk, 2 * kChunk - 1), kChunk, kChunk},   // exactly chunk 1
      {RangeSpec::From(10, 2 * kChunk + 10), 10, 2 * kChunk + 1},  // three chunks
      {RangeSpec::From(2 * kChunk), 2 * kChunk, kChunk + 100},     // open-ended
      {RangeSpec::From(5, 10 * kChunk), 5, size - 5},              // clamped
      {RangeSpec::Suffix(1), size - 1, 1},
      {RangeSpec::Suffix(101), size - 101, 101},  // crosses into the previous chunk
      {RangeSpec::Suffix(size + 10), 0, size},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.first << "+" << c.length);
    PatternSink sink(pattern_);
    ASSERT_OK(docs_->Read(ctx, meta.id, c.range, sink));
    EXPECT_TRUE(sink.info().partial);
    EXPECT_EQ(sink.info().first, c.first);
    EXPECT_EQ(sink.info().length, c.length);
    EXPECT_EQ(sink.info().total_size, size);
    EXPECT_EQ(sink.received(), c.length);
    EXPECT_FALSE(sink.mismatch());
  }
  EXPECT_EQ(Events(actions::kRead).back().bytes, size);

  // Unsatisfiable: Start says so, nothing else happens, OutOfRange (HTTP 416).
  PatternSink sink(pattern_);
  EXPECT_EQ(docs_->Read(ctx, meta.id, RangeSpec::From(size), sink).code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(sink.started());
  EXPECT_FALSE(sink.info().satisfiable);
  EXPECT_EQ(sink.received(), 0u);

  // Only the chunks a range needs are opened: damage in chunk 2 does not affect chunk 0.
  std::string sealed = Sealed(meta.id, 2);
  sealed[7] ^= 1;
  ASSERT_OK(SetSealed(meta.id, 2, sealed));
  PatternSink head(pattern_);
  EXPECT_OK(docs_->Read(ctx, meta.id, RangeSpec::From(0, 99), head));
  EXPECT_EQ(head.received(), 100u);
  PatternSink tail(pattern_);
  EXPECT_EQ(docs_->Read(ctx, meta.id, RangeSpec::Suffix(10), tail).code(), StatusCode::kOk);
  PatternSink middle(pattern_);
  EXPECT_EQ(docs_->Read(ctx, meta.id, RangeSpec::From(2 * kChunk, 2 * kChunk), middle).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(middle.received(), 0u);
}

TEST_F(DocStoreTest, EmptyDocumentRanges) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 0);
  StringSink sink;
  EXPECT_EQ(docs_->Read(ctx, meta.id, RangeSpec::From(0), sink).code(), StatusCode::kOutOfRange);
  StringSink full;
  ASSERT_OK(docs_->Read(ctx, meta.id, std::nullopt, full));
  EXPECT_EQ(full.data(), "");
  EXPECT_EQ(full.info().length, 0u);
}

TEST_F(DocStoreTest, TamperFlippedByte) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 3 * kChunk + 10);
  std::string sealed = Sealed(meta.id, 1);
  sealed[100] ^= 0x20;
  ASSERT_OK(SetSealed(meta.id, 1, sealed));
  ExpectDamagedAt(ctx, meta.id, 1);
  // The tag too.
  sealed = Sealed(meta.id, 0);
  sealed.back() ^= 1;
  ASSERT_OK(SetSealed(meta.id, 0, sealed));
  ExpectDamagedAt(ctx, meta.id, 0);
}

TEST_F(DocStoreTest, TamperSwappedChunks) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 4 * kChunk);
  const std::string a = Sealed(meta.id, 1), b = Sealed(meta.id, 2);
  ASSERT_OK(SetSealed(meta.id, 1, b));
  ASSERT_OK(SetSealed(meta.id, 2, a));
  ExpectDamagedAt(ctx, meta.id, 1);
}

TEST_F(DocStoreTest, TamperReorderedIndexes) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 3 * kChunk);
  ASSERT_OK(
      Exec("UPDATE document_chunks SET idx = 99 WHERE document_id = ? AND idx = 0", {meta.id}));
  ASSERT_OK(
      Exec("UPDATE document_chunks SET idx = 0 WHERE document_id = ? AND idx = 1", {meta.id}));
  ASSERT_OK(
      Exec("UPDATE document_chunks SET idx = 1 WHERE document_id = ? AND idx = 99", {meta.id}));
  ExpectDamagedAt(ctx, meta.id, 0);
}

TEST_F(DocStoreTest, TamperDroppedLastChunk) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 3 * kChunk + 10);
  ASSERT_OK(Exec("DELETE FROM document_chunks WHERE document_id = ? AND idx = 3", {meta.id}));
  ExpectDamagedAt(ctx, meta.id, 3);
  // Also rewriting the count and size so the truncation looks consistent: the header tag and
  // the last-chunk flag both catch it. Nothing at all is sent.
  ASSERT_OK(Exec("UPDATE document_versions SET chunk_count = 3, size = ? WHERE document_id = ?",
                 {int64_t{3 * kChunk}, meta.id}));
  ASSERT_OK(Exec("UPDATE documents SET size = ? WHERE id = ?", {int64_t{3 * kChunk}, meta.id}));
  ExpectDamagedAt(ctx, meta.id, 0);
}

TEST_F(DocStoreTest, TamperAppendedChunkIsNeverServed) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 2 * kChunk);
  // A forged extra chunk (a copy of chunk 0) after the last, with the count raised to match.
  ASSERT_OK(
      Exec("INSERT INTO document_chunks (document_id, version, idx, sealed) SELECT "
           "document_id, version, 2, sealed FROM document_chunks WHERE document_id = ? AND "
           "idx = 0",
           {meta.id}));
  PatternSink sink(pattern_);
  ASSERT_OK(docs_->Read(ctx, meta.id, std::nullopt, sink));  // the header says two chunks
  EXPECT_EQ(sink.received(), 2 * kChunk);
  ASSERT_OK(Exec("UPDATE document_versions SET chunk_count = 3, size = ? WHERE document_id = ?",
                 {int64_t{3 * kChunk}, meta.id}));
  ExpectDamagedAt(ctx, meta.id, 0);
}

TEST_F(DocStoreTest, TamperChunkFromAnotherDocument) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta victim = UploadPattern(ctx, 2 * kChunk);
  const DocumentMeta other = UploadPattern(ctx, 2 * kChunk);  // same content, same account
  ASSERT_OK(SetSealed(victim.id, 1, Sealed(other.id, 1)));
  ExpectDamagedAt(ctx, victim.id, 1);

  // And from another account's document.
  const AccessContext ctx2 = NewAccount();
  const DocumentMeta foreign = UploadPattern(ctx2, 2 * kChunk);
  ASSERT_OK(SetSealed(other.id, 0, Sealed(foreign.id, 0)));
  ExpectDamagedAt(ctx, other.id, 0);
}

TEST_F(DocStoreTest, TamperVersionNumbers) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 2 * kChunk);
  // Relabel the whole version 1 as version 5 (rows, salt, tag and chunks copied): the key and
  // the AAD both bind the version number.
  ASSERT_OK(
      Exec("INSERT INTO document_versions (document_id, version, state, format, key_salt, "
           "header_tag, chunk_size, chunk_count, size, created_at, touched_at, created_by) "
           "SELECT document_id, 5, state, format, key_salt, header_tag, chunk_size, "
           "chunk_count, size, created_at, touched_at, created_by FROM document_versions "
           "WHERE document_id = ? AND version = 1",
           {meta.id}));
  ASSERT_OK(
      Exec("INSERT INTO document_chunks (document_id, version, idx, sealed) SELECT "
           "document_id, 5, idx, sealed FROM document_chunks WHERE document_id = ?",
           {meta.id}));
  ASSERT_OK(Exec("UPDATE documents SET current_version = 5 WHERE id = ?", {meta.id}));
  ExpectDamagedAt(ctx, meta.id, 0);
  // Pointing at a version that does not exist.
  ASSERT_OK(Exec("UPDATE documents SET current_version = 9 WHERE id = ?", {meta.id}));
  ExpectDamagedAt(ctx, meta.id, 0);
}

TEST_F(DocStoreTest, TamperMetadataFields) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta a = UploadPattern(ctx, 10);
  const DocumentMeta b = UploadPattern(ctx, 10);
  // b's sealed title moved to a: opens under the right key but the AAD names b.
  ASSERT_OK(
      Exec("UPDATE documents SET title_sealed = (SELECT title_sealed FROM documents WHERE "
           "id = ?) WHERE id = ?",
           {b.id, a.id}));
  EXPECT_EQ(docs_->Get(ctx, a.id).status().code(), StatusCode::kDataLoss);
  ASSERT_OK(
      Exec("UPDATE documents SET content_type_sealed = (SELECT description_sealed FROM "
           "documents WHERE id = ?) WHERE id = ?",
           {b.id, b.id}));
  ExpectDamagedAt(ctx, b.id, 0);
}

TEST_F(DocStoreTest, OtherAccountsSeeNothing) {
  const AccessContext alice = NewAccount();
  AccessContext mallory = NewAccount();
  const DocumentMeta meta = UploadPattern(alice, 100);
  StringSink sink;
  const auto not_found = [](const Status& s) { return s.code() == StatusCode::kNotFound; };
  EXPECT_TRUE(not_found(docs_->Get(mallory, meta.id).status()));
  EXPECT_TRUE(not_found(docs_->Read(mallory, meta.id, std::nullopt, sink)));
  EXPECT_FALSE(sink.info().etag.size());
  EXPECT_TRUE(not_found(docs_->Delete(mallory, meta.id)));
  StringSource source("evil");
  EXPECT_TRUE(not_found(docs_->Replace(mallory, meta.id, source).status()));
  EXPECT_TRUE(not_found(docs_->CreateLink(mallory, meta.id, std::nullopt).status()));
  EXPECT_TRUE(not_found(docs_->ListLinks(mallory, meta.id).status()));
  ASSERT_OK_AND_ASSIGN(CreatedLink link, docs_->CreateLink(alice, meta.id, std::nullopt));
  EXPECT_TRUE(not_found(docs_->RevokeLink(mallory, link.link.id)));
  ASSERT_OK_AND_ASSIGN(DocumentPage page, docs_->List(mallory, "", 10));
  EXPECT_TRUE(page.items.empty());
  // Pretending to be alice's account with mallory's data key does not exist: the account id
  // is the only thing that grants access, and the caller authorises it.
  mallory.account_id = "acc_" + std::string(26, '0');
  EXPECT_TRUE(not_found(docs_->Get(mallory, meta.id).status()));
  EXPECT_TRUE(not_found(docs_->Get(alice, "doc_garbage").status()));
  ASSERT_OK_AND_ASSIGN(DocumentMeta still, docs_->Get(alice, meta.id));
  EXPECT_EQ(still.size, 100u);
}

TEST_F(DocStoreTest, ListNewestFirstWithCursor) {
  const AccessContext ctx = NewAccount();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(DocumentMeta m, UploadString(ctx, "x", Doc("doc " + std::to_string(i))));
    ids.push_back(m.id);
    if (i != 2) clock_.Advance(std::chrono::seconds(1));  // two share a timestamp
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    ASSERT_OK_AND_ASSIGN(DocumentPage page, docs_->List(ctx, cursor, 2));
    for (const auto& m : page.items) seen.push_back(m.title);
    cursor = page.next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], "doc 4");
  // doc 3 and doc 2 share a timestamp: their order is by id, but each appears once.
  EXPECT_EQ(std::set<std::string>(seen.begin() + 1, seen.begin() + 3),
            (std::set<std::string>{"doc 2", "doc 3"}));
  EXPECT_EQ(seen[3], "doc 1");
  EXPECT_EQ(seen[4], "doc 0");
  EXPECT_EQ(docs_->List(ctx, "not a cursor", 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(docs_->List(ctx, "", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Events(actions::kList).size(), 3u);
}

TEST_F(DocStoreTest, ReplaceDeletesTheOldVersion) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta v1 = UploadPattern(ctx, 3 * kChunk);
  ASSERT_OK_AND_ASSIGN(CreatedLink link, docs_->CreateLink(ctx, v1.id, std::nullopt));
  StringSource source("second version");
  ASSERT_OK_AND_ASSIGN(DocumentMeta v2, docs_->Replace(ctx, v1.id, source));
  EXPECT_EQ(v2.id, v1.id);
  EXPECT_EQ(v2.version, 2u);
  EXPECT_EQ(v2.size, 14u);
  EXPECT_NE(v2.etag, v1.etag);
  EXPECT_EQ(v2.title, "report.pdf");
  EXPECT_EQ(ReadAll(ctx, v1.id), "second version");
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM document_chunks WHERE document_id = ? AND version = 1", {v1.id}),
      0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_versions WHERE document_id = ?", {v1.id}), 1);
  ASSERT_OK_AND_ASSIGN(LinkTarget target, docs_->ResolveLink(link.token, {}));
  EXPECT_EQ(target.document_id, v1.id);
  ASSERT_EQ(Events(actions::kReplace).size(), 1u);
  EXPECT_EQ(Events(actions::kReplace)[0].version, 2u);
}

TEST_F(DocStoreTest, ReplaceOfALargeVersionPurgesInBatches) {
  docs_.reset();
  DocStoreOptions o = Options();
  o.purge_batch_chunks = 2;
  ASSERT_OK_AND_ASSIGN(docs_, DocStore::Create(*store_, *keyring_, bus_, *audit_, env_, o));
  const AccessContext ctx = NewAccount();
  const DocumentMeta v1 = UploadPattern(ctx, 7 * kChunk);
  PatternSource source(pattern_, 2 * kChunk + 3);
  ASSERT_OK_AND_ASSIGN(DocumentMeta v2, docs_->Replace(ctx, v1.id, source));
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM document_chunks WHERE document_id = ? AND version = 1", {v1.id}),
      0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_versions WHERE document_id = ?", {v1.id}), 1);
  PatternSink sink(pattern_);
  ASSERT_OK(docs_->Read(ctx, v1.id, std::nullopt, sink));
  EXPECT_EQ(sink.received(), v2.size);
  EXPECT_FALSE(sink.mismatch());
}

TEST_F(DocStoreTest, DeleteRemovesEverything) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 5 * kChunk);
  const DocumentMeta keep = UploadPattern(ctx, 10);
  ASSERT_OK(docs_->CreateLink(ctx, meta.id, std::nullopt));
  ASSERT_OK(docs_->Delete(ctx, meta.id));
  EXPECT_EQ(RowsFor(meta.id), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_links WHERE document_id = ?", {meta.id}), 0);
  EXPECT_EQ(docs_->Get(ctx, meta.id).status().code(), StatusCode::kNotFound);
  StringSink sink;
  EXPECT_EQ(docs_->Read(ctx, meta.id, std::nullopt, sink).code(), StatusCode::kNotFound);
  EXPECT_EQ(docs_->Delete(ctx, meta.id).code(), StatusCode::kNotFound);
  ASSERT_EQ(Events(actions::kDelete).size(), 1u);
  EXPECT_EQ(Events(actions::kDelete)[0].bytes, 5 * kChunk);
  // The access records outlive the document.
  EXPECT_GE(Count("SELECT COUNT(*) FROM document_events WHERE document_id = ?", {meta.id}), 3);
  EXPECT_EQ(ReadAll(ctx, keep.id).size(), 10u);
}

TEST_F(DocStoreTest, UploadOverTheLimitLeavesNothing) {
  docs_.reset();
  DocStoreOptions o = Options();
  o.max_document_bytes = 3 * kChunk + 7;
  ASSERT_OK_AND_ASSIGN(docs_, DocStore::Create(*store_, *keyring_, bus_, *audit_, env_, o));
  const AccessContext ctx = NewAccount();

  // Exactly the maximum is fine.
  const DocumentMeta ok = UploadPattern(ctx, 3 * kChunk + 7);
  EXPECT_EQ(ok.size, 3 * kChunk + 7);
  const int64_t before = AllContentRows();

  PatternSource big(pattern_, 100 * kChunk);
  Status s = docs_->Upload(ctx, Doc(), big).status();
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_LE(big.offset(), 5 * kChunk);  // refused as soon as the limit was passed
  EXPECT_EQ(AllContentRows(), before);

  // A declared size over the limit is refused before reading anything.
  NewDocument declared = Doc();
  declared.declared_size = 1ull << 40;
  PatternSource unread(pattern_, 10);
  EXPECT_EQ(docs_->Upload(ctx, declared, unread).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(unread.offset(), 0u);
  EXPECT_EQ(AllContentRows(), before);

  // A body longer or shorter than declared.
  declared.declared_size = 2 * kChunk;
  PatternSource longer(pattern_, 2 * kChunk + 1);
  EXPECT_EQ(docs_->Upload(ctx, declared, longer).status().code(), StatusCode::kInvalidArgument);
  PatternSource shorter(pattern_, 2 * kChunk - 1);
  EXPECT_EQ(docs_->Upload(ctx, declared, shorter).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AllContentRows(), before);

  // Replace over the limit keeps the old version.
  PatternSource big2(pattern_, 10 * kChunk);
  EXPECT_EQ(docs_->Replace(ctx, ok.id, big2).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(AllContentRows(), before);
  PatternSink sink(pattern_);
  ASSERT_OK(docs_->Read(ctx, ok.id, std::nullopt, sink));
  EXPECT_EQ(sink.received(), ok.size);

  auto failures = Events(actions::kUpload);
  ASSERT_EQ(failures.size(), 5u);
  EXPECT_EQ(failures[1].outcome, "failure");
  EXPECT_EQ(failures[1].reason, "too_large");
  EXPECT_EQ(failures[3].reason, "length_mismatch");
}

TEST_F(DocStoreTest, FailingSourceLeavesNothing) {
  const AccessContext ctx = NewAccount();
  PatternSource source(pattern_, 10 * kChunk, 5000);
  source.FailAfter(4 * kChunk + 100);
  Status s = docs_->Upload(ctx, Doc(), source).status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(AllContentRows(), 0);
  auto uploads = Events(actions::kUpload);
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].outcome, "failure");
  EXPECT_EQ(uploads[0].reason, "source_error");
  // No document became visible at any point.
  ASSERT_OK_AND_ASSIGN(DocumentPage page, docs_->List(ctx, "", 10));
  EXPECT_TRUE(page.items.empty());
}

TEST_F(DocStoreTest, IncompleteUploadIsInvisibleAndSwept) {
  const AccessContext ctx = NewAccount();
  // Watch the store while the upload runs: nothing visible until published.
  PatternSource source(pattern_, 6 * kChunk, kChunk);
  int visible_during = 0;
  source.OnRead([&] {
    Result<DocumentPage> page = docs_->List(ctx, "", 10);
    if (page.ok() && !page->items.empty()) ++visible_during;
  });
  ASSERT_OK(docs_->Upload(ctx, Doc(), source));
  EXPECT_EQ(visible_during, 0);

  // A crashed upload: rows written as by an upload that never finished.
  const std::string id = "doc_" + std::string(26, 'c');
  const int64_t then = Micros(clock_.Now());
  ASSERT_OK(
      Exec("INSERT INTO documents (id, account_id, state, current_version, last_version, "
           "title_sealed, description_sealed, content_type_sealed, size, created_at, "
           "updated_at, created_by) VALUES (?, ?, 'uploading', 0, 1, x'00', x'00', x'00', "
           "0, ?, ?, 'usr_x')",
           {id, ctx.account_id, then, then}));
  ASSERT_OK(
      Exec("INSERT INTO document_versions (document_id, version, state, format, key_salt, "
           "chunk_size, chunk_count, size, created_at, touched_at, created_by) VALUES (?, "
           "1, 'uploading', 1, x'00', 65536, 0, 0, ?, ?, 'usr_x')",
           {id, then, then}));
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_OK(
        Exec("INSERT INTO document_chunks (document_id, version, idx, sealed) VALUES (?, "
             "1, ?, x'0102')",
             {id, i}));
  }
  EXPECT_EQ(docs_->Get(ctx, id).status().code(), StatusCode::kNotFound);
  // Too recent for the sweep.
  ASSERT_OK_AND_ASSIGN(CleanupStats early,
                       docs_->CleanupIncomplete(clock_.Now() - std::chrono::hours(1)));
  EXPECT_EQ(early.versions_removed, 0);
  EXPECT_EQ(RowsFor(id), 5);
  clock_.Advance(std::chrono::hours(2));
  ASSERT_OK_AND_ASSIGN(CleanupStats stats,
                       docs_->CleanupIncomplete(clock_.Now() - std::chrono::hours(1)));
  EXPECT_EQ(stats.versions_removed, 1);
  EXPECT_EQ(stats.documents_removed, 1);
  EXPECT_EQ(RowsFor(id), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM documents"), 1);
}

TEST_F(DocStoreTest, LinksCreateResolveExpireRevoke) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 1000);
  ASSERT_OK_AND_ASSIGN(CreatedLink forever, docs_->CreateLink(ctx, meta.id, std::nullopt));
  ASSERT_OK_AND_ASSIGN(CreatedLink hour,
                       docs_->CreateLink(ctx, meta.id, clock_.Now() + std::chrono::hours(1)));
  EXPECT_TRUE(IsValidId(forever.link.id, "lnk"));
  EXPECT_EQ(forever.token.size(), 43u);
  EXPECT_NE(forever.token, hour.token);
  EXPECT_EQ(docs_->CreateLink(ctx, meta.id, clock_.Now()).status().code(),
            StatusCode::kInvalidArgument);
  // Only the hash is stored.
  EXPECT_EQ(
      Count("SELECT COUNT(*) FROM document_links WHERE token_hash = ?", {Blob{forever.token}}), 0);

  const RequestInfo reader{"198.51.100.4", "curl/8", "other", "req-9"};
  ASSERT_OK_AND_ASSIGN(LinkTarget target, docs_->ResolveLink(hour.token, reader));
  EXPECT_EQ(target.document_id, meta.id);
  EXPECT_EQ(target.account_id, ctx.account_id);
  EXPECT_EQ(target.link_id, hour.link.id);
  PatternSink sink(pattern_);
  ASSERT_OK(docs_->Read(target.Context(reader), target.document_id, std::nullopt, sink));
  EXPECT_EQ(sink.received(), 1000u);
  auto uses = Events(actions::kLinkUse);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].actor_kind, "link");
  EXPECT_EQ(uses[0].actor_id, hour.link.id);
  EXPECT_EQ(uses[0].client_ip, "198.51.100.4");
  EXPECT_EQ(Events(actions::kRead).back().actor_id, hour.link.id);

  // Expiry.
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(docs_->ResolveLink(hour.token, reader).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Events(actions::kLinkUse).back().reason, "expired");
  ASSERT_OK(docs_->ResolveLink(forever.token, reader));

  // Revocation, idempotent.
  ASSERT_OK(docs_->RevokeLink(ctx, forever.link.id));
  ASSERT_OK(docs_->RevokeLink(ctx, forever.link.id));
  EXPECT_EQ(Events(actions::kLinkRevoke).size(), 1u);
  EXPECT_EQ(docs_->ResolveLink(forever.token, reader).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Events(actions::kLinkUse).back().reason, "revoked");

  ASSERT_OK_AND_ASSIGN(std::vector<LinkInfo> links, docs_->ListLinks(ctx, meta.id));
  ASSERT_EQ(links.size(), 2u);
  for (const LinkInfo& l : links) EXPECT_FALSE(l.active);

  // Garbage and unknown tokens.
  EXPECT_EQ(docs_->ResolveLink("short", reader).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(docs_->ResolveLink(std::string(43, 'A'), reader).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(docs_->RevokeLink(ctx, "lnk_nope").code(), StatusCode::kNotFound);

  // A deleted document's links are gone.
  ASSERT_OK_AND_ASSIGN(CreatedLink again, docs_->CreateLink(ctx, meta.id, std::nullopt));
  ASSERT_OK(docs_->Delete(ctx, meta.id));
  EXPECT_EQ(docs_->ResolveLink(again.token, reader).status().code(), StatusCode::kNotFound);
}

TEST_F(DocStoreTest, ConcurrentUploadsAndReads) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta shared = UploadPattern(ctx, 5 * kChunk + 3);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        const uint64_t size = (t * 4 + i) * 37 * 1024 + t;
        PatternSource source(pattern_, size, 7000);
        Result<DocumentMeta> meta = docs_->Upload(ctx, Doc(), source);
        if (!meta.ok()) {
          ++failures;
          continue;
        }
        for (const std::string& id : {meta->id, shared.id}) {
          PatternSink sink(pattern_);
          Status s = docs_->Read(ctx, id, std::nullopt, sink);
          if (!s.ok() || sink.mismatch()) ++failures;
        }
        PatternSink part(pattern_);
        if (!docs_->Read(ctx, shared.id, RangeSpec::From(kChunk - 10, 2 * kChunk), part).ok() ||
            part.mismatch() || part.received() != kChunk + 11) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM documents WHERE state = 'active'"), 17);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_versions WHERE state <> 'complete'"), 0);
}

TEST_F(DocStoreTest, ConcurrentReplaceAndReads) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 4 * kChunk);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, reads{0};
  std::thread reader([&] {
    while (!stop) {
      PatternSink sink(pattern_);
      Status s = docs_->Read(ctx, meta.id, std::nullopt, sink);
      // A read that overlaps a replacement may be aborted, never damaged or wrong.
      if (sink.mismatch() || (!s.ok() && s.code() != StatusCode::kAborted)) ++wrong;
      ++reads;
    }
  });
  for (int i = 0; i < 5; ++i) {
    PatternSource source(pattern_, (4 + i) * kChunk);
    ASSERT_OK(docs_->Replace(ctx, meta.id, source));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_TRUE(Events(actions::kTamperDetected).empty());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_versions WHERE document_id = ?", {meta.id}), 1);
}

TEST_F(DocStoreTest, NoPlaintextOnDisk) {
  const AccessContext ctx = NewAccount();
  const std::string content_canary = "CANARY-CONTENT-5d1f0c";
  const std::string title_canary = "CANARY-TITLE-88e2a1";
  const std::string desc_canary = "CANARY-DESCRIPTION-17b9";
  const std::string type_canary = "application/x-canary-ab12cd";
  std::string content;
  while (content.size() < 3 * kChunk) content += content_canary + " some filler text; ";
  NewDocument d = Doc(title_canary);
  d.description = desc_canary;
  d.content_type = type_canary;
  ASSERT_OK_AND_ASSIGN(DocumentMeta meta, UploadString(ctx, content, d));
  ASSERT_OK(UploadString(ctx, content_canary, Doc(title_canary + "-2")));
  ASSERT_OK(docs_->Get(ctx, meta.id));
  ASSERT_OK(docs_->List(ctx, "", 10));
  EXPECT_EQ(ReadAll(ctx, meta.id), content);
  const std::string replaced = content_canary + "-replaced";  // outlives the source's view
  StringSource replacement(replaced);
  ASSERT_OK(docs_->Replace(ctx, meta.id, replacement));
  for (const auto& e : Events(actions::kUpload)) {
    EXPECT_EQ(e.user_agent.find("CANARY"), std::string::npos);
  }
  Close();  // WAL and all: everything that reached the disk

  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& canary :
         {content_canary, title_canary, desc_canary, type_canary, std::string("CANARY")}) {
      EXPECT_EQ(bytes.find(canary), std::string::npos)
          << canary << " found in " << entry.path().filename();
    }
  }
  EXPECT_GE(files, 2);  // the database and the keyring at least
  Open();
}

// The default options (1 MiB chunks): a 50 MiB round trip (under a second in a debug build).
class DocStoreDefaultChunkTest : public DocStoreFixture {
 protected:
  DocStoreOptions Options() override { return DocStoreOptions{}; }
  Pattern pattern_{5};
};

TEST_F(DocStoreDefaultChunkTest, RoundTrip50MiB) {
  const AccessContext ctx = NewAccount();
  const uint64_t size = 50ull << 20;
  PatternSource source(pattern_, size, 64 * 1024);
  ASSERT_OK_AND_ASSIGN(DocumentMeta meta, docs_->Upload(ctx, Doc(), source));
  EXPECT_EQ(meta.size, size);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM document_chunks WHERE document_id = ?", {meta.id}), 50);
  PatternSink sink(pattern_);
  ASSERT_OK(docs_->Read(ctx, meta.id, std::nullopt, sink));
  EXPECT_EQ(sink.received(), size);
  EXPECT_FALSE(sink.mismatch());
  // A range across the 25th chunk boundary.
  PatternSink part(pattern_);
  ASSERT_OK(docs_->Read(ctx, meta.id, RangeSpec::From((25ull << 20) - 3, (25ull << 20) + 3), part));
  EXPECT_EQ(part.received(), 7u);
  EXPECT_FALSE(part.mismatch());
}

TEST(DocStoreOptionsTest, RejectsOutOfBounds) {
  // Validation happens before anything is touched, so no store is needed beyond a reference.
  DocStoreOptions o;
  o.chunk_size = 100;
  sicher::testing::SeededRandom random;
  sicher::testing::FakeClock clock;
  PosixFileSystem fs;
  Env env{clock, fs, random};
  // A null reference would be UB; build the smallest real objects instead.
  char tmpl[] = "/tmp/sicher_docs_opt_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ASSERT_OK_AND_ASSIGN(auto keyring, crypto::Keyring::OpenOrCreate(env, std::string(tmpl) + "/k"));
  metrics::Registry registry;
  store::SqliteOptions so;
  so.path = std::string(tmpl) + "/db";
  ASSERT_OK_AND_ASSIGN(auto store, store::OpenSqliteStore(so, env, registry));
  events::Bus bus;
  audit::Log audit(*keyring, env);
  EXPECT_EQ(DocStore::Create(*store, *keyring, bus, audit, env, o).status().code(),
            StatusCode::kInvalidArgument);
  o = {};
  o.max_inflight_chunks = 0;
  EXPECT_EQ(DocStore::Create(*store, *keyring, bus, audit, env, o).status().code(),
            StatusCode::kInvalidArgument);
  o = {};
  EXPECT_OK(DocStore::Create(*store, *keyring, bus, audit, env, o));
  store.reset();
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace sicher::docs

namespace sicher::docs {
namespace {

// A document change and its audit event commit together: a failure injected into the event's
// insert undoes the delete, one injected into the delete leaves no event.
TEST_F(DocStoreTest, DeleteAndItsAuditEventCommitTogether) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 3 * kChunk);
  store::testing::FaultStore faults(*store_);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<DocStore> docs,
                       DocStore::Create(faults, *keyring_, bus_, *audit_, env_, Options()));
  auto deletes = [&] {
    return Count("SELECT COUNT(*) FROM audit_events WHERE action = 'document.delete'", {});
  };
  faults.FailStatementsContaining("INSERT INTO audit_events");
  EXPECT_FALSE(docs->Delete(ctx, meta.id).ok());
  EXPECT_OK(docs_->Get(ctx, meta.id).status());
  EXPECT_EQ(deletes(), 0);
  faults.FailStatementsContaining("UPDATE documents SET state");
  EXPECT_FALSE(docs->Delete(ctx, meta.id).ok());
  EXPECT_OK(docs_->Get(ctx, meta.id).status());
  EXPECT_EQ(deletes(), 0);
  faults.FailStatementsContaining("");
  ASSERT_OK(docs->Delete(ctx, meta.id));
  EXPECT_EQ(docs_->Get(ctx, meta.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(deletes(), 1);
  EXPECT_GT(faults.injected(), 0);
}

// Reads are audited too: one document.read event per read, with the bytes served.
TEST_F(DocStoreTest, ReadsAreAuditEvents) {
  const AccessContext ctx = NewAccount();
  const DocumentMeta meta = UploadPattern(ctx, 2 * kChunk + 5);
  ReadAll(ctx, meta.id);
  ReadAll(ctx, meta.id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'document.read' AND scope = ?",
                  {ctx.account_id}),
            2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'document.upload'", {}), 1);
}

}  // namespace
}  // namespace sicher::docs
