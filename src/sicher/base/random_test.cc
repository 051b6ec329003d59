#include "sicher/base/random.h"

#include <gtest/gtest.h>

#include <set>

#include "sicher/testing/seeded_random.h"

namespace sicher {
namespace {

TEST(RandomTest, SystemRandomDiffers) {
  SystemRandom r;
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(r.Hex(16));
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(r.Hex(16).size(), 32u);
}

TEST(RandomTest, UniformStaysInBoundsAndCoversRange) {
  SystemRandom r;
  std::set<uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t v = r.Uniform(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(RandomTest, SeededRandomRepeats) {
  testing::SeededRandom a(7), b(7), c(8);
  const std::string x = a.Hex(32);
  EXPECT_EQ(x, b.Hex(32));
  EXPECT_NE(x, c.Hex(32));
}

}  // namespace
}  // namespace sicher
