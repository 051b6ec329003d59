#include "sicher/base/clock.h"

#include <gtest/gtest.h>

#include "sicher/testing/fake_clock.h"

namespace sicher {
namespace {

TEST(ClockTest, FormatsRfc3339WithMicroseconds) {
  const Time t = Time(std::chrono::seconds(1795754658)) + std::chrono::microseconds(123456);
  EXPECT_EQ(FormatRfc3339(t), "2026-11-27T04:44:18.123456Z");
}

TEST(ClockTest, ParsesWhatItFormats) {
  const Time t = Time(std::chrono::seconds(1795754658)) + std::chrono::microseconds(7);
  Time parsed;
  ASSERT_TRUE(ParseRfc3339(FormatRfc3339(t), &parsed));
  EXPECT_EQ(parsed, t);
}

TEST(ClockTest, ParsesOffsetsAndRejectsGarbage) {
  Time a, b;
  ASSERT_TRUE(ParseRfc3339("2026-11-27T05:44:18+01:00", &a));
  ASSERT_TRUE(ParseRfc3339("2026-11-27T04:44:18Z", &b));
  EXPECT_EQ(a, b);
  EXPECT_FALSE(ParseRfc3339("2026-11-27", &a));
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z", &a));
  EXPECT_FALSE(ParseRfc3339("2026-11-27T04:44:18Zjunk", &a));
  EXPECT_FALSE(ParseRfc3339("2026-11-27T04:44:18.Z", &a));
}

TEST(ClockTest, FakeClockAdvances) {
  testing::FakeClock clock;
  const Time start = clock.Now();
  const MonoTime mono = clock.MonoNow();
  clock.Advance(std::chrono::hours(48));
  EXPECT_EQ(clock.Now() - start, std::chrono::hours(48));
  EXPECT_EQ(clock.MonoNow() - mono, std::chrono::hours(48));
}

}  // namespace
}  // namespace sicher
