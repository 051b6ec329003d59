#include "sicher/crypto/field.h"

#include <gtest/gtest.h>

#include <set>

#include "sicher/crypto/aead.h"
#include "sicher/testing/seeded_random.h"
#include "sicher/testing/status_matchers.h"

namespace sicher::crypto {
namespace {

TEST(FieldAadTest, EncodingIsInjective) {
  std::set<std::string> seen = {
      FieldAad("users", "email", "42"),     FieldAad("users", "emai", "l42"),
      FieldAad("user", "semail", "42"),     FieldAad("users", "email", "42", 1),
      FieldAad("users", "email", "4", 2),   FieldAad("users", "name", "42"),
      FieldAad("documents", "title", "42"),
  };
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(FieldAad("t", "c", "o", 0), FieldAad("t", "c", "o"));
}

TEST(FieldAadTest, LayoutMatchesTheDesignNote) {
  const std::string aad = FieldAad("t", "cc", "", 0x0102);
  EXPECT_EQ(HexEncode(aad), HexEncode("sicher-field-v1") +
                                "00000001"
                                "74"
                                "00000002"
                                "6363"
                                "00000000"
                                "0000000000000102");
}

TEST(FieldTest, RoundTripAndBinding) {
  testing::SeededRandom random(5);
  SecretBytes dek(kAeadKeyBytes);
  random.Fill(dek.span());
  const std::string aad = FieldAad("users", "email", "u-17");
  ASSERT_OK_AND_ASSIGN(std::string sealed, SealField(dek, "carol@example.com", aad, random));
  EXPECT_EQ(sealed.size(), std::string("carol@example.com").size() + kAeadSealOverhead);
  EXPECT_EQ(sealed.find("carol"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::string opened, OpenField(dek, sealed, aad));
  EXPECT_EQ(opened, "carol@example.com");
  ASSERT_OK_AND_ASSIGN(SecretBytes secret, OpenSecretField(dek, sealed, aad));
  EXPECT_EQ(secret.view(), "carol@example.com");

  // Moved to another row, column, table or version, or opened with another account's DEK.
  for (const std::string& wrong :
       {FieldAad("users", "email", "u-18"), FieldAad("users", "name", "u-17"),
        FieldAad("members", "email", "u-17"), FieldAad("users", "email", "u-17", 1)}) {
    EXPECT_EQ(OpenField(dek, sealed, wrong).status().code(), StatusCode::kDataLoss);
  }
  SecretBytes other(kAeadKeyBytes);
  random.Fill(other.span());
  EXPECT_EQ(OpenField(other, sealed, aad).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(SealField(SecretBytes(16), "x", aad, random).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sicher::crypto
