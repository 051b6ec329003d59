// The document store's slow test (label "slow", about 20 s): the memory bound of a 1 GiB upload
// and download with the default 1 MiB chunks.

#include <gtest/gtest.h>

#include <algorithm>

#include "sicher/docs/doc_store.h"
#include "sicher/docs/doc_store_test_util.h"

namespace sicher::docs {
namespace {

using testing::DocStoreFixture;
using testing::Pattern;
using testing::PatternSink;
using testing::PatternSource;
using testing::ResidentBytes;

class DocStoreSlowTest : public DocStoreFixture {
 protected:
  DocStoreOptions Options() override { return DocStoreOptions{}; }  // 1 MiB chunks, 2 GiB max
  Pattern pattern_{5};
};

// Issue 4: "a 1 GiB upload and download keep resident memory growth under 64 MiB". Content is
// generated and checked on the fly, so any growth is the store's.
TEST_F(DocStoreSlowTest, OneGiBUploadAndDownloadInBoundedMemory) {
  const AccessContext ctx = NewAccount();
  const uint64_t size = 1ull << 30;
  const uint64_t baseline = ResidentBytes();
  uint64_t peak = baseline;
  int samples = 0;
  const auto sample = [&] {
    if (++samples % 16 == 0) peak = std::max(peak, ResidentBytes());
  };
  PatternSource source(pattern_, size, 256 * 1024);
  source.OnRead(sample);
  ASSERT_OK_AND_ASSIGN(DocumentMeta meta, docs_->Upload(ctx, Doc(), source));
  EXPECT_EQ(meta.size, size);
  const uint64_t after_upload = peak;

  PatternSink sink(pattern_);
  sink.OnWrite(sample);
  ASSERT_OK(docs_->Read(ctx, meta.id, std::nullopt, sink));
  EXPECT_EQ(sink.received(), size);
  EXPECT_FALSE(sink.mismatch());
  peak = std::max(peak, ResidentBytes());

  const double mib = 1024.0 * 1024.0;
  std::printf("RSS baseline %.1f MiB, peak during upload %.1f MiB, peak overall %.1f MiB\n",
              baseline / mib, after_upload / mib, peak / mib);
  EXPECT_LT(peak - baseline, 64ull << 20);

  ASSERT_OK(docs_->Delete(ctx, meta.id));
  EXPECT_EQ(AllContentRows(), 0);
}

}  // namespace
}  // namespace sicher::docs
