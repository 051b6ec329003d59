#include "sicher/base/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace sicher {
namespace {

TEST(IdsTest, ShapeAndUniqueness) {
  SystemRandom random;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewId(random, "usr");
    ASSERT_EQ(id.size(), 30u);
    ASSERT_TRUE(IsValidId(id, "usr")) << id;
    ASSERT_FALSE(IsValidId(id, "acc"));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdsTest, RejectsGarbage) {
  EXPECT_FALSE(IsValidId("", "usr"));
  EXPECT_FALSE(IsValidId("usr_", "usr"));
  EXPECT_FALSE(IsValidId("usr_0000000000000000000000000u", "usr"));  // 'u' not in alphabet
  EXPECT_FALSE(IsValidId("usr-00000000000000000000000000", "usr"));
  EXPECT_TRUE(IsValidId("usr_00000000000000000000000000", "usr"));
}

TEST(IdsTest, TokensAreUrlSafeAndLongEnough) {
  SystemRandom random;
  const std::string t = NewToken(random);
  EXPECT_EQ(t.size(), 43u);  // 32 bytes
  EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_NE(t, NewToken(random));
}

}  // namespace
}  // namespace sicher
