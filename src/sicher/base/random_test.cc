#include "sicher/base/random.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

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

// Counts its calls and hands out 0, 1, 2, ... (mod 256), so every byte is traceable.
class CountingRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override {
    ++calls;
    for (uint8_t& b : out) b = static_cast<uint8_t>(next++);
  }
  int calls = 0;
  uint64_t next = 0;
};

TEST(RandomTest, BufferedRandomHandsOutEachInnerByteOnceInOrder) {
  CountingRandom inner;
  BufferedRandom buffered(inner);
  std::vector<uint8_t> got;
  for (size_t size : {12, 12, 1, 4000, 500, 12, 4095}) {  // crosses buffer refills
    std::vector<uint8_t> part(size);
    buffered.Fill(part);
    got.insert(got.end(), part.begin(), part.end());
  }
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<uint8_t>(i)) << i;
  EXPECT_EQ(inner.calls, 3);  // 8,632 bytes in 4 KiB draws
  // A request of a whole buffer or more bypasses it.
  std::vector<uint8_t> big(5000);
  buffered.Fill(big);
  EXPECT_EQ(inner.calls, 4);
}

TEST(RandomTest, BufferedSystemRandomDiffers) {
  SystemRandom system;
  BufferedRandom r(system);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(r.Hex(12));
  EXPECT_EQ(seen.size(), 1000u);
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
