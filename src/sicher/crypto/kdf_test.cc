#include "sicher/crypto/kdf.h"

#include <gtest/gtest.h>

#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

std::string Unhex(std::string_view hex) { return HexDecode(hex).value(); }

TEST(HkdfTest, Rfc5869TestCase1) {
  const SecretBytes ikm(Unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
  ASSERT_OK_AND_ASSIGN(SecretBytes okm, HkdfSha256(ikm, Unhex("000102030405060708090a0b0c"),
                                                   Unhex("f0f1f2f3f4f5f6f7f8f9"), 42));
  EXPECT_EQ(HexEncode(okm.view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfTest, Rfc5869TestCase3EmptySaltAndInfo) {
  const SecretBytes ikm(Unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"));
  ASSERT_OK_AND_ASSIGN(SecretBytes okm, HkdfSha256(ikm, "", "", 42));
  EXPECT_EQ(HexEncode(okm.view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, InfoSeparatesKeys) {
  const SecretBytes ikm(std::string(32, 'k'));
  ASSERT_OK_AND_ASSIGN(SecretBytes a, HkdfSha256(ikm, "salt", "sicher-doc-v1 doc 1", 32));
  ASSERT_OK_AND_ASSIGN(SecretBytes b, HkdfSha256(ikm, "salt", "sicher-doc-v1 doc 2", 32));
  EXPECT_NE(a.view(), b.view());
}

TEST(HkdfTest, RejectsBadArguments) {
  const SecretBytes ikm(std::string(32, 'k'));
  EXPECT_EQ(HkdfSha256(ikm, "", "", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256(ikm, "", "", 255 * 32 + 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_OK(HkdfSha256(ikm, "", "", 255 * 32));
  EXPECT_EQ(HkdfSha256(SecretBytes(), "", "", 32).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sicher::crypto
