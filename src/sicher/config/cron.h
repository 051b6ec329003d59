#pragma once
// A five-field cron schedule ("minute hour day-of-month month day-of-week"), as in crontab(5):
// numbers, '*', ranges "a-b", steps "*/n" and "a-b/n", lists "a,b", month names jan..dec and
// day names sun..sat (case-insensitive), day-of-week 0 or 7 for Sunday, and the macros @yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly. Times are UTC. As in Vixie cron,
// when both day fields are restricted a day matches if either does.
//
// Pure; thread-safe. ParseCron returns InvalidArgument naming the bad field.

#include <bitset>
#include <string_view>

#include "sicher/base/status.h"

namespace sicher::config {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // bit 0 unused
  std::bitset<13> months;         // bit 0 unused
  std::bitset<7> days_of_week;    // 0 = Sunday
  bool day_of_month_any = false;  // the field was '*'
  bool day_of_week_any = false;

  bool operator==(const CronSpec&) const = default;
};

Result<CronSpec> ParseCron(std::string_view text);

}  // namespace sicher::config
