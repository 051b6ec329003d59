#include "sicher/base/bytes.h"

#include <gtest/gtest.h>

namespace sicher {
namespace {

TEST(BytesTest, HexRoundTrip) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*HexDecode("00FF10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("0").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(BytesTest, Base64Rfc4648Vectors) {
  // RFC 4648 section 10.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : vectors) {
    EXPECT_EQ(Base64Encode(plain), enc);
    EXPECT_EQ(*Base64Decode(enc), plain);
  }
  EXPECT_FALSE(Base64Decode("Zm9").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v!A==").has_value());
  EXPECT_FALSE(Base64Decode("Zh==").has_value());  // non-canonical trailing bits
}

TEST(BytesTest, Base64UrlHasNoPaddingAndUrlAlphabet) {
  const std::string raw("\xfb\xff\xfe", 3);
  EXPECT_EQ(Base64UrlEncode(raw), "-__-");
  EXPECT_EQ(*Base64UrlDecode("-__-"), raw);
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
}

TEST(BytesTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret1"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(BytesTest, TruncateUtf8NeverSplitsACharacter) {
  EXPECT_EQ(TruncateUtf8("short", 10), "short");
  EXPECT_EQ(TruncateUtf8("abcdef", 3), "abc");
  // "é" is two bytes: cutting at 2 would split it, so the cut backs up to 1.
  EXPECT_EQ(TruncateUtf8("a\xc3\xa9z", 2), "a");
  EXPECT_EQ(TruncateUtf8("a\xc3\xa9z", 3), "a\xc3\xa9");
}

TEST(BytesTest, SecretBytesMovesAndClears) {
  SecretBytes a(std::string_view("key material"));
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(b.view(), "key material");
  b.Clear();
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace sicher
