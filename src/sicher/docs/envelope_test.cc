#include "sicher/docs/envelope.h"

#include <gtest/gtest.h>

#include "sicher/crypto/keyring.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::docs {
namespace {

using crypto::AsBytes;
using crypto::AsWritableBytes;

class EnvelopeTest : public ::testing::Test {
 protected:
  VersionCipher Cipher(std::string_view doc = "doc_a", uint64_t version = 1,
                       std::string_view account = "acc_a") {
    Result<VersionCipher> c = VersionCipher::Create(dek_, salt_, {account, doc, version});
    EXPECT_OK(c);
    return std::move(c).value();
  }
  std::string Seal(VersionCipher& c, uint64_t index, bool last, std::string_view plain) {
    std::string out(plain.size() + kChunkOverhead, '\0');
    EXPECT_OK(c.SealChunk(index, last, AsBytes(plain), AsWritableBytes(out)));
    return out;
  }
  Status Open(VersionCipher& c, uint64_t index, bool last, std::string_view sealed,
              std::string* plain) {
    plain->assign(sealed.size() - kChunkOverhead, '\0');
    return c.OpenChunk(index, last, AsBytes(sealed), AsWritableBytes(*plain));
  }

  testing::SeededRandom random_{1};
  SecretBytes dek_ = crypto::NewDataKey(random_);
  std::string salt_ = NewKeySalt(random_);
};

TEST_F(EnvelopeTest, ChunkRoundTripAndBinding) {
  VersionCipher c = Cipher();
  const std::string sealed = Seal(c, 3, false, "hello chunk");
  EXPECT_EQ(sealed.size(), 11 + kChunkOverhead);
  EXPECT_EQ(sealed.find("hello"), std::string::npos);
  std::string plain;
  ASSERT_OK(Open(c, 3, false, sealed, &plain));
  EXPECT_EQ(plain, "hello chunk");

  // Another index, the last flag, another document, version or account: all fail.
  EXPECT_EQ(Open(c, 4, false, sealed, &plain).code(), StatusCode::kDataLoss);
  EXPECT_EQ(plain, std::string(11, '\0'));  // no unauthenticated bytes
  EXPECT_EQ(Open(c, 3, true, sealed, &plain).code(), StatusCode::kDataLoss);
  VersionCipher other_doc = Cipher("doc_b");
  EXPECT_EQ(Open(other_doc, 3, false, sealed, &plain).code(), StatusCode::kDataLoss);
  VersionCipher other_version = Cipher("doc_a", 2);
  EXPECT_EQ(Open(other_version, 3, false, sealed, &plain).code(), StatusCode::kDataLoss);
  VersionCipher other_account = Cipher("doc_a", 1, "acc_b");
  EXPECT_EQ(Open(other_account, 3, false, sealed, &plain).code(), StatusCode::kDataLoss);

  // A flipped bit anywhere.
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(Open(c, 3, false, bad, &plain).code(), StatusCode::kDataLoss) << i;
  }
}

TEST_F(EnvelopeTest, EmptyChunkAndShortInput) {
  VersionCipher c = Cipher();
  const std::string sealed = Seal(c, 0, true, "");
  EXPECT_EQ(sealed.size(), kChunkOverhead);
  std::string plain;
  EXPECT_OK(Open(c, 0, true, sealed, &plain));
  EXPECT_EQ(Open(c, 0, false, sealed, &plain).code(), StatusCode::kDataLoss);
  std::string none;
  EXPECT_EQ(c.OpenChunk(0, true, AsBytes(std::string_view("short")), AsWritableBytes(none)).code(),
            StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, SaltSeparatesKeys) {
  VersionCipher a = Cipher();
  salt_ = NewKeySalt(random_);
  VersionCipher b = Cipher();
  EXPECT_NE(Seal(a, 0, true, "same text"), Seal(b, 0, true, "same text"));
}

TEST_F(EnvelopeTest, HeaderTag) {
  VersionCipher c = Cipher();
  const VersionHeader h{100, 64, 2};
  ASSERT_OK_AND_ASSIGN(std::string tag, c.HeaderTag(h));
  EXPECT_EQ(tag.size(), kHeaderTagBytes);
  EXPECT_OK(c.VerifyHeader(h, tag));
  EXPECT_EQ(c.VerifyHeader({99, 64, 2}, tag).code(), StatusCode::kDataLoss);
  EXPECT_EQ(c.VerifyHeader({100, 128, 2}, tag).code(), StatusCode::kDataLoss);
  EXPECT_EQ(c.VerifyHeader({100, 64, 1}, tag).code(), StatusCode::kDataLoss);
  EXPECT_EQ(c.VerifyHeader(h, tag.substr(1)).code(), StatusCode::kDataLoss);
  VersionCipher v2 = Cipher("doc_a", 2);
  EXPECT_EQ(v2.VerifyHeader(h, tag).code(), StatusCode::kDataLoss);
}

TEST_F(EnvelopeTest, ChunkArithmetic) {
  EXPECT_EQ(ChunkCountFor(0, 64), 1u);
  EXPECT_EQ(ChunkCountFor(1, 64), 1u);
  EXPECT_EQ(ChunkCountFor(64, 64), 1u);
  EXPECT_EQ(ChunkCountFor(65, 64), 2u);
  EXPECT_TRUE(IsConsistent({0, 64, 1}));
  EXPECT_FALSE(IsConsistent({0, 64, 0}));
  EXPECT_FALSE(IsConsistent({65, 64, 1}));
  EXPECT_FALSE(IsConsistent({65, 0, 2}));
  EXPECT_EQ(ChunkPlaintextSize({65, 64, 2}, 0), 64u);
  EXPECT_EQ(ChunkPlaintextSize({65, 64, 2}, 1), 1u);
  EXPECT_EQ(ChunkPlaintextSize({0, 64, 1}, 0), 0u);
}

TEST_F(EnvelopeTest, RejectsBadInputs) {
  EXPECT_EQ(VersionCipher::Create(dek_, "short", {"acc", "doc", 1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(VersionCipher::Create(dek_, salt_, {"", "doc", 1}).status().code(),
            StatusCode::kInvalidArgument);
  SecretBytes small(std::string_view("0123456789"));
  EXPECT_EQ(VersionCipher::Create(small, salt_, {"acc", "doc", 1}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sicher::docs
