#include "sicher/crypto/hash.h"

#include <gtest/gtest.h>

namespace sicher::crypto {
namespace {

TEST(HashTest, Sha256KnownAnswers) {
  // FIPS 180-2 examples.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashTest, Sha256OfPartsIsTheDigestOfTheirConcatenation) {
  EXPECT_EQ(Sha256({"a", "", "bc"}), Sha256("abc"));
  EXPECT_EQ(HexEncode(Sha256(std::initializer_list<std::string_view>{})), Sha256Hex(""));
  const std::string big(100000, 'x');
  EXPECT_EQ(Sha256({std::string_view(big).substr(0, 3), std::string_view(big).substr(3)}),
            Sha256(big));
  // The per-thread context carries nothing from one digest to the next.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HashTest, HmacSha256Rfc4231Case2) {
  const SecretBytes key(std::string_view("Jefe"));
  EXPECT_EQ(HexEncode(HmacSha256(key, "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HashTest, HmacSha256Rfc4231ShortAndLongKeys) {
  // Case 1: a 20-byte key.
  EXPECT_EQ(
      HexEncode(HmacSha256(SecretBytes(std::string_view(std::string(20, '\x0b'))), "Hi There")),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Cases 6 and 7: a 131-byte key, longer than the block, is hashed first.
  const SecretBytes long_key(std::string_view(std::string(131, '\xaa')));
  EXPECT_EQ(
      HexEncode(HmacSha256(long_key, "Test Using Larger Than Block-Size Key - Hash Key First")),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(HexEncode(HmacSha256(long_key,
                                 "This is a test using a larger than block-size key and a larger "
                                 "than block-size data. The key needs to be hashed before being "
                                 "used by the HMAC algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  // A key of exactly one block is used as it is (openssl dgst -mac HMAC gave the value).
  EXPECT_EQ(HexEncode(HmacSha256(SecretBytes(std::string_view(std::string(64, 'k'))), "x")),
            "f91c4c403625fb06910ef93999265bbd2d62baeaec6ff36455498cc124fe3e66");
}

}  // namespace
}  // namespace sicher::crypto
