#pragma once
// Clock: the one source of time. Production uses RealClock; tests use testing::FakeClock, so a
// 48-hour deadline or a nightly schedule runs in milliseconds. Pure logic should take `now` as a
// parameter instead of a Clock.
//
// Implementations must be thread-safe.

#include <chrono>
#include <cstdint>
#include <string>

namespace sicher {

// Wall-clock time (UTC, since the Unix epoch) with microsecond precision.
using Time = std::chrono::sys_time<std::chrono::microseconds>;
using Duration = std::chrono::microseconds;
// Monotonic time for measuring intervals; unrelated to wall time.
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
  virtual MonoTime MonoNow() const = 0;
};

class RealClock final : public Clock {
 public:
  Time Now() const override;
  MonoTime MonoNow() const override;
};

// RFC 3339 in UTC with microseconds: "2026-11-27T04:44:18.123456Z".
std::string FormatRfc3339(Time t);
// Parses RFC 3339 ("Z" or numeric offset, optional fraction). Returns false on bad input.
bool ParseRfc3339(std::string_view text, Time* out);
int64_t UnixSeconds(Time t);
// Microseconds since the Unix epoch, as the database stores times (INTEGER columns), and back.
inline int64_t Micros(Time t) { return t.time_since_epoch().count(); }
inline Time FromMicros(int64_t us) { return Time(Duration(us)); }

}  // namespace sicher
