#include "sicher/auth/throttle.h"

#include <gtest/gtest.h>

namespace sicher::auth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Time kT0 = Time(seconds(1'800'000'000));

TEST(ThrottleTest, FirstFailuresAreFreeThenDelaysGrow) {
  ThrottlePolicy p;
  std::optional<ThrottleState> s;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(SubjectWait(s, p, kT0), Duration::zero());
    s = SubjectFailure(s, p, kT0);
  }
  EXPECT_EQ(SubjectWait(s, p, kT0), seconds(1));
  s = SubjectFailure(s, p, kT0);
  EXPECT_EQ(SubjectWait(s, p, kT0), seconds(2));
  EXPECT_EQ(SubjectWait(s, p, kT0 + seconds(2)), Duration::zero());
}

TEST(ThrottleTest, LockAfterThresholdEndsByTime) {
  ThrottlePolicy p{.lockout_threshold = 5, .lockout_duration = minutes(15)};
  std::optional<ThrottleState> s;
  Time t = kT0;
  for (int i = 0; i < 5; ++i) {
    t += minutes(1);
    s = SubjectFailure(s, p, t);
  }
  ASSERT_TRUE(s->locked_until.has_value());
  EXPECT_EQ(SubjectWait(s, p, t), minutes(15));
  EXPECT_EQ(SubjectWait(s, p, t + minutes(15)), Duration::zero());
  // After the lock, counting starts again.
  s = SubjectFailure(s, p, t + minutes(16));
  EXPECT_EQ(s->failures, 1);
  EXPECT_FALSE(s->locked_until.has_value());
}

TEST(ThrottleTest, OldFailuresAreForgotten) {
  ThrottlePolicy p;
  std::optional<ThrottleState> s;
  for (int i = 0; i < 6; ++i) s = SubjectFailure(s, p, kT0);
  EXPECT_GT(SubjectWait(s, p, kT0), Duration::zero());
  EXPECT_EQ(SubjectWait(s, p, kT0 + minutes(15)), Duration::zero());
}

TEST(ThrottleTest, IpLimitWithinWindow) {
  ThrottlePolicy p{.lockout_duration = minutes(15), .ip_failure_limit = 5};
  std::optional<ThrottleState> s;
  for (int i = 0; i < 5; ++i) s = IpFailure(s, p, kT0 + seconds(i));
  EXPECT_EQ(IpWait(s, p, kT0 + seconds(5)), minutes(15) - seconds(5));
  EXPECT_EQ(IpWait(s, p, kT0 + minutes(15)), Duration::zero());
  s = IpFailure(s, p, kT0 + minutes(15));
  EXPECT_EQ(s->failures, 1);
}

}  // namespace
}  // namespace sicher::auth

namespace sicher::auth {
namespace {

TEST(RefusalSamplerTest, OnePerIntervalPerKeyWithTheCountOfTheRest) {
  RefusalSampler sampler(std::chrono::seconds(10), 3);
  const Time t0 = Time(std::chrono::seconds(1000));
  int64_t suppressed = -1;
  EXPECT_TRUE(sampler.ShouldRecord("ip:a", t0, &suppressed));
  EXPECT_EQ(suppressed, 0);
  for (int i = 0; i < 50; ++i) {
    EXPECT_FALSE(sampler.ShouldRecord("ip:a", t0 + std::chrono::milliseconds(i), &suppressed));
  }
  EXPECT_TRUE(sampler.ShouldRecord("ip:b", t0, &suppressed));  // keys are independent
  EXPECT_TRUE(sampler.ShouldRecord("ip:a", t0 + std::chrono::seconds(10), &suppressed));
  EXPECT_EQ(suppressed, 50);
  EXPECT_FALSE(sampler.ShouldRecord("ip:a", t0 + std::chrono::seconds(11), &suppressed));
  // A full table starts over: it can only record more, never fewer.
  EXPECT_TRUE(sampler.ShouldRecord("ip:c", t0, &suppressed));
  EXPECT_TRUE(sampler.ShouldRecord("ip:d", t0, &suppressed));
  EXPECT_TRUE(sampler.ShouldRecord("ip:a", t0 + std::chrono::seconds(12), &suppressed));
}

}  // namespace
}  // namespace sicher::auth
