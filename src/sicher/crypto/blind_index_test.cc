#include "sicher/crypto/blind_index.h"

#include <gtest/gtest.h>

namespace sicher::crypto {
namespace {

SecretBytes CountingKey() {
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  return SecretBytes(key);
}

TEST(BlindIndexTest, KnownAnswer) {
  // Python: hmac.new(bytes(range(32)), b"email\0alice@example.com", "sha256").hexdigest()
  EXPECT_EQ(BlindIndex(CountingKey(), "email", "alice@example.com"),
            "c89de65dbbe2070217a4f4e9ffec5f85cfa15653f1bfd31285e9ce87175633b4");
}

TEST(BlindIndexTest, DeterministicAndSeparatedByDomainValueAndKey) {
  const SecretBytes key = CountingKey();
  const std::string a = BlindIndex(key, "email", "alice@example.com");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, BlindIndex(key, "email", "alice@example.com"));
  EXPECT_NE(a, BlindIndex(key, "email", "bob@example.com"));
  EXPECT_NE(a, BlindIndex(key, "name", "alice@example.com"));
  // The NUL separator keeps the domain/value boundary: ("ab", "c") != ("a", "bc").
  EXPECT_NE(BlindIndex(key, "ab", "c"), BlindIndex(key, "a", "bc"));
  EXPECT_NE(a, BlindIndex(SecretBytes(std::string(32, 'x')), "email", "alice@example.com"));
  EXPECT_EQ(a.find("alice"), std::string::npos);
}

TEST(BlindIndexDeathTest, DomainMustBeNonEmptyWithoutNul) {
  const SecretBytes key = CountingKey();
  EXPECT_DEATH(BlindIndex(key, "", "v"), "CHECK failed");
  EXPECT_DEATH(BlindIndex(key, std::string_view("a\0b", 3), "v"), "CHECK failed");
}

}  // namespace
}  // namespace sicher::crypto
