#include "sicher/config/cron.h"

#include <gtest/gtest.h>

namespace sicher::config {
namespace {

TEST(CronTest, ParsesDefaultSchedule) {
  Result<CronSpec> spec = ParseCron("0 2 * * *");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->minutes.count(), 1u);
  EXPECT_TRUE(spec->minutes[0]);
  EXPECT_TRUE(spec->hours[2]);
  EXPECT_EQ(spec->hours.count(), 1u);
  EXPECT_EQ(spec->days_of_month.count(), 31u);
  EXPECT_EQ(spec->months.count(), 12u);
  EXPECT_EQ(spec->days_of_week.count(), 7u);
  EXPECT_TRUE(spec->day_of_month_any);
  EXPECT_TRUE(spec->day_of_week_any);
}

TEST(CronTest, RangesStepsListsAndNames) {
  Result<CronSpec> spec = ParseCron("*/15 9-17/2 1,15 jan-mar MON-fri");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->minutes.count(), 4u);  // 0 15 30 45
  EXPECT_TRUE(spec->minutes[45]);
  EXPECT_EQ(spec->hours.count(), 5u);  // 9 11 13 15 17
  EXPECT_TRUE(spec->hours[17]);
  EXPECT_TRUE(spec->days_of_month[1] && spec->days_of_month[15]);
  EXPECT_EQ(spec->months.count(), 3u);
  EXPECT_TRUE(spec->days_of_week[1] && spec->days_of_week[5]);
  EXPECT_FALSE(spec->days_of_week[0]);
  EXPECT_FALSE(spec->day_of_week_any);
}

TEST(CronTest, SundayIsZeroOrSevenAndMacros) {
  EXPECT_TRUE(ParseCron("0 0 * * 7")->days_of_week[0]);
  EXPECT_EQ(*ParseCron("@daily"), *ParseCron("0 0 * * *"));
  EXPECT_EQ(*ParseCron("@weekly"), *ParseCron("0 0 * * sun"));
  EXPECT_TRUE(ParseCron("@hourly").ok());
}

TEST(CronTest, RejectsBadSchedules) {
  for (const char* bad : {"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
                          "* * 32 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *", "5-1 * * * *",
                          "a * * * *", "1,,2 * * * *", "@reboot", "* * * foo *"}) {
    EXPECT_FALSE(ParseCron(bad).ok()) << bad;
  }
  EXPECT_NE(ParseCron("0 25 * * *").status().message().find("hour"), std::string::npos);
}

}  // namespace
}  // namespace sicher::config
