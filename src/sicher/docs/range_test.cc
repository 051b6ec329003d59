#include "sicher/docs/range.h"

#include <gtest/gtest.h>

namespace sicher::docs {
namespace {

using P = std::pair<uint64_t, uint64_t>;

TEST(ResolveRangeTest, FromTo) {
  EXPECT_EQ(ResolveRange(RangeSpec::From(0, 0), 10), P(0, 1));
  EXPECT_EQ(ResolveRange(RangeSpec::From(9, 9), 10), P(9, 1));
  EXPECT_EQ(ResolveRange(RangeSpec::From(2, 5), 10), P(2, 4));
  EXPECT_EQ(ResolveRange(RangeSpec::From(2), 10), P(2, 8));
  EXPECT_EQ(ResolveRange(RangeSpec::From(2, 100), 10), P(2, 8));  // clamped
}

TEST(ResolveRangeTest, Suffix) {
  EXPECT_EQ(ResolveRange(RangeSpec::Suffix(1), 10), P(9, 1));
  EXPECT_EQ(ResolveRange(RangeSpec::Suffix(10), 10), P(0, 10));
  EXPECT_EQ(ResolveRange(RangeSpec::Suffix(50), 10), P(0, 10));
}

TEST(ResolveRangeTest, Unsatisfiable) {
  EXPECT_FALSE(ResolveRange(RangeSpec::From(10), 10));
  EXPECT_FALSE(ResolveRange(RangeSpec::From(5, 4), 10));
  EXPECT_FALSE(ResolveRange(RangeSpec::Suffix(0), 10));
  EXPECT_FALSE(ResolveRange(RangeSpec::From(0), 0));
  EXPECT_FALSE(ResolveRange(RangeSpec::Suffix(3), 0));
  EXPECT_FALSE(ResolveRange(RangeSpec{}, 10));
}

}  // namespace
}  // namespace sicher::docs
